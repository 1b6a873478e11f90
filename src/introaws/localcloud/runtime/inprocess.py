"""boto3 clients for the daemon's own calls to moto, answered in-process.

The runtime reads what was deployed (queues, task definitions, instances, key pairs) and writes
what happened (log events, stopped tasks) through ordinary boto3 clients, so every protocol
(JSON, REST, query) is serialized and parsed by botocore as for any client. Their requests never
leave the process: botocore's ``before-send`` event hands each one to the front's ``forward``
(moto under its lock, journaled when it changes state) and turns the reply into botocore's
response. No HTTP round trip through the daemon's own listener, no listener thread per call.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from introaws.localcloud.requests import Recorded
from introaws.localcloud.runtime.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY

if TYPE_CHECKING:
    from introaws.localcloud.front import Reply


class InProcessClients:
    def __init__(self, endpoint: str, forward: Callable[[Recorded], Reply]) -> None:
        self.endpoint = endpoint
        self._forward = forward
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()  # creating clients on one boto3 session is not thread-safe
        self._session: Any = None

    def client(self, service: str, region: str) -> Any:
        """A boto3 client for ``service`` in ``region`` (kept: clients are thread-safe)."""
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                import boto3
                from botocore.config import Config

                if self._session is None:
                    self._session = boto3.Session(
                        aws_access_key_id=LOCAL_ACCESS_KEY_ID, aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY
                    )
                client = self._session.client(
                    service,
                    region_name=region,
                    endpoint_url=self.endpoint,
                    config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 1}),
                )
                client.meta.events.register("before-send", self._send)
                self._clients[key] = client
            return self._clients[key]

    def _send(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse
        from urllib3.response import HTTPResponse

        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        headers = [(k, v.decode() if isinstance(v, bytes) else str(v)) for k, v in request.headers.items()]
        if "Host" not in request.headers:  # what the HTTP client would add; moto dispatches on it
            headers.append(("Host", urlsplit(request.url).netloc))
        reply = self._forward(Recorded.from_target(request.method, request.url, headers, body or b""))
        raw = HTTPResponse(
            body=io.BytesIO(reply.body),
            headers=dict(reply.headers),
            status=reply.status,
            preload_content=False,
            decode_content=False,
        )
        return AWSResponse(request.url, reply.status, dict(reply.headers), raw)
