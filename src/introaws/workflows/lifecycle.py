"""``up``, ``down`` and ``status`` for any hands-on: the stack's life cycle."""

from __future__ import annotations

from typing import Any

from introaws.deploy import engine
from introaws.deploy.stackinfo import StackInfo, describe
from introaws.errors import NotFound
from introaws.i18n import _
from introaws.progress import Reporter, silent
from introaws.stacks import HANDS_ONS, HandsOn
from introaws.target import Target


def hands_on(name: str) -> HandsOn:
    return HANDS_ONS[name]


def up(
    target: Target,
    name: str,
    params: dict[str, Any] | None = None,
    *,
    dry_run: bool = False,
    wait: bool = True,
    report: Reporter = silent,
) -> engine.DeployResult:
    return engine.deploy(target, hands_on(name), params, dry_run=dry_run, wait=wait, report=report)


def down(target: Target, name: str, report: Reporter = silent, *, wait: bool = True) -> bool:
    return engine.destroy(target, hands_on(name), report, wait=wait)


def status(target: Target, name: str) -> dict[str, Any]:
    """``{"stack", "status", "outputs"}``; status and outputs are null/empty when not deployed."""
    stack_name = hands_on(name).stack_name
    info = describe(target, stack_name)
    return {
        "stack": stack_name,
        "status": info.status if info else None,
        "outputs": info.outputs if info else {},
        "created": info.created.isoformat() if info and info.created else None,
    }


def deployed(target: Target, name: str) -> StackInfo:
    """The deployed stack, or a NotFound error saying to run ``up``."""
    info = describe(target, hands_on(name).stack_name)
    if info is None or not info.status.endswith("_COMPLETE") or info.status.startswith("DELETE"):
        raise NotFound(
            _("the {name} hands-on is not deployed on the {cloud} cloud").format(name=name, cloud=target.cloud),
            _("run 'introaws {name} up' first").format(name=name),
        )
    return info


def output(target: Target, name: str, key: str) -> str:
    info = deployed(target, name)
    try:
        return info.outputs[key]
    except KeyError:
        raise NotFound(
            _("stack {name} has no output {key}").format(name=info.name, key=key),
            _("redeploy with 'introaws {name} up'").format(name=name),
        ) from None
