"""The sweep's heat-map as a PNG: best validation accuracy per (learning rate, momentum).

Rows are learning rates and columns momentums, largest first as in the textbook's figure;
a point without results is a grey cell saying so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from introaws.errors import MissingTool
from introaws.i18n import _

MISSING_GREY = "#bdbdbd"


def grid(results: dict[str, Any]) -> tuple[list[float], list[float], list[list[float | None]]]:
    """(learning rates, momentums, accuracy[lr][momentum] or None), largest values first."""
    lrs = sorted(results["lrs"], reverse=True)
    momentums = sorted(results["momentums"], reverse=True)
    by_point = {(p["lr"], p["momentum"]): p.get("best_val_accuracy") for p in results["points"]}
    return lrs, momentums, [[by_point.get((lr, m)) for m in momentums] for lr in lrs]


def write_png(results: dict[str, Any], path: Path) -> Path:
    try:
        import matplotlib
    except ImportError:
        raise MissingTool(_("the PNG heat-map needs matplotlib"), _("pip install 'introaws[ml]'")) from None

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib import pyplot as plt

    lrs, momentums, values = grid(results)
    data = np.array([[np.nan if v is None else v for v in row] for row in values], dtype=float)
    cmap = matplotlib.colormaps["viridis"].copy()
    cmap.set_bad(MISSING_GREY)
    fig, ax = plt.subplots(figsize=(1.6 * len(momentums) + 2.2, 1.3 * len(lrs) + 1.4), dpi=100)
    finite = data[np.isfinite(data)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 100.0)
    image = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, aspect="auto", vmin=low, vmax=high)
    ax.set_xticks(range(len(momentums)), [f"{m:g}" for m in momentums])
    ax.set_yticks(range(len(lrs)), [f"{lr:g}" for lr in lrs])
    ax.set_xlabel("momentum")
    ax.set_ylabel("learning rate")
    ax.set_title(f"best validation accuracy (%) — {results['sweep_id']}", fontsize=9)
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            bright = value is None or (high > low and (value - low) / (high - low) > 0.6)
            ax.text(
                j,
                i,
                "missing" if value is None else f"{value:.2f}",
                ha="center",
                va="center",
                color="black" if bright else "white",
                fontsize=9,
            )
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part.png")
    fig.savefig(partial)
    plt.close(fig)
    partial.replace(path)
    return path
