"""The local cloud's HTTP addresses for what AWS serves on its own hosts.

A deployed REST API answers at ``{endpoint}/_introaws/execute-api/{api_id}/{stage}/`` and a
website bucket at ``{endpoint}/_introaws/website/{bucket}/``. They live on the daemon's own
port, which the daemon keeps across restarts, so a printed URL stays valid.
"""

from __future__ import annotations

import re

EXECUTE_API_PREFIX = "/_introaws/execute-api/"
WEBSITE_PREFIX = "/_introaws/website/"
_AWS_API_URL = re.compile(r"https://([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com[^/]*/([^/]+)/?")


def api_url(endpoint: str, api_id: str, stage: str) -> str:
    return f"{endpoint.rstrip('/')}{EXECUTE_API_PREFIX}{api_id}/{stage}/"


def website_url(endpoint: str, bucket: str) -> str:
    return f"{endpoint.rstrip('/')}{WEBSITE_PREFIX}{bucket}/"


def local_api_url(endpoint: str, aws_url: str) -> str:
    """The local address of an API whose AWS address (a stack output) is ``aws_url``."""
    match = _AWS_API_URL.match(aws_url)
    if not match:
        raise ValueError(f"not an execute-api URL: {aws_url}")
    return api_url(endpoint, match.group(1), match.group(2))
