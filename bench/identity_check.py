"""What the local cloud's identity check costs a request, on the haiku API's hot path: a
DynamoDB ``PutItem`` signed by a Lambda function's role, checked by the gate (SigV4, then the
role's policies) in-process on moto, without HTTP. Prints JSON (microseconds per request).

    python bench/identity_check.py [--requests 5000]

Parts: the signature alone (derived signing keys cached; and, for comparison, derived anew
each time as botocore would), the policy decision with the role's parsed policies cached, and
the decision after IAM changed (policies read from moto and parsed again).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def per_request_us(action, count: int) -> float:
    action()  # once first: imports, caches
    started = time.perf_counter()
    for _ in range(count):
        action()
    return round((time.perf_counter() - started) / count * 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()

    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from moto import mock_aws

    from introaws.localcloud.identity import admin, signature
    from introaws.localcloud.identity.actions import operation
    from introaws.localcloud.identity.gate import Gate
    from introaws.localcloud.identity.policies import RolePolicies
    from introaws.localcloud.identity.principals import Principals
    from introaws.localcloud.requests import Recorded

    with mock_aws(), tempfile.TemporaryDirectory() as state:
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="PostHaikuServiceRole", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        table = "arn:aws:dynamodb:ap-northeast-1:123456789012:table/Bashoutter-Table"
        iam.put_role_policy(
            RoleName="PostHaikuServiceRole",
            PolicyName="PostHaikuServiceRoleDefaultPolicy",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": table}],
                }
            ),
        )
        lock = threading.RLock()
        principals = Principals(Path(state), admin.credentials(Path(state)), lock)
        policies = RolePolicies(lock)
        gate = Gate(principals, policies, "enforce")
        issued = principals.issue(role, "Bashoutter-PostHaiku", "bench")
        body = json.dumps(
            {"TableName": "Bashoutter-Table", "Item": {"item_id": {"S": "x" * 32}, "first": {"S": "古池や"}}}
        ).encode()
        sent = AWSRequest(
            method="POST",
            url="http://127.0.0.1:5000/",
            data=body,
            headers={
                "X-Amz-Target": "DynamoDB_20120810.PutItem",
                "Content-Type": "application/x-amz-json-1.0",
                "Host": "127.0.0.1:5000",
            },
        )
        credentials = Credentials(issued.access_key_id, issued.secret_access_key, issued.session_token)
        SigV4Auth(credentials, "dynamodb", "ap-northeast-1").add_auth(sent)
        request = Recorded.from_target("POST", "/", list(sent.headers.items()), body)
        assert gate.check(request) is None, "the role may put the item"
        wanted = operation(request, issued.account)

        def uncached_keys() -> None:
            signature._signing_keys.clear()
            signature.authenticate(request, principals)

        def changed_iam() -> None:
            policies.forget()
            policies.decide(issued.account, "PostHaikuServiceRole", wanted)

        result = {
            "benchmark": "identity_check",
            "request": "dynamodb:PutItem signed by a function's role",
            "us_per_request": {
                "signature_cached_key": per_request_us(
                    lambda: signature.authenticate(request, principals), args.requests
                ),
                "signature_key_derived_each_time": per_request_us(uncached_keys, args.requests),
                "action_and_resource": per_request_us(lambda: operation(request, issued.account), args.requests),
                "policy_decision_cached": per_request_us(
                    lambda: policies.decide(issued.account, "PostHaikuServiceRole", wanted), args.requests
                ),
                "policy_decision_after_iam_changed": per_request_us(changed_iam, args.requests // 10),
                "whole_gate_check": per_request_us(lambda: gate.check(request), args.requests),
            },
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
