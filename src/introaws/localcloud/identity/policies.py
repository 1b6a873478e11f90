"""A role's identity policies, read from moto's IAM and judged with moto's statement matcher.

AWS's rule for a principal of the same account: an explicit ``Deny`` in any policy wins, else
some ``Allow`` must match the action and the resource, else the request is denied. A role's
policies are its inline policies and its attached managed policies (their default version);
a permissions boundary, when the role has one, must allow the action too.

moto's ``IAMPolicyStatement`` matches actions and resources (wildcards included). Around it,
three adjustments (each moto gap has its test in ``tests/test_moto_gaps.py``): action names
are compared without regard to case, as IAM does; a statement with a ``Condition`` never
applies, since the request context it tests (source IP, MFA, VPC endpoint) is not known here —
moto would count the condition as met; a statement with ``NotResource`` applies to every other
resource (moto ignores the element). When the request's resource is not known (see
:mod:`.actions`), statements apply by their actions alone.

Parsed policies are kept per role until IAM's state changes (:meth:`RolePolicies.forget`):
the haiku API's every write is judged against the same few statements.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from moto.iam.access_control import IAMPolicyStatement, PermissionResult

from introaws.localcloud.identity.actions import Operation

_NEUTRAL = PermissionResult.NEUTRAL


@dataclass(frozen=True)
class _Statement:
    effect: str
    conditional: bool  # has a Condition, which cannot be evaluated here: never applies
    matcher: IAMPolicyStatement  # resources as written (Condition left out)
    any_resource: IAMPolicyStatement  # the same with Resource "*": for a resource not known
    not_resource: IAMPolicyStatement | None  # matches the resources a NotResource excludes

    def applies(self, action: str, resource: str | None) -> bool:
        if self.conditional:
            return False
        matcher = self.matcher if resource is not None else self.any_resource
        if self.not_resource is not None:
            if resource is not None and self.not_resource.is_action_permitted(action, resource) != _NEUTRAL:
                return False  # a resource the statement excludes
            matcher = self.any_resource
        return matcher.is_action_permitted(action, resource or "*") != _NEUTRAL


@dataclass(frozen=True)
class Policy:
    label: str  # "inline QaTaskRoleDefaultPolicy", "managed arn:aws:iam::…:policy/…"
    statements: tuple[_Statement, ...]

    def verdict(self, action: str, resource: str | None) -> str:
        """ "Deny", "Allow" or "" (says nothing about this action on this resource)."""
        effects = {s.effect for s in self.statements if s.applies(action, resource)}
        return "Deny" if "Deny" in effects else ("Allow" if effects else "")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    explicit_deny: bool
    evaluated: tuple[str, ...]  # the labels of the policies held against the request
    resource: str  # the resource decided on ("*" when not known)


@dataclass
class _RoleView:
    policies: tuple[Policy, ...]
    boundary: Policy | None


@dataclass
class RolePolicies:
    """Each role's parsed policies, kept until :meth:`forget` (IAM changed)."""

    moto_lock: Any
    _cache: dict[tuple[str, str], _RoleView] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def decide(self, account: str, role_name: str, operation: Operation) -> Decision:
        view = self._view(account, role_name)
        action = operation.action.lower()
        labels = tuple(p.label for p in view.policies) + ((f"boundary {view.boundary.label}",) if view.boundary else ())
        for resource in operation.resources or (None,):
            verdicts = [p.verdict(action, resource) for p in view.policies]
            bound = view.boundary.verdict(action, resource) if view.boundary else "Allow"
            denied = "Deny" in verdicts or bound == "Deny"
            if denied or "Allow" not in verdicts or bound != "Allow":
                return Decision(False, denied, labels, resource or "*")
        return Decision(True, False, labels, (operation.resources or ("*",))[0])

    def _view(self, account: str, role_name: str) -> _RoleView:
        key = (account, role_name)
        view = self._cache.get(key)
        if view is None:
            with self.moto_lock:  # moto's IAM is read while no request changes it
                view = _read_role(account, role_name)
            with self._lock:
                self._cache[key] = view
        return view


def _read_role(account: str, role_name: str) -> _RoleView:
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["aws"]
    try:
        role = backend.get_role(role_name)
    except NotFoundException:
        return _RoleView((), None)
    policies = [_parse(f"inline {name}", document) for name, document in sorted(role.policies.items())]
    policies += [_parse(f"managed {arn}", _default_document(p)) for arn, p in sorted(role.managed_policies.items())]
    boundary = None
    if role.permissions_boundary_arn:
        found = backend.managed_policies.get(role.permissions_boundary_arn)
        boundary = _parse(role.permissions_boundary_arn, _default_document(found) if found else '{"Statement": []}')
    return _RoleView(tuple(policies), boundary)


def _default_document(policy: Any) -> str:
    return str(next(v.document for v in policy.versions if v.is_default))


def _parse(label: str, document: Any) -> Policy:
    data = json.loads(document) if isinstance(document, str) else document
    statements = data.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return Policy(label, tuple(_statement(s) for s in statements if isinstance(s, dict)))


def _statement(raw: dict[str, Any]) -> _Statement:
    statement = {k: v for k, v in raw.items() if k != "Condition"}
    for element in ("Action", "NotAction"):
        if element in statement:
            values = statement[element]
            statement[element] = [str(v).lower() for v in values] if isinstance(values, list) else str(values).lower()
    excluded = statement.pop("NotResource", None)
    any_resource = {**statement, "Resource": "*"}
    return _Statement(
        effect="Deny" if statement.get("Effect") == "Deny" else "Allow",
        conditional="Condition" in raw,
        matcher=IAMPolicyStatement(statement if "Resource" in statement else any_resource),
        any_resource=IAMPolicyStatement(any_resource),
        not_resource=IAMPolicyStatement({**statement, "Resource": excluded}) if excluded is not None else None,
    )
