"""Every key the daemon knows, and whose it is.

Two kinds of principal sign requests to the local cloud: its administrator (the owner's
credentials, :mod:`.admin`) and workloads, each with credentials issued for its role as STS's
``AssumeRole`` would issue them (an access key id, a secret, a session token; the caller is
``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``). The runtime acts as the service that
assumes the role (ECS for a task, Lambda for a function…), so the keys are minted here rather
than through the ``AssumeRole`` API, whose trust check moto cannot run for service
principals. The secrets come from :mod:`secrets`: moto's own generator is reseeded for every
journaled request, so keys it made would be predictable.

Each issued key is also registered in moto's STS backend, so ``GetCallerIdentity`` answers
with the role. Keys belong to a *grant* (a running task, a Lambda worker, an instance's SSH
sessions) and are revoked when it ends. Grants that can outlive the daemon — an instance's sshd
keeps running when the daemon is killed — are kept in a file (mode 0600) and come back when it
starts again.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from introaws.localcloud.identity.admin import AdminCredentials

DURABLE_FILE = "issued-credentials.json"
LOCAL_ACCOUNT = "123456789012"
_SESSION_NAME_BAD = re.compile(r"[^\w+=,.@-]")


@dataclass(frozen=True)
class Principal:
    access_key_id: str
    secret_access_key: str
    session_token: str  # "" for the administrator's long-term key
    arn: str
    role_name: str | None  # None: the administrator
    account: str = LOCAL_ACCOUNT
    expires: float | None = None  # epoch seconds; None: valid until its grant is revoked

    @property
    def is_admin(self) -> bool:
        return self.role_name is None


@dataclass(frozen=True)
class _Grant:
    """What a grant was issued for (kept in the file for durable grants)."""

    grant: str
    role_arn: str
    session_name: str
    access_key_id: str
    secret_access_key: str
    session_token: str
    expires: float | None


class Principals:
    """The administrator and the credentials issued to workloads (thread-safe)."""

    def __init__(self, state_dir: Path, admin: AdminCredentials, moto_lock: Any) -> None:
        self._moto_lock = moto_lock  # moto's backends change one request at a time
        self._file = state_dir / DURABLE_FILE
        self._lock = threading.Lock()
        administrator = Principal(
            admin.access_key_id, admin.secret_access_key, "", f"arn:aws:iam::{LOCAL_ACCOUNT}:root", None
        )
        self._keys: dict[str, Principal] = {admin.access_key_id: administrator}
        self._grants: dict[str, list[_Grant]] = {}
        self._durable: set[str] = set()
        for grant in _load(self._file):
            self._add(grant, durable=True)

    def find(self, access_key_id: str) -> Principal | None:
        return self._keys.get(access_key_id)

    def issue(
        self, role_arn: str, session_name: str, grant: str, *, lifetime_s: float | None = None, durable: bool = False
    ) -> Principal:
        """New credentials for ``role_arn`` under ``grant``; ``lifetime_s`` None: until revoked.
        A ``durable`` grant survives a daemon restart (its earlier keys are replaced)."""
        if durable:
            self.revoke(grant)
        issued = _Grant(
            grant=grant,
            role_arn=role_arn,
            session_name=(_SESSION_NAME_BAD.sub("-", session_name) or "introaws")[:64],
            access_key_id="ASIA" + secrets.token_hex(8).upper(),
            secret_access_key=secrets.token_urlsafe(30),
            session_token=secrets.token_urlsafe(96),
            expires=time.time() + lifetime_s if lifetime_s else None,
        )
        principal = self._add(issued, durable)
        if durable:
            self._save()
        return principal

    def revoke(self, grant: str) -> None:
        """End every key issued under ``grant``."""
        with self._lock:
            ended = self._grants.pop(grant, [])
            for issued in ended:
                self._keys.pop(issued.access_key_id, None)
            was_durable = grant in self._durable
            self._durable.discard(grant)
        if ended:
            _forget_in_sts({g.access_key_id for g in ended}, self._moto_lock)
        if was_durable:
            self._save()

    def _add(self, issued: _Grant, durable: bool) -> Principal:
        role_name = issued.role_arn.rsplit("/", 1)[-1]
        account = issued.role_arn.split(":")[4] if issued.role_arn.count(":") >= 5 else LOCAL_ACCOUNT
        principal = Principal(
            issued.access_key_id,
            issued.secret_access_key,
            issued.session_token,
            f"arn:aws:sts::{account}:assumed-role/{role_name}/{issued.session_name}",
            role_name,
            account or LOCAL_ACCOUNT,
            issued.expires,
        )
        _register_in_sts(issued, principal.account, self._moto_lock)
        with self._lock:
            self._keys[issued.access_key_id] = principal
            self._grants.setdefault(issued.grant, []).append(issued)
            if durable:
                self._durable.add(issued.grant)
        return principal

    def _save(self) -> None:
        with self._lock:
            kept = [asdict(g) for grant in sorted(self._durable) for g in self._grants.get(grant, [])]
        staging = self._file.with_name(self._file.name + ".tmp")
        descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(kept, handle)
        staging.replace(self._file)


def _load(file: Path) -> list[_Grant]:
    try:
        return [_Grant(**entry) for entry in json.loads(file.read_text())]
    except (OSError, ValueError, TypeError):
        return []


def _register_in_sts(issued: _Grant, account: str, moto_lock: Any) -> None:
    """So that moto's ``GetCallerIdentity`` names the role and session for these keys."""
    from moto.sts.models import AssumedRole, sts_backends

    key = SimpleNamespace(access_key_id=issued.access_key_id, secret_access_key=issued.secret_access_key)
    with moto_lock:  # AssumedRole draws from moto's seeded generator: never inside a journaled request
        role = AssumedRole(account, "us-east-1", key, issued.session_name, issued.role_arn, "", 3600, "")  # type: ignore[arg-type]
        role.session_token = issued.session_token
        sts_backends[account]["aws"].assumed_roles.append(role)


def _forget_in_sts(access_key_ids: set[str], moto_lock: Any) -> None:
    from moto.sts.models import sts_backends

    with moto_lock:
        for account in list(sts_backends):
            backend = sts_backends[account]["aws"]
            backend.assumed_roles = [r for r in backend.assumed_roles if r.access_key_id not in access_key_ids]
