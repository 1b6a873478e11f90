"""The local cloud's HTTP/1.1 listener: kept-alive connections, one thread each.

Every client of the local cloud holds its connections open (boto3's pools, Lambda workers,
``haiku flood``), so the cheapest server is one that keeps a connection on its own thread and
reads the next request there: no thread per request, no hand-off between threads. Measured on
2 cores with 8 kept-alive clients: ~0.15 ms of server CPU a request, against ~0.5 ms for a
thread-pool server (cheroot) and ~0.9 ms for werkzeug's development server, which closes every
connection. The haiku API costs two requests per POST, so this is most of its throughput.

It speaks only what the local cloud needs: the whole body is read before the front answers
(``Content-Length`` or chunked), and the whole reply is written at once.
"""

from __future__ import annotations

import http.server
import logging
import socketserver
from collections.abc import Callable
from http import HTTPStatus

from introaws.localcloud.front import Reply
from introaws.localcloud.requests import Recorded

log = logging.getLogger("introaws.localcloud")

IDLE_TIMEOUT_S = 300.0  # a kept-alive connection idle this long is closed (its thread ends)
_NO_BODY_STATUSES = {204, 304}
_MAX_HEADERS = 100

Respond = Callable[[Recorded], Reply]


class Listener(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False  # stopping must not wait for idle kept-alive connections
    request_queue_size = 128  # a burst of new clients (a flood, cold Lambda workers) must not see refusals

    def __init__(self, port: int, respond: Respond) -> None:
        self.respond = respond
        super().__init__(("127.0.0.1", port), _Connection)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


class _Connection(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S
    disable_nagle_algorithm = True
    server: Listener

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if len(self.raw_requestline) > 65536:
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.parse_request():  # answered the error itself
                return
            try:
                body = self._body()
            except ValueError as exc:
                self.send_error(HTTPStatus.BAD_REQUEST, str(exc))
                return
            try:
                reply = self.server.respond(self._recorded(body))
            except Exception:  # a bug in the local cloud: say so, and start clean on a new connection
                log.exception("failed to answer %s %s", self.command, self.path)
                self.close_connection = True
                reply = Reply.json({"message": "the local cloud failed; see 'introaws cloud logs'"}, 500)
            self._write(reply)
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def parse_request(self) -> bool:
        """The request line and headers. http.server parses headers with the email package,
        which was a tenth of the daemon's time under load; this reads them as plain lines."""
        self.command, self.request_version, self.close_connection = "", "HTTP/1.0", True
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        parts = self.requestline.split()
        if len(parts) != 3 or parts[2] not in ("HTTP/1.0", "HTTP/1.1"):
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request line {self.requestline!r}")
            return False
        self.command, self.path, self.request_version = parts
        self.header_list: list[tuple[str, str]] = []
        while True:
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            name, colon, value = str(line, "iso-8859-1").partition(":")
            if not colon or len(line) > 65536 or len(self.header_list) >= _MAX_HEADERS:
                self.send_error(HTTPStatus.BAD_REQUEST, "Bad header line")
                return False
            self.header_list.append((name.strip(), value.strip()))
        self.by_name = {name.lower(): value for name, value in self.header_list}
        connection = self.by_name.get("connection", "").lower()
        self.close_connection = "close" in connection or (
            self.request_version == "HTTP/1.0" and "keep-alive" not in connection
        )
        if self.request_version == "HTTP/1.1" and self.by_name.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    def _body(self) -> bytes:
        if "chunked" in self.by_name.get("transfer-encoding", "").lower():
            return self._chunked_body()
        length = self.by_name.get("content-length")
        if not length:
            return b""
        if not length.strip().isdigit():
            raise ValueError(f"bad Content-Length {length!r}")
        return self.rfile.read(int(length))

    def _chunked_body(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise ValueError("bad chunk size in a chunked body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers: nothing here needs them
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _recorded(self, body: bytes) -> Recorded:
        """The request as a WSGI server would have presented it (the journal's format)."""
        headers: list[tuple[str, str]] = []
        for name, value in self.header_list:
            if "_" not in name:  # as WSGI servers do: no header can pose as another
                headers.append((name, value.replace("\r\n", "")))
        return Recorded.from_target(self.command, self.path, headers, body)

    def _write(self, reply: Reply) -> None:
        lines = [f"{self.protocol_version} {_status_line(reply.status)}"]
        has_length = False
        for name, value in reply.headers:
            lines.append(f"{name}: {value}")
            has_length = has_length or name.lower() == "content-length"
        body = reply.body
        if reply.status in _NO_BODY_STATUSES or self.command == "HEAD":
            body = b""
        elif not has_length:
            lines.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head + body)

    def log_message(self, format: str, *args: object) -> None:
        """Only malformed requests get here (send_error); a line per request would cost
        throughput."""
        log.warning("http: %s", format % args)


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"
