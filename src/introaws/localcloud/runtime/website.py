"""S3 static website hosting on ``/_introaws/website/{bucket}/…``.

Serves only buckets that have a website configuration, like S3's website endpoint: a key
ending in ``/`` (or none) gets the index document, a missing key is 404. Objects are read
from moto's S3 (read-only, nothing journaled).
"""

from __future__ import annotations

import mimetypes
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from introaws.localcloud.adapt import LOCAL_ACCOUNT
from introaws.localcloud.urls import WEBSITE_PREFIX

if TYPE_CHECKING:
    from introaws.localcloud.front import Reply
    from introaws.localcloud.requests import Recorded

_INDEX = re.compile(rb"<IndexDocument>\s*<Suffix>([^<]+)</Suffix>")


class Websites:
    def handle(self, request: Recorded, forward: Any) -> Reply | None:
        from introaws.localcloud.front import Reply

        if not request.path.startswith(WEBSITE_PREFIX) or request.method not in ("GET", "HEAD"):
            return None
        bucket_name, _, key = request.path[len(WEBSITE_PREFIX) :].partition("/")
        bucket = _bucket(bucket_name)
        if bucket is None or not bucket.website_configuration:
            return _page(404, "NoSuchWebsiteConfiguration", f"{bucket_name} is not a website bucket")
        index = _INDEX.search(bucket.website_configuration)
        key = unquote(key)
        if key == "" or key.endswith("/"):
            key += index.group(1).decode() if index else "index.html"
        found = bucket.keys.get(key)
        if found is None:
            return _page(404, "NoSuchKey", f"{key} is not in {bucket_name}")
        content_type = found.metadata.get("content-type", "")
        if not content_type or content_type == "binary/octet-stream":
            content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        body = found.value
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("ETag", found.etag),
            ("Cache-Control", "no-cache"),
        ]
        return Reply(200, headers, b"" if request.method == "HEAD" else body)

    def stop(self) -> None:
        """Nothing to stop: every request reads moto's S3 afresh."""


def _bucket(name: str) -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[LOCAL_ACCOUNT]["aws"].buckets.get(name)


def _page(status: int, code: str, message: str) -> Reply:
    from introaws.localcloud.front import Reply

    body = f"<html><body><h1>{status} {code}</h1><p>{message}</p></body></html>".encode()
    return Reply(status, [("Content-Type", "text/html"), ("Content-Length", str(len(body)))], body)
