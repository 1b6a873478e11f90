"""A recorded AWS request, and which requests change state.

The journal keeps only requests that may change state, so replay stays short and a
read never consumes the random stream that makes replayed ids match the originals.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

_READ_PREFIXES = (
    "Describe",
    "List",
    "Get",
    "Scan",
    "Query",
    "BatchGet",
    "Head",
    "Lookup",
    "Search",
    "Check",
    "Validate",
    "Estimate",
    "Detect",
    "Preview",
)
# Services whose errors are JSON even when the request has no JSON body (Lambda's Invoke).
_REST_JSON_SERVICES = ("lambda", "batch", "apigateway")
# Headers that matter to moto's dispatch and parsing; the rest are not worth journaling.
_KEPT_HEADERS = (
    "HTTP_AUTHORIZATION",
    "HTTP_X_AMZ_TARGET",
    "CONTENT_TYPE",
    "HTTP_HOST",
    "HTTP_X_AMZ_CONTENT_SHA256",
    "HTTP_CONTENT_ENCODING",
    "HTTP_X_AMZ_DECODED_CONTENT_LENGTH",
    "HTTP_CONTENT_MD5",
    "HTTP_X_AMZ_ACL",
    "HTTP_X_AMZ_TAGGING",
    "HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION",
    "HTTP_X_AMZ_STORAGE_CLASS",
    "HTTP_CACHE_CONTROL",
    "HTTP_CONTENT_DISPOSITION",
    "HTTP_X_AMZ_COPY_SOURCE",
    "HTTP_X_AMZ_METADATA_DIRECTIVE",
    "HTTP_X_AMZ_CHECKSUM_CRC32",
    "HTTP_X_AMZ_SDK_CHECKSUM_ALGORITHM",
    "HTTP_X_AMZ_TRAILER",
    "HTTP_X_AMZ_INVOCATION_TYPE",
    "HTTP_X_AMZ_LOG_TYPE",
    "HTTP_X_AMZ_CLIENT_CONTEXT",
    "HTTP_X_AMZ_DATE",
    "HTTP_X_AMZ_USER_AGENT",
    "HTTP_USER_AGENT",
)


@dataclass
class Recorded:
    """Enough of a WSGI request to replay it against moto."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    seq: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    # Every HTTP header as sent ("Content-Type": ...), for runtimes that pass requests on
    # (API Gateway proxy events); never journaled.
    http_headers: dict[str, str] = field(default_factory=dict, repr=False)
    # The request line's path and query exactly as sent (percent-encoded), which SigV4 signs;
    # never journaled.
    raw_target: str = field(default="", repr=False)

    @classmethod
    def from_http(cls, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes) -> Recorded:
        """``path`` and ``query`` as WSGI presents them; ``headers`` as sent."""
        environ: dict[str, str] = {}
        sent: dict[str, str] = {}
        for name, value in headers:
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = f"HTTP_{key}"
            environ[key] = f"{environ[key]},{value}" if key in environ else value
            sent[name] = f"{sent[name]},{value}" if name in sent else value
        kept = {k: environ[k] for k in _KEPT_HEADERS if k in environ}
        kept.update((k, v) for k, v in environ.items() if k.startswith("HTTP_X_AMZ_META_"))
        return cls(method=method, path=path, query=query, headers=kept, body=body, http_headers=sent)

    @classmethod
    def from_target(cls, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> Recorded:
        """A request as an HTTP server reads it: ``target`` is the request line's path and query
        (or an absolute URL); path and query become WSGI's native strings."""
        parts = urlsplit(target)
        path = f"/{parts.netloc}{parts.path}" if not parts.scheme and parts.netloc else parts.path
        recorded = cls.from_http(method, _wsgi_str(unquote(path)), _wsgi_str(parts.query), headers, body)
        recorded.raw_target = target
        return recorded

    @classmethod
    def json_call(cls, service: str, region: str, target: str, body: bytes) -> Recorded:
        """A JSON-protocol AWS request made by the daemon itself (``target`` like
        ``Logs_20140328.PutLogEvents``), shaped as boto3 would send it, unsigned."""
        version = "1.0" if service == "dynamodb" else "1.1"
        credential = f"introaws/19700101/{region}/{service}/aws4_request"
        headers = {
            "HTTP_X_AMZ_TARGET": target,
            "CONTENT_TYPE": f"application/x-amz-json-{version}",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=0",
        }
        return cls(method="POST", path="/", query="", headers=headers, body=body)

    def environ(self) -> dict[str, Any]:
        env: dict[str, Any] = {
            "REQUEST_METHOD": self.method,
            "PATH_INFO": self.path,
            "QUERY_STRING": self.query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(self.body),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(self.body)),
        }
        env.update(self.headers)
        return env

    @property
    def service(self) -> str:
        auth = self.headers.get("HTTP_AUTHORIZATION", "")
        try:
            scope = auth.split(",")[0].split()[1]
            return scope.split("/")[3].lower()
        except IndexError:
            return ""

    @property
    def region(self) -> str:
        """The region the request was signed for (moto's default when unsigned)."""
        auth = self.headers.get("HTTP_AUTHORIZATION", "")
        try:
            return auth.split(",")[0].split()[1].split("/")[2]
        except IndexError:
            return "us-east-1"

    @property
    def errors_in_json(self) -> bool:
        """Whether the service answers errors in JSON (JSON and REST-JSON protocols, Lambda's
        Invoke too, which sends no JSON body) rather than XML."""
        return (
            bool(self.headers.get("HTTP_X_AMZ_TARGET"))
            or "json" in self.headers.get("CONTENT_TYPE", "")
            or self.service in _REST_JSON_SERVICES
        )

    @property
    def action(self) -> str:
        """The API operation, for the query, JSON and most REST protocols."""
        target = self.headers.get("HTTP_X_AMZ_TARGET")
        if target:
            return target.rsplit(".", 1)[-1]
        for source in (self.query, self.body_text_if_form()):
            if source:
                values = parse_qs(source).get("Action")
                if values:
                    return values[0]
        return ""

    def params(self) -> dict[str, str]:
        """The query protocol's parameters (form body or query string), first value of each."""
        return {k: v[0] for k, v in parse_qs(self.body_text_if_form() or self.query).items()}

    def body_text_if_form(self) -> str:
        if "x-www-form-urlencoded" in self.headers.get("CONTENT_TYPE", ""):
            return self.body.decode("utf-8", "replace")
        return ""

    def changes_state(self) -> bool:
        if self.path.startswith(("/moto-api", "/_introaws")):
            return False
        action = self.action
        if action:
            return not action.startswith(_READ_PREFIXES)
        if self.method in ("GET", "HEAD", "OPTIONS"):
            return False
        # REST services that read with POST (Batch: POST /v1/describejobs, /v1/listjobs).
        last = self.path.rstrip("/").rsplit("/", 1)[-1].lower()
        return not last.startswith(("describe", "list", "get"))

    def to_json(self) -> str:
        return json.dumps(
            {
                "seq": self.seq,
                "method": self.method,
                "path": self.path,
                "query": self.query,
                "headers": self.headers,
                "body": base64.b64encode(self.body).decode("ascii"),
                "extra": self.extra,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, line: str) -> Recorded:
        data = json.loads(line)
        return cls(
            method=data["method"],
            path=data["path"],
            query=data["query"],
            headers=data["headers"],
            body=base64.b64decode(data["body"]),
            seq=data["seq"],
            extra=data.get("extra", {}),
        )


def _wsgi_str(text: str) -> str:
    """PEP 3333's native strings: UTF-8 bytes seen as latin-1, as moto expects them."""
    return text.encode("utf-8").decode("latin-1")
