"""The QA bot's model on this machine: is it here, can it be fetched, fetch it ahead of time.

On the local cloud the QA task loads its model here, from the Hugging Face cache or a
folder. Loading a model that is neither cached nor reachable fails only after the hub
client's retries (about 97 s per task), so ``qa up`` asks first, with one quick request that
is never retried, and ``introaws data qa-model`` fetches the model before class or before
going offline.

The hub's own settings are read from the environment at each call, not from
``huggingface_hub.constants`` (fixed when the module was first imported): ``HF_HUB_OFFLINE``,
``HF_ENDPOINT`` and the cache folder (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else
``$XDG_CACHE_HOME/huggingface/hub``, else ``~/.cache/huggingface/hub``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from introaws.errors import IntroawsError, MissingTool, NotFound, UsageError
from introaws.i18n import _
from introaws.progress import Event, Reporter, silent

PROBE_TIMEOUT_S = 5.0
# What AutoTokenizer and AutoModelForQuestionAnswering read; the hub repository of a model
# often holds TensorFlow, ONNX and Core ML copies too, which the task never loads.
WANTED = ("*.json", "*.txt", "*.model")
WEIGHTS = ("model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class Availability:
    """Where a model would come from: ``folder``, ``cache`` or ``hub`` (downloadable)."""

    model: str
    source: str
    path: str | None = None  # a folder or a cached snapshot
    files: tuple[str, ...] = ()  # on the hub: the repository's files


def hub_cache_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache"), "huggingface"
    )
    return Path(home).expanduser() / "hub"


_OFFLINE_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def offline() -> bool:
    """Offline as the hub client would read it now; its own copy is set to match, for a
    process (a test, an in-process CLI run) whose environment changed since the import."""
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = any(
        os.environ.get(name, "").upper() in ("1", "ON", "YES", "TRUE") for name in _OFFLINE_ENV
    )
    return constants.HF_HUB_OFFLINE


def _endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def cached_snapshot(model: str) -> str | None:
    """The cached snapshot folder of hub id ``model`` when its config and weights are there."""
    from huggingface_hub import try_to_load_from_cache

    cache = str(hub_cache_dir())
    try:
        config = try_to_load_from_cache(model, "config.json", cache_dir=cache)
        weights = [try_to_load_from_cache(model, name, cache_dir=cache) for name in WEIGHTS]
    except ValueError:  # not a valid hub id
        return None
    if isinstance(config, str) and any(isinstance(w, str) for w in weights):
        return str(Path(config).parent)
    return None


def folder(model: str) -> Path | None:
    """The model folder ``model`` names (resolved), or None when it is a hub id."""
    path = Path(model).expanduser()
    if not (model.startswith((os.sep, ".", "~")) or path.is_dir()):
        return None
    if not (path / "config.json").is_file():
        raise UsageError(
            _("{chosen} is not a model directory (no config.json)").format(chosen=model),
            _("give a directory saved with save_pretrained(), or a hub id"),
        )
    return path.resolve()


def availability(model: str) -> Availability:
    """Where ``model`` (a folder or a hub id) would be loaded from; an error saying what to do
    when it is nowhere: not cached, and the hub unreachable (at most one short request)."""
    path = folder(model)
    if path is not None:
        return Availability(model, "folder", str(path))
    snapshot = cached_snapshot(model)
    if snapshot:
        return Availability(model, "cache", snapshot)
    info = _hub_info(model)
    return Availability(model, "hub", files=tuple(sorted(s.rfilename for s in info.siblings or [])))


def _hub_info(model: str) -> Any:
    """The hub's model info (one request, no retries), or an error naming what to do."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    elsewhere = _(
        "fetch it while online with 'introaws data qa-model', "
        "or pass --model with another hub id or a folder saved by save_pretrained()"
    )
    if offline():
        raise MissingTool(
            _("QA model '{model}' is not on this machine and HF_HUB_OFFLINE is set").format(model=model), elsewhere
        )
    try:
        return HfApi(endpoint=_endpoint()).model_info(model, timeout=PROBE_TIMEOUT_S)
    except (RepositoryNotFoundError, GatedRepoError):
        raise NotFound(
            _("no model '{model}' on the Hugging Face Hub (or it needs a login)").format(model=model),
            _("check the id, or pass --model DIR, a folder saved with save_pretrained()"),
        ) from None
    except Exception as exc:  # the hub client raises its HTTP library's own errors, no OSErrors
        raise MissingTool(
            _("QA model '{model}' is not on this machine and the Hugging Face Hub did not answer ({why})").format(
                model=model, why=_first_line(exc)
            ),
            elsewhere,
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def fetch(model: str, report: Reporter = silent) -> dict[str, Any]:
    """Make sure ``model`` loads here: download the files the QA task reads into the
    Hugging Face cache (a folder or a cached model is only checked), then load it once."""
    found = availability(model)
    path = found.path
    if found.source == "hub":
        from huggingface_hub import hf_hub_download

        names = found.files
        weights = next((name for name in WEIGHTS if name in names), None)
        if weights is None:
            raise NotFound(
                _("model '{model}' has no PyTorch weights on the hub").format(model=model), _("choose another --model")
            )
        wanted = [n for n in names if "/" not in n and (n == weights or any(fnmatch(n, p) for p in WANTED))]
        report(
            Event(
                "step",
                _("downloading {model} ({count} files) into {cache}").format(
                    model=model, count=len(wanted), cache=hub_cache_dir()
                ),
            )
        )
        for name in wanted:
            # From "main", so the cache records it and later runs find the model offline.
            downloaded = hf_hub_download(model, name, cache_dir=str(hub_cache_dir()), endpoint=_endpoint())
        path = str(Path(downloaded).parent)
    assert path is not None
    report(Event("step", _("loading {model} once to check it").format(model=model)))
    from introaws.tasks import qa as task

    try:
        task.load(path)
    except task.TaskError as exc:
        raise IntroawsError(str(exc), _("choose another --model")) from None
    return {"model": model, "source": found.source, "path": path, "cache": str(hub_cache_dir())}
