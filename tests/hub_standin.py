"""A stand-in Hugging Face Hub on loopback: serves one folder as a model repository.

Enough of the hub's HTTP API for ``huggingface_hub``'s ``model_info`` and ``hf_hub_download``
(the calls ``introaws data qa-model`` makes): ``GET /api/models/<id>`` with the files as
siblings, and ``HEAD``/``GET /<id>/resolve/<revision>/<file>`` with the headers the client
reads (commit, ETag, size). Unknown repositories answer 404 as the hub does. Point a client at
it with ``HF_ENDPOINT``. It records the requests and the files served, so a test sees what was asked and downloaded.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from pathlib import Path

COMMIT = "c0ffee" * 6 + "c0ff"  # 40 hex digits, like a git commit


class Hub:
    def __init__(self, repo_id: str, folder: Path) -> None:
        self.repo_id = repo_id
        self.folder = folder
        self.served: list[str] = []  # files sent
        self.requests: list[str] = []  # "METHOD path" of every request

    def files(self) -> list[str]:
        return sorted(p.name for p in self.folder.iterdir() if p.is_file())


def serve(hub: Hub) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Start the stand-in; returns the server (``shutdown()`` it) and its endpoint URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            path = self.path.split("?", 1)[0]
            hub.requests.append(f"{self.command} {path}")
            info_path = f"/api/models/{hub.repo_id}"
            resolve_prefix = f"/{hub.repo_id}/resolve/"
            if path in (info_path, f"{info_path}/revision/main"):
                data = json.dumps(
                    {"id": hub.repo_id, "sha": COMMIT, "siblings": [{"rfilename": n} for n in hub.files()]}
                ).encode()
                self._send(200, data, {"Content-Type": "application/json"}, body)
            elif path.startswith(resolve_prefix) and (hub.folder / path.rsplit("/", 1)[-1]).is_file():
                name = path.rsplit("/", 1)[-1]
                data = (hub.folder / name).read_bytes()
                if body:
                    hub.served.append(name)
                headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{hashlib.sha256(data).hexdigest()}"'}
                self._send(200, data, headers, body)
            else:
                error = b'{"error": "Repository not found"}'
                self._send(404, error, {"X-Error-Code": "RepoNotFound", "Content-Type": "application/json"}, body)

        def _send(self, status: int, data: bytes, headers: dict[str, str], body: bool) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"
