"""All terminal output: results on stdout (tables or JSON), progress and notes on stderr.

rich is imported on first output, not with the module: `introaws --help` prints none of it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO

from introaws.i18n import _
from introaws.progress import Event, Reporter

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

_streams: dict[str, TextIO] = {}
_consoles: dict[str, Console] = {}


def use(stdout: TextIO, stderr: TextIO) -> None:
    """Print to these streams from now on (one run of the CLI, see ``cli/environment.py``)."""
    _streams.update(out=stdout, err=stderr)
    _consoles.clear()  # made anew for the run: a console reads the width and colours once


def _console(name: str) -> Console:
    if name not in _consoles:
        from rich.console import Console

        stream = _streams.get(name) or (sys.stdout if name == "out" else sys.stderr)
        _consoles[name] = Console(file=stream, soft_wrap=True)
    return _consoles[name]


def _out() -> Console:
    return _console("out")


def _err() -> Console:
    return _console("err")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=_default, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def document(text: str) -> None:
    """A document (a template) on stdout, exactly as given."""
    sys.stdout.write(text)
    sys.stdout.flush()


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from rich.table import Table

    grid = Table(title=_cell(title) if title else None, show_lines=False, header_style="bold")
    for column in columns:
        grid.add_column(_cell(column), overflow="fold")
    for row in rows:
        grid.add_row(*(_cell(cell) for cell in row))
    _out().print(grid)


def key_values(pairs: dict[str, Any]) -> None:
    from rich.cells import cell_len  # cells, not characters: Japanese is two cells a character

    width = max((cell_len(k) for k in pairs), default=0)
    for key, value in pairs.items():
        padded = key + " " * (width - cell_len(key))
        _out().print(_assemble((padded, "bold"), "  ", str(value)), highlight=False)


def lines(texts: Sequence[str]) -> None:
    """Plain lines on stdout, verbatim (a task's log)."""
    for text in texts:
        _out().print(text, highlight=False, markup=False)


def output_line(text: str) -> None:
    """A line of a remote process's output, verbatim, on stderr (beside the progress)."""
    _err().print(text, highlight=False, markup=False)


def help_text(text: str) -> None:
    """A command's help where it was not asked for (the command given without one), on stderr."""
    sys.stderr.write(text.rstrip("\n") + "\n")


def note(message: str) -> None:
    _err().print(_assemble(message), highlight=False)


def success(message: str) -> None:
    _err().print(_assemble(("✓", "green"), " ", message), highlight=False)


def warning(message: str) -> None:
    _err().print(_assemble(("warning:", "yellow"), " ", message), highlight=False)


def error_line(message: str) -> None:
    _err().print(_assemble(("error:", "red"), " ", message), highlight=False)


def _assemble(*parts: str | tuple[str, str]) -> Any:
    """Literal text, some parts styled: text from users or AWS is never read as rich markup."""
    from rich.text import Text

    return Text.assemble(*parts)


def _cell(value: Any) -> Any:
    """A table cell or heading: rich text as built, anything else as literal text."""
    from rich.text import Text

    return value if isinstance(value, Text) else Text("" if value is None else str(value))


def stream_out(data: bytes) -> None:
    """Pass a remote command's output through as it comes, bytes untouched."""
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def stream_err(data: bytes) -> None:
    sys.stderr.buffer.write(data)
    sys.stderr.buffer.flush()


def _render_event(event: Event) -> None:
    if event.kind == "resource":
        status = event.data.get("status", "")
        colour = "red" if "FAILED" in status else "green" if status.endswith("COMPLETE") else "cyan"
        reason = f" — {event.data['reason']}" if event.data.get("reason") and "FAILED" in status else ""
        _err().print(
            _assemble(
                "  ",
                (f"{status:<20}", colour),
                f" {event.data.get('logical_id', '')} ",
                (str(event.data.get("type", "")), "dim"),
                reason,
            ),
            highlight=False,
        )
    elif event.kind == "warning":
        warning(event.message)
    elif event.kind == "status":  # a task's lastStatus changed
        _err().print(_assemble(f"  {event.data.get('elapsed', 0):6.1f}s  ", (event.message, "cyan")), highlight=False)
    elif event.kind == "step":
        _err().print(_assemble(("→", "bold cyan"), " ", event.message), highlight=False)
    else:
        _err().print(_assemble("  ", (event.message, "dim")), highlight=False)


@contextmanager
def progress(total: int | None = None, description: str = "") -> Iterator[Reporter]:
    """A reporter for workflow events; ``progress`` events advance a bar when ``total`` is set."""
    if total is None:
        yield _render_event
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err(),
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=total)

        def report(event: Event) -> None:
            if event.kind == "progress":
                bar.update(task, completed=event.data.get("done", 0))
            else:
                _render_event(event)

        yield report


@contextmanager
def live_table(title: str, columns: Sequence[str]) -> Iterator[Any]:
    """A table on stderr that redraws in place; yields ``update(rows)``."""
    from rich.live import Live
    from rich.table import Table

    def build(rows: Sequence[Sequence[Any]]) -> Table:
        grid = Table(title=_cell(title), header_style="bold")
        for column in columns:
            grid.add_column(_cell(column), overflow="fold")
        for row in rows:
            grid.add_row(*(_cell(cell) for cell in row))
        return grid

    with Live(build([]), console=_err(), refresh_per_second=4, transient=False) as live:
        yield lambda rows: live.update(build(rows))


def heatmap(
    title: str,
    corner: str,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    values: Sequence[Sequence[float | None]],
) -> None:
    """A grid of numbers with coloured cells, low red to high green; None is 'missing'."""
    from rich.color import Color
    from rich.style import Style
    from rich.table import Table
    from rich.text import Text

    known = [v for row in values for v in row if v is not None]
    low, high = (min(known), max(known)) if known else (0.0, 1.0)
    grid = Table(title=_cell(title), header_style="bold", show_lines=True)
    grid.add_column(_cell(corner), style="bold")
    for label in column_labels:
        grid.add_column(_cell(label), justify="center")
    for label, row in zip(row_labels, values, strict=True):
        cells: list[Any] = [_cell(label)]
        for value in row:
            if value is None:
                cells.append(Text(" " + _("missing") + " ", style="black on grey50"))
                continue
            share = (value - low) / (high - low) if high > low else 1.0
            red, green = int(220 * (1 - share)) + 35, int(200 * share) + 55
            cells.append(Text(f" {value:.2f} ", style=Style(color="black", bgcolor=Color.from_rgb(red, green, 60))))
        grid.add_row(*cells)
    _out().print(grid)
