"""Credentials of workloads: issued for a role, handed over the way AWS hands them over.

Every workload (ECS task, Batch job, Lambda function, EC2 instance) runs as its role. The one
place that decides which credentials a role's workload gets is
``RuntimeContext.workload_credentials``: keys minted for the role as STS's ``AssumeRole``
would (:mod:`introaws.localcloud.identity.principals`), valid while the workload runs; the
local cloud holds every request signed with them against the role's policies. A workload
without a role gets no credentials, as on AWS.

They reach the payload as on AWS, so boto3's normal credential chain inside it finds them:

* ``container`` (ECS tasks, Batch jobs): ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` names this
  daemon's ``/_introaws/credentials`` endpoint and ``AWS_CONTAINER_AUTHORIZATION_TOKEN`` a
  token valid while the workload runs; boto3 fetches (and refreshes) them there.
* ``environment`` (Lambda; EC2 sessions, since an sshd outlives a daemon):
  ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and ``AWS_SESSION_TOKEN`` in the
  process's environment.

Either way ``AWS_SHARED_CREDENTIALS_FILE`` and ``AWS_CONFIG_FILE`` point at an empty file, so
keys of the user's own ``~/.aws`` never stand in for the workload's.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

CREDENTIALS_PATH = "/_introaws/credentials"
# What the daemon's own in-process clients sign with (runtime/inprocess.py). Their requests
# never pass the listener, so no caller can use this key: the gate does not know it.
LOCAL_ACCESS_KEY_ID = "introaws"
LOCAL_SECRET_ACCESS_KEY = "introaws-local"
CONTAINER_LIFETIME_S = 6 * 3600  # as AssumeRole's session for a role a service assumes; boto3 refreshes

Handover = Literal["container", "environment"]


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime | None  # None: valid until the workload ends
    role_arn: str

    def container_json(self) -> dict[str, Any]:
        """The body of a container credentials endpoint's answer (what boto3 reads)."""
        expiration = self.expiration or datetime.now(UTC)
        return {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "Token": self.session_token,
            "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "RoleArn": self.role_arn,
        }

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


# (role ARN, session name, grant, lifetime in seconds or None, durable) -> credentials
Issuer = Callable[[str, str, str, float | None, bool], Credentials]


class CredentialsEndpoint:
    """The grants of running workloads, and the endpoint that answers their tokens."""

    def __init__(self, endpoint: str, issue: Issuer, revoke: Callable[[str], None], empty_file: str) -> None:
        self.url = endpoint + CREDENTIALS_PATH
        self._issue = issue
        self._revoke = revoke
        self._empty_file = empty_file
        self._tokens: dict[str, tuple[str, str]] = {}  # token -> (role ARN, session name)
        self._lock = threading.Lock()

    def hand_over(
        self, how: Handover, role_arn: str | None, session_name: str, owner: str | None = None
    ) -> tuple[dict[str, str], str | None]:
        """Environment that gives a workload its role's credentials, and the grant to
        :meth:`revoke` when it ends (None without a role). ``owner`` names a grant that outlives
        the daemon (an instance's SSH sessions): its keys survive a restart."""
        env = {"AWS_SHARED_CREDENTIALS_FILE": self._empty_file, "AWS_CONFIG_FILE": self._empty_file}
        if not role_arn:
            return env, None
        if how == "environment":
            grant = owner or f"env-{secrets.token_hex(8)}"
            env.update(self._issue(role_arn, session_name, grant, None, owner is not None).environment())
            return env, grant
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (role_arn, session_name)
        env.update(AWS_CONTAINER_CREDENTIALS_FULL_URI=self.url, AWS_CONTAINER_AUTHORIZATION_TOKEN=token)
        return env, token

    def revoke(self, grant: str | None) -> None:
        """The workload ended: its token and every key issued to it stop working."""
        if grant:
            with self._lock:
                self._tokens.pop(grant, None)
            self._revoke(grant)

    def answer(self, authorization: str) -> tuple[int, dict[str, Any]]:
        """(status, body) for a GET of the endpoint with this ``Authorization`` header."""
        token = authorization.strip()
        with self._lock:
            grant = self._tokens.get(token)
        if grant is None:
            return 403, {"code": "AccessDenied", "message": "unknown or expired authorization token"}
        role_arn, session_name = grant
        return 200, self._issue(role_arn, session_name, token, CONTAINER_LIFETIME_S, False).container_json()
