"""The front's check of every AWS API request: who signed it, and may they do it.

Every request but those to the runtime's own endpoints (``/_introaws/``: REST APIs and
websites, public as on AWS; health; the credentials endpoint, which checks its own tokens; the
read-only worker and SSH-endpoint listings, which tell no more than ``ps`` does) must be
signed with a key the daemon knows (:mod:`.signature`); anything else is refused as AWS
refuses it, in the request's protocol, and never reaches moto or the journal. The
administrator may do anything. A workload's request is held against its role's identity
policies (:mod:`.policies`) unless ``INTROAWS_IAM`` says otherwise:

* ``enforce`` (the default): a denied request gets AWS's ``AccessDenied`` error;
* ``soft``: the denial is logged and the request goes through;
* ``off``: workloads' requests are not evaluated (callers are still authenticated).

Each denial is logged (``introaws cloud logs``) with the principal, the action, the resource
and the policies that were held against it, so a learner sees which grant is missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from introaws.localcloud.identity.actions import operation
from introaws.localcloud.identity.mode import Mode
from introaws.localcloud.identity.policies import Decision, RolePolicies
from introaws.localcloud.identity.principals import Principal, Principals
from introaws.localcloud.identity.signature import NotAuthenticated, authenticate
from introaws.localcloud.limits import Refusal
from introaws.localcloud.requests import Recorded

log = logging.getLogger("introaws.localcloud.iam")

# Services whose state holds identity policies: a change there may change a role's policies.
_IAM_STATE = ("iam", "cloudformation")

Protocol = Literal["json", "rest-json", "s3", "ec2", "query"]
_INVALID_TOKEN = "The security token included in the request is invalid."
_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)
# (code, message) of each way authentication fails, by protocol; the status is the protocol's.
_NOT_AUTHENTICATED: dict[str, dict[Protocol, tuple[str, str]]] = {
    "missing": {
        "json": ("MissingAuthenticationTokenException", "Request is missing Authentication Token"),
        "rest-json": ("MissingAuthenticationTokenException", "Request is missing Authentication Token"),
        "s3": ("AccessDenied", "Access Denied"),
        "ec2": ("AuthFailure", "AWS was not able to validate the provided access credentials"),
        "query": ("MissingAuthenticationToken", "Request is missing Authentication Token"),
    },
    "unknown-key": {
        "json": ("UnrecognizedClientException", _INVALID_TOKEN),
        "rest-json": ("UnrecognizedClientException", _INVALID_TOKEN),
        "s3": ("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."),
        "ec2": ("AuthFailure", "AWS was not able to validate the provided access credentials"),
        "query": ("InvalidClientTokenId", _INVALID_TOKEN),
    },
    "bad-token": {
        "json": ("UnrecognizedClientException", _INVALID_TOKEN),
        "rest-json": ("UnrecognizedClientException", _INVALID_TOKEN),
        "s3": ("InvalidToken", "The provided token is malformed or otherwise invalid."),
        "ec2": ("AuthFailure", "AWS was not able to validate the provided access credentials"),
        "query": ("InvalidClientTokenId", _INVALID_TOKEN),
    },
    "expired": {
        "json": ("ExpiredTokenException", "The security token included in the request is expired"),
        "rest-json": ("ExpiredTokenException", "The security token included in the request is expired"),
        "s3": ("ExpiredToken", "The provided token has expired."),
        "ec2": ("RequestExpired", "The security token included in the request is expired"),
        "query": ("ExpiredToken", "The security token included in the request is expired"),
    },
    "skewed": {
        "json": ("InvalidSignatureException", ""),
        "rest-json": ("InvalidSignatureException", ""),
        "s3": ("RequestTimeTooSkewed", ""),
        "ec2": ("RequestExpired", ""),
        "query": ("SignatureDoesNotMatch", ""),
    },
    "bad-signature": {
        "json": ("InvalidSignatureException", _BAD_SIGNATURE),
        "rest-json": ("InvalidSignatureException", _BAD_SIGNATURE),
        "s3": ("SignatureDoesNotMatch", _BAD_SIGNATURE),
        "ec2": ("AuthFailure", "AWS was not able to validate the provided access credentials"),
        "query": ("SignatureDoesNotMatch", _BAD_SIGNATURE),
    },
}
_ACCESS_DENIED: dict[Protocol, str] = {
    "json": "AccessDeniedException",
    "rest-json": "AccessDeniedException",
    "s3": "AccessDenied",
    "ec2": "UnauthorizedOperation",
    "query": "AccessDenied",
}


@dataclass
class Gate:
    principals: Principals
    policies: RolePolicies
    mode: Mode = "enforce"

    def check(self, request: Recorded) -> Refusal | None:
        """AWS's error for a request that may not go on; None lets it through."""
        protocol = _protocol(request)
        try:
            principal = authenticate(request, self.principals)
        except NotAuthenticated as failed:
            code, message = _NOT_AUTHENTICATED[failed.failure][protocol]
            return Refusal(code, message or failed.detail, 401 if protocol == "ec2" else _status(protocol))
        if principal.is_admin:
            return None
        if request.path.startswith("/moto-api"):  # moto's own dashboard and reset
            return Refusal(_ACCESS_DENIED[protocol], "only the local cloud's administrator may use moto's API", 403)
        if self.mode == "off" or principal.role_name is None:
            return None
        wanted = operation(request, principal.account)
        if wanted.action == "sts:GetCallerIdentity":  # allowed whatever the policies say, as on AWS
            return None
        decision = self.policies.decide(principal.account, principal.role_name, wanted)
        if decision.allowed:
            return None
        message = _denial(principal, wanted.action, decision, protocol)
        log.warning(
            "IAM %s: %s (policies evaluated for role %s: %s)",
            "denied" if self.mode == "enforce" else "would deny (INTROAWS_IAM=soft, let through)",
            message,
            principal.role_name,
            ", ".join(decision.evaluated) or "none — the role has no identity policies",
        )
        return Refusal(_ACCESS_DENIED[protocol], message, _status(protocol)) if self.mode == "enforce" else None

    def state_changed(self, request: Recorded) -> None:
        """After moto applied a state-changing request: identity policies may have changed."""
        if request.service in _IAM_STATE:
            self.policies.forget()


def _protocol(request: Recorded) -> Protocol:
    service = request.service
    if service == "s3":
        return "s3"
    if service == "ec2":
        return "ec2"
    if request.headers.get("HTTP_X_AMZ_TARGET"):
        return "json"
    if request.errors_in_json:
        return "rest-json"
    return "query"


def _status(protocol: Protocol) -> int:
    """JSON-protocol services (DynamoDB, Logs, ECS) answer these errors with 400, others 403."""
    return 400 if protocol == "json" else 403


def _denial(principal: Principal, action: str, decision: Decision, protocol: Protocol) -> str:
    why = (
        "with an explicit deny in an identity-based policy"
        if decision.explicit_deny
        else f"because no identity-based policy allows the {action} action"
    )
    text = f"User: {principal.arn} is not authorized to perform: {action} on resource: {decision.resource} {why}"
    return f"You are not authorized to perform this operation. {text}" if protocol == "ec2" else text
