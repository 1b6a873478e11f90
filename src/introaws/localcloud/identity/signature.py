"""SigV4, checked on the client's original request with moto's verifier.

moto's ``IAMRequest`` rebuilds the canonical request from what was sent (the signed headers,
the body, the path and query as they came over the wire) and signs it again with the secret of
the key the request names; a different signature is refused. Two things are ours: whose key
it is (the daemon's :class:`~.principals.Principals`, not moto's IAM users, whose secrets come
from moto's reseeded generator), and a cache of derived signing keys — the four HMACs from a
secret to a day's, region's and service's key are the same for every request of that day.
The request must also be recent (AWS allows 15 minutes of clock skew), and a session token
must be the one issued with the key.
"""

from __future__ import annotations

import hmac
import threading
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from typing import Any, Literal

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.credentials import Credentials
from moto.iam.access_control import IAMRequest

from introaws.localcloud.identity.principals import Principal, Principals
from introaws.localcloud.requests import Recorded

MAX_SKEW = timedelta(minutes=15)
Failure = Literal["missing", "unknown-key", "bad-token", "expired", "skewed", "bad-signature"]


class NotAuthenticated(Exception):
    def __init__(self, failure: Failure, detail: str = "") -> None:
        super().__init__(detail or failure)
        self.failure = failure
        self.detail = detail


def authenticate(request: Recorded, principals: Principals) -> Principal:
    """The principal that signed ``request``; raises :class:`NotAuthenticated`."""
    headers = _signed_request_headers(request)
    authorization = headers.get("Authorization", "")
    if not authorization:
        raise NotAuthenticated("missing")
    scope = authorization.partition("Credential=")[2].partition(",")[0].split("/")
    if not authorization.startswith("AWS4-HMAC-SHA256 ") or len(scope) != 5 or "X-Amz-Date" not in headers:
        raise NotAuthenticated("bad-signature", "only AWS Signature Version 4 is accepted")
    principal = principals.find(scope[0])
    if principal is None:
        raise NotAuthenticated("unknown-key")
    if headers.get("X-Amz-Security-Token", "") != principal.session_token:
        raise NotAuthenticated("bad-token")
    now = datetime.now(UTC)
    if principal.expires is not None and principal.expires < now.timestamp():
        raise NotAuthenticated("expired")
    _check_clock(headers["X-Amz-Date"], now)
    _Verifier(request, headers, principal, region=scope[2], service=scope[3]).check_signature()
    return principal


def _signed_request_headers(request: Recorded) -> dict[str, str]:
    """The headers as sent, with the three that moto's verifier looks up by name spelled as it
    spells them (other SDKs send them lower-case)."""
    canonical = {
        "authorization": "Authorization",
        "x-amz-date": "X-Amz-Date",
        "x-amz-security-token": "X-Amz-Security-Token",
    }
    return {canonical.get(name.lower(), name): value for name, value in request.http_headers.items()}


def _check_clock(stamp: str, now: datetime) -> None:
    try:
        sent = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise NotAuthenticated("bad-signature", f"X-Amz-Date {stamp!r} is not a date") from None
    if abs(now - sent) > MAX_SKEW:
        earliest = (now - MAX_SKEW).strftime("%Y%m%dT%H%M%SZ")
        raise NotAuthenticated(
            "skewed", f"Signature expired: {stamp} is now earlier than {earliest} ({now:%Y%m%dT%H%M%SZ} - 15 min.)"
        )


class _Verifier(IAMRequest):
    """moto's ``IAMRequest`` given the principal directly (its constructor looks the key up
    among moto's IAM users and assumed roles, which the daemon's keys are not)."""

    def __init__(self, request: Recorded, headers: dict[str, str], principal: Principal, region: str, service: str):
        self._method = request.method
        self._path = request.raw_target  # as sent: SigV4 signs the encoded path and query
        self._body = request.body
        self._data: dict[str, str] = {}
        self._headers = headers
        self._region, self._service = region, service
        self._principal = principal

    def _calculate_signature(self) -> str:
        auth = (_CachedS3Auth if self._service == "s3" else _CachedAuth)(
            Credentials(self._principal.access_key_id, self._principal.secret_access_key), self._service, self._region
        )
        request = self._create_aws_request()
        return str(auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request))

    def check_signature(self) -> None:
        sent = self._get_string_between("Signature=", ",", self._headers["Authorization"])
        if not hmac.compare_digest(sent.encode(), self._calculate_signature().encode()):  # in constant time
            raise NotAuthenticated("bad-signature")


_signing_keys: dict[tuple[str, str, str, str], bytes] = {}
_signing_keys_lock = threading.Lock()


def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    """SigV4's derived key, computed once per secret, day, region and service."""
    cache_key = (secret, day, region, service)
    key = _signing_keys.get(cache_key)
    if key is None:
        key = f"AWS4{secret}".encode()
        for part in (day, region, service, "aws4_request"):
            key = hmac.new(key, part.encode(), sha256).digest()
        with _signing_keys_lock:
            if len(_signing_keys) > 1024:  # revoked keys and past days
                _signing_keys.clear()
            _signing_keys[cache_key] = key
    return key


class _CachedKeyMixin:
    credentials: Credentials
    _region_name: str
    _service_name: str

    def signature(self, string_to_sign: str, request: Any) -> str:
        key = _signing_key(
            self.credentials.secret_key, request.context["timestamp"][0:8], self._region_name, self._service_name
        )
        return hmac.new(key, string_to_sign.encode(), sha256).hexdigest()


class _CachedAuth(_CachedKeyMixin, SigV4Auth):
    pass


class _CachedS3Auth(_CachedKeyMixin, S3SigV4Auth):
    pass
