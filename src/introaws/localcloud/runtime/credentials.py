"""Credentials of workloads: issued for a role, handed over the way AWS hands them over.

Every workload (ECS task, Batch job, Lambda function, EC2 instance) runs as its role. The one
place that decides which credentials a role's workload gets is :meth:`Credentials.issue`
(reached through ``RuntimeContext.workload_credentials``); today it gives every role the
local cloud's own credentials, so payloads work as before. Per-role credentials (STS
``AssumeRole`` minted in-process) plug in there, and nothing else changes.

They reach the payload as on AWS, so boto3's normal credential chain inside it finds them:

* ``container`` (ECS tasks, Batch jobs): ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` names this
  daemon's ``/_introaws/credentials`` endpoint and ``AWS_CONTAINER_AUTHORIZATION_TOKEN`` a
  token valid while the workload runs; boto3 fetches (and refreshes) them there.
* ``environment`` (Lambda): ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and
  ``AWS_SESSION_TOKEN`` in the process's environment.

Either way ``AWS_SHARED_CREDENTIALS_FILE`` and ``AWS_CONFIG_FILE`` point at an empty file, so
keys of the user's own ``~/.aws`` never stand in for the workload's.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

CREDENTIALS_PATH = "/_introaws/credentials"
# The local cloud's own credentials (what introaws signs with); any key is accepted today.
LOCAL_ACCESS_KEY_ID = "introaws"
LOCAL_SECRET_ACCESS_KEY = "introaws-local"
LIFETIME = timedelta(hours=6)  # as AssumeRole's default session for a role chained by a service

Handover = Literal["container", "environment"]


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    role_arn: str | None  # the role they were issued for (None: the local cloud's own)

    @classmethod
    def issue(cls, role_arn: str | None, session_name: str) -> Credentials:
        """Credentials for a workload running as ``role_arn`` (session ``session_name``)."""
        return cls(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY, "", datetime.now(UTC) + LIFETIME, role_arn)

    def container_json(self) -> dict[str, Any]:
        """The body of a container credentials endpoint's answer (what boto3 reads)."""
        return {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "Token": self.session_token,
            "Expiration": self.expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "RoleArn": self.role_arn or "",
        }

    def environment(self) -> dict[str, str]:
        env = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env


Issuer = Callable[[str | None, str], Credentials]


class CredentialsEndpoint:
    """The tokens of running workloads, and the endpoint that answers them."""

    def __init__(self, endpoint: str, issue: Issuer, empty_file: str) -> None:
        self.url = endpoint + CREDENTIALS_PATH
        self._issue = issue
        self._empty_file = empty_file
        self._grants: dict[str, tuple[str | None, str]] = {}  # token -> (role ARN, session name)
        self._lock = threading.Lock()

    def hand_over(self, how: Handover, role_arn: str | None, session_name: str) -> tuple[dict[str, str], str | None]:
        """Environment that gives a workload its credentials, and the token to :meth:`revoke`
        when it ends (None for ``environment``)."""
        env = {"AWS_SHARED_CREDENTIALS_FILE": self._empty_file, "AWS_CONFIG_FILE": self._empty_file}
        if how == "environment":
            env.update(self._issue(role_arn, session_name).environment())
            return env, None
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[token] = (role_arn, session_name)
        env.update(AWS_CONTAINER_CREDENTIALS_FULL_URI=self.url, AWS_CONTAINER_AUTHORIZATION_TOKEN=token)
        return env, token

    def revoke(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._grants.pop(token, None)

    def answer(self, authorization: str) -> tuple[int, dict[str, Any]]:
        """(status, body) for a GET of the endpoint with this ``Authorization`` header."""
        with self._lock:
            grant = self._grants.get(authorization.strip())
        if grant is None:
            return 403, {"code": "AccessDenied", "message": "unknown or expired authorization token"}
        return 200, self._issue(*grant).container_json()
