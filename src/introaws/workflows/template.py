"""``<hands-on> template``: the CloudFormation template ``up`` would deploy, as the textbook's
``cdk synth`` shows it.

It is the synthesized template itself (from the template cache when fresh, so Node does not
start), the one the deploy engine sends; the local cloud adapts it on its side, not here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from introaws.deploy import synth
from introaws.errors import UsageError
from introaws.i18n import _
from introaws.workflows import lifecycle

FORMATS = ("json", "yaml")


def check_format(fmt: str) -> str:
    """The format, lower-cased; refused before any work when introaws does not write it."""
    chosen = fmt.lower()
    if chosen not in FORMATS:
        raise UsageError(_("unknown template format '{fmt}'").format(fmt=fmt), _("use --format json or --format yaml"))
    return chosen


def text(name: str, params: dict[str, Any], fmt: str) -> str:
    """Hands-on ``name``'s template for the stack parameters ``params``, as JSON or YAML text."""
    template = synth.synthesize(lifecycle.hands_on(name), params).template
    if check_format(fmt) == "json":
        return json.dumps(template, indent=2, ensure_ascii=False) + "\n"
    import yaml

    # Block style, keys in the template's order, long strings (inline code, policies) unfolded.
    return str(yaml.safe_dump(template, sort_keys=False, allow_unicode=True, width=1 << 30))


def write(content: str, path: Path) -> Path:
    """Write ``content`` to ``path`` whole or not at all (a file beside it, renamed over it)."""
    path = path.expanduser()
    staging = path.with_name(f".{path.name}.tmp")
    try:
        staging.write_text(content, encoding="utf-8")
        staging.replace(path)
    except OSError as exc:
        staging.unlink(missing_ok=True)
        raise UsageError(
            _("cannot write {path}: {error}").format(path=path, error=exc.strerror or exc),
            _("give --out a file in a folder you can write"),
        ) from None
    return path
