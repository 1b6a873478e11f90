"""The local cloud's HTTP addresses for what AWS serves on its own hosts.

A deployed REST API answers at ``{endpoint}/_introaws/execute-api/{api_id}/{stage}/`` and a
website bucket at ``{endpoint}/_introaws/website/{bucket}/``. They live on the daemon's own
port, which the daemon keeps across restarts, so a printed URL stays valid. The daemon gives
them in place of AWS's addresses wherever it answers with one (stack outputs).
"""

from __future__ import annotations

import re

EXECUTE_API_PREFIX = "/_introaws/execute-api/"
WEBSITE_PREFIX = "/_introaws/website/"
_AWS_API_URL = re.compile(r"https://([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?::\d+)?/([^/\s]+)/?(\S*)")
# S3 website endpoints: ``BUCKET.s3-website-REGION.amazonaws.com`` or ``BUCKET.s3-website.REGION…``.
_AWS_WEBSITE_URL = re.compile(r"https?://([a-z0-9.-]+?)\.s3-website[.-][a-z0-9-]+\.amazonaws\.com/?(\S*)")


def api_url(endpoint: str, api_id: str, stage: str) -> str:
    return f"{endpoint.rstrip('/')}{EXECUTE_API_PREFIX}{api_id}/{stage}/"


def website_url(endpoint: str, bucket: str) -> str:
    return f"{endpoint.rstrip('/')}{WEBSITE_PREFIX}{bucket}/"


def localize(text: str, endpoint: str) -> str:
    """``text`` with AWS's API and website URLs replaced by this cloud's at ``endpoint``."""
    text = _AWS_API_URL.sub(lambda m: api_url(endpoint, m.group(1), m.group(2)) + m.group(3), text)
    return _AWS_WEBSITE_URL.sub(lambda m: website_url(endpoint, m.group(1)) + m.group(2), text)
