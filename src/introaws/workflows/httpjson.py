"""A small JSON-over-HTTP client for deployed APIs: one kept-alive connection per thread.

Standard library only (``http.client``); works with http:// (local cloud) and https:// (AWS).
A base URL with or without a trailing slash is fine: paths are joined with exactly one.
"""

from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


class Client:
    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) URL: {base_url}")
        self.scheme, self.netloc = parts.scheme, parts.netloc
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._local = threading.local()

    def call(self, method: str, path: str, body: Any = None) -> Response:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        target = f"{self.prefix}/{path.lstrip('/')}"
        for attempt in (1, 2):
            connection = self._connection()
            reused = connection.sock is not None
            try:
                connection.request(method, target, body=data, headers=headers)
                reply = connection.getresponse()
                text = reply.read().decode("utf-8", "replace")
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._local.connection = None
                connection.close()
                if attempt == 2 or not reused:  # only a stale kept-alive connection is retried
                    raise
                continue
            if reply.will_close:
                self._local.connection = None
                connection.close()
            return Response(reply.status, {k.lower(): v for k, v in reply.getheaders()}, text)
        raise AssertionError("unreachable")

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            connection = cls(self.netloc, timeout=self.timeout)
            self._local.connection = connection
        return connection
