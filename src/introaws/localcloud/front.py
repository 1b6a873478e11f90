"""The front of the local cloud: every request passes here before moto sees it.

It serializes moto (moto is not built for concurrent mutation and the journal needs one
order), journals state-changing requests with a deterministic random seed, and lets runtime
hooks answer or follow up the few operations that must really run (tasks, jobs, Lambdas).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from xml.sax.saxutils import escape

from introaws.localcloud import adapt, answers, limits, quotas
from introaws.localcloud.journal import Journal
from introaws.localcloud.requests import Recorded

if TYPE_CHECKING:
    from introaws.localcloud.identity.gate import Gate

log = logging.getLogger("introaws.localcloud")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# The runtime's own endpoints: public REST APIs and websites, health, the token-checked
# credentials endpoint, read-only listings. Everything else is an AWS API call, checked first.
RUNTIME_PREFIX = "/_introaws/"


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    error: str | None = None  # the exception moto raised, when it failed instead of answering

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Reply:
        return cls(status, [("Content-Type", "application/json")], json.dumps(data).encode())


class Hook(Protocol):
    """A runtime piece that makes an emulated resource really run.

    ``handle`` returns a reply to answer the request itself (moto never sees it), or None
    to let it through; ``forward`` calls moto (journaled as usual). ``stop`` is called when
    the daemon shuts down (end child processes, flush state).
    """

    def handle(self, request: Recorded, forward: Callable[[Recorded], Reply]) -> Reply | None: ...

    def stop(self) -> None: ...


@dataclass
class Front:
    moto_app: WsgiApp
    journal: Journal
    home: str
    hooks: list[Hook] = field(default_factory=list)
    gate: Gate | None = None  # who may do what (identity/gate.py); None: everyone, everything
    started_at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        self.moto_lock = threading.RLock()  # moto's state changes one request at a time

    def replay(self) -> int:
        """Re-apply the journal to a fresh moto; returns how many requests were replayed."""
        from moto.moto_api._internal import mock_random

        count = 0
        for entry in self.journal.entries():
            mock_random.seed(entry.seq)
            self._apply(entry)
            count += 1
        self.journal.open_for_append()
        return count

    def respond(self, request: Recorded) -> Reply:
        """The answer to one HTTP request (the listener's only call into the front)."""
        if request.path == "/_introaws/health":
            return self._introaws_api(request)
        internal = request.path.startswith(RUNTIME_PREFIX)
        # The client's own request, before limits, hooks or template rewrites see it.
        refused = None if internal or self.gate is None else self.gate.check(request)
        if refused is not None:
            return aws_error(request, refused.code, refused.message, refused.status)
        refused = limits.refusal(request)  # before hooks: Invoke and RunTask are theirs to run
        if refused is not None:
            return aws_error(request, refused.code, refused.message, refused.status)
        quota = quotas.answer(request, adapt.LOCAL_ACCOUNT)  # the vCPU quotas moto does not know
        if quota is not None:
            return quota
        reply = self._ask_hooks(request)  # hooks may answer their own /_introaws/ queries too
        if reply is not None:
            return reply
        return self._introaws_api(request) if internal else self.forward(request)

    def _ask_hooks(self, request: Recorded) -> Reply | None:
        for hook in self.hooks:
            reply = hook.handle(request, self.forward)
            if reply is not None:
                return reply
        return None

    def forward(self, request: Recorded) -> Reply:
        """Let moto answer, journaling the request when it changed state."""
        from moto.moto_api._internal import mock_random

        with self.moto_lock:
            if not request.changes_state():
                return answers.complete(request, self._call_moto(request))
            request.seq = self.journal.next_seq
            mock_random.seed(request.seq)
            reply = self._apply(request)
            if self.gate is not None:
                self.gate.state_changed(request)
            self.journal.next_seq += 1
            # Failed requests too: moto may have changed state before it failed (a batch that
            # wrote some items, then rejected one), and replay must fail them the same way.
            self.journal.append(request)
            return reply

    def _apply(self, request: Recorded) -> Reply:
        """A state-changing request: moto, with the preparations and fix-ups for moto's gaps."""
        adapt.before_moto(request)
        reply = self._call_moto(adapt.for_moto(request))
        if adapt.after_moto(request, reply.status, reply.error):
            return _accepted(request)  # the failure is the stack's now, as on AWS
        return reply

    def _call_moto(self, request: Recorded) -> Reply:
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"] = int(status.split()[0])
            captured["headers"] = headers

        try:
            chunks = self.moto_app(request.environ(), start_response)
            try:
                body = b"".join(chunks)
            finally:
                close = getattr(chunks, "close", None)
                if close:
                    close()
        except Exception as exc:  # moto's apps run in debug mode: their exceptions reach us
            if isinstance(exc, adapt.ResourceRefused):
                log.info("refused a stack resource: %s", exc)
            else:
                log.exception("moto failed on %s %s", request.service, request.action or request.path)
            # 400, not 500: the same request would fail the same way, so clients must not retry.
            return aws_error(request, "LocalCloudFailure", f"{type(exc).__name__}: {exc}", status=400, error=str(exc))
        headers = captured["headers"]
        if request.method != "HEAD":  # a HEAD answer's Content-Length is the object's, not its (empty) body's
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
        return Reply(captured["status"], headers, body)

    def _introaws_api(self, request: Recorded) -> Reply:
        if request.path == "/_introaws/health":
            iam = self.gate.mode if self.gate else None
            return Reply.json(
                {"ok": True, "pid": os.getpid(), "home": self.home, "started_at": self.started_at, "iam": iam}
            )
        return Reply.json({"message": f"unknown introaws endpoint {request.path}"}, 404)


def _accepted(request: Recorded) -> Reply:
    """The query protocol's answer of an operation that returns nothing (``ExecuteChangeSet``)."""
    action = request.action
    body = (
        f'<{action}Response xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><{action}Result/>'
        f"<ResponseMetadata><RequestId>introaws-{request.seq}</RequestId></ResponseMetadata></{action}Response>"
    ).encode()
    return Reply(200, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))], body)


def aws_error(request: Recorded, code: str, message: str, status: int = 500, error: str | None = None) -> Reply:
    """An error shaped for the request's protocol, so boto3 raises a ClientError with it."""
    if request.errors_in_json:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
    else:
        body = (
            f"<ErrorResponse><Error><Type>{'Sender' if status < 500 else 'Receiver'}</Type><Code>{code}</Code>"
            f"<Message>{escape(message)}</Message></Error><RequestId>introaws</RequestId>"
            f"</ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    headers.append(("Content-Length", str(len(body))))
    return Reply(status, headers, body, error=error or message)
