"""Where introaws keeps things: one root per user, or ``$INTROAWS_HOME`` when set.

Two different ``INTROAWS_HOME`` values on one machine are two independent local clouds,
template caches and known-hosts files; tests rely on that.
"""

from __future__ import annotations

import os
from pathlib import Path


def _root(kind: str) -> Path:
    home = os.environ.get("INTROAWS_HOME")
    if home:
        return Path(home).expanduser().resolve() / kind
    import platformdirs

    if kind == "cache":
        return Path(platformdirs.user_cache_dir("introaws"))
    return Path(platformdirs.user_data_dir("introaws")) / kind


def data_dir() -> Path:
    """Durable state: the local cloud's data, known hosts."""
    return _ensure(_root("data"))


def cache_dir() -> Path:
    """Rebuildable things: synthesized templates."""
    return _ensure(_root("cache"))


def localcloud_dir() -> Path:
    return _ensure(data_dir() / "localcloud")


def template_cache_dir() -> Path:
    return _ensure(cache_dir() / "templates")


def known_hosts_file() -> Path:
    return data_dir() / "known_hosts"


def ssh_dir(override: str | None = None) -> Path:
    """Where private keys go: ``--dir``, else ``$INTROAWS_SSH_DIR``, else ``~/.ssh``."""
    chosen = override or os.environ.get("INTROAWS_SSH_DIR") or "~/.ssh"
    return Path(chosen).expanduser()


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
