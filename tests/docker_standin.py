"""A stand-in Docker engine: the real Docker SDK talks HTTP to it through ``DOCKER_HOST``.

It speaks the few Engine API calls an image build and push make (``/version``, ``/_ping``,
``/build``, ``/images/NAME/push``), records each build's query (tag, platform, build
arguments) and the names in its context, and answers a build with a scripted failure when
told to. No Docker engine is needed on the machine.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_VERSION = "1.45"


@dataclass
class Build:
    query: dict[str, str]
    files: list[str]

    @property
    def build_args(self) -> dict[str, str]:
        return json.loads(self.query.get("buildargs", "{}"))


@dataclass
class Engine:
    """What the stand-in saw, and how it answers the next builds."""

    builds: list[Build] = field(default_factory=list)
    pushes: list[str] = field(default_factory=list)
    fail_build_with: list[str] | None = None  # output lines, the last one the error

    def host(self, port: int) -> str:
        return f"tcp://127.0.0.1:{port}"


def serve(engine: Engine) -> tuple[ThreadingHTTPServer, str]:
    """Start the stand-in on a free loopback port; returns the server and its DOCKER_HOST."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # chunked answers, as the engine streams builds and pushes

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Api-Version", API_VERSION)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _lines(self, chunks: list[dict[str, Any]]) -> None:
            """A streamed answer, one JSON object per HTTP chunk, as the engine sends builds."""
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in chunks:
                data = json.dumps(chunk).encode() + b"\r\n"
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")

        def do_HEAD(self) -> None:
            self._send(200, b"")

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path.endswith("/_ping"):
                self._send(200, b"OK", "text/plain")
            elif path.endswith("/version"):
                self._send(200, json.dumps({"ApiVersion": API_VERSION, "Version": "stand-in"}).encode())
            else:
                self._send(404, json.dumps({"message": f"stand-in has no {path}"}).encode())

        def do_POST(self) -> None:
            split = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(split.query).items()}
            body = self._body()
            if split.path.endswith("/build"):
                with tarfile.open(fileobj=io.BytesIO(body)) as archive:
                    names = sorted(archive.getnames())
                engine.builds.append(Build(query, names))
                if engine.fail_build_with:
                    *lines, error = engine.fail_build_with
                    self._lines([{"stream": line + "\n"} for line in lines] + [{"error": error}])
                else:
                    self._lines([{"stream": "Step 1/1 : FROM scratch\n"}, {"aux": {"ID": "sha256:0"}}])
            elif "/images/" in split.path and split.path.endswith("/push"):
                engine.pushes.append(split.path.split("/images/", 1)[1].rsplit("/push", 1)[0])
                self._lines([{"status": "Pushed", "id": "layer"}, {"status": "latest: digest: sha256:0"}])
            else:
                self._send(404, json.dumps({"message": f"stand-in has no {split.path}"}).encode())

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, engine.host(server.server_address[1])
