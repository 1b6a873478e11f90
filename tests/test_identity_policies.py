"""A role's identity policies judged as AWS judges them (identity/policies.py, actions.py), on
released moto in-process: moto's IAM holds the roles, moto's statement matcher does the matching."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import boto3
import pytest

from introaws.localcloud.identity.actions import Operation, operation
from introaws.localcloud.identity.policies import RolePolicies
from introaws.localcloud.requests import Recorded

ACCOUNT = "123456789012"
TABLE = f"arn:aws:dynamodb:ap-northeast-1:{ACCOUNT}:table/people"
OTHER_TABLE = f"arn:aws:dynamodb:ap-northeast-1:{ACCOUNT}:table/others"


@pytest.fixture
def iam() -> Iterator[tuple[object, RolePolicies]]:
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("iam", region_name="us-east-1")
        client.create_role(RoleName="worker", AssumeRolePolicyDocument="{}")
        yield client, RolePolicies(threading.RLock())


def allow(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def decide(policies: RolePolicies, action: str, *resources: str) -> bool:
    return policies.decide(ACCOUNT, "worker", Operation(action, resources or None)).allowed


def test_a_role_without_policies_may_do_nothing(iam):
    _, policies = iam
    decision = policies.decide(ACCOUNT, "worker", Operation("dynamodb:GetItem", (TABLE,)))
    assert not decision.allowed and not decision.explicit_deny and decision.evaluated == ()
    assert not policies.decide(ACCOUNT, "no-such-role", Operation("dynamodb:GetItem", (TABLE,))).allowed


def test_actions_and_resources_match_with_wildcards_and_arns(iam):
    client, policies = iam
    client.put_role_policy(
        RoleName="worker",
        PolicyName="read",
        PolicyDocument=allow({"Effect": "Allow", "Action": "dynamodb:Get*", "Resource": TABLE}),
    )
    assert decide(policies, "dynamodb:GetItem", TABLE)
    assert not decide(policies, "dynamodb:PutItem", TABLE)  # another action
    assert not decide(policies, "dynamodb:GetItem", OTHER_TABLE)  # another table
    assert decide(policies, "DynamoDB:getitem", TABLE)  # IAM ignores the case of action names
    assert decide(policies, "dynamodb:GetItem")  # a resource not known here: by the action alone


def test_an_explicit_deny_wins_over_every_allow(iam):
    client, policies = iam
    client.put_role_policy(
        RoleName="worker", PolicyName="all", PolicyDocument=allow({"Effect": "Allow", "Action": "*", "Resource": "*"})
    )
    assert decide(policies, "dynamodb:DeleteTable", TABLE)
    client.put_role_policy(
        RoleName="worker",
        PolicyName="guard",
        PolicyDocument=allow({"Effect": "Deny", "Action": "dynamodb:Delete*", "Resource": TABLE}),
    )
    policies.forget()  # IAM changed (the gate calls it after every IAM or CloudFormation write)
    decision = policies.decide(ACCOUNT, "worker", Operation("dynamodb:DeleteTable", (TABLE,)))
    assert not decision.allowed and decision.explicit_deny
    assert set(decision.evaluated) == {"inline all", "inline guard"}
    assert decide(policies, "dynamodb:DeleteTable", OTHER_TABLE)


def test_attached_managed_policies_count_and_every_resource_must_be_allowed(iam):
    client, policies = iam
    arn = client.create_policy(
        PolicyName="writer",
        PolicyDocument=allow({"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": TABLE}),
    )["Policy"]["Arn"]
    client.attach_role_policy(RoleName="worker", PolicyArn=arn)
    assert decide(policies, "dynamodb:PutItem", TABLE)
    assert not decide(policies, "dynamodb:PutItem", TABLE, OTHER_TABLE)  # a batch write to two tables
    assert policies.decide(ACCOUNT, "worker", Operation("dynamodb:PutItem", (TABLE,))).evaluated == (f"managed {arn}",)


def test_not_resource_and_conditions(iam):
    client, policies = iam
    client.put_role_policy(
        RoleName="worker",
        PolicyName="p",
        PolicyDocument=allow(
            {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"},
            {
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}},
            },
        ),
    )
    assert decide(policies, "s3:GetObject", "arn:aws:s3:::public/a.txt")
    assert not decide(policies, "s3:GetObject", "arn:aws:s3:::secret/a.txt")
    assert not decide(policies, "s3:PutObject", "arn:aws:s3:::public/a.txt")  # its condition cannot hold here


def test_a_permissions_boundary_must_allow_too(iam):
    client, policies = iam
    client.put_role_policy(
        RoleName="worker", PolicyName="all", PolicyDocument=allow({"Effect": "Allow", "Action": "*", "Resource": "*"})
    )
    boundary = client.create_policy(
        PolicyName="only-dynamodb",
        PolicyDocument=allow({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}),
    )["Policy"]["Arn"]
    client.put_role_permissions_boundary(RoleName="worker", PermissionsBoundary=boundary)
    assert decide(policies, "dynamodb:PutItem", TABLE)
    assert not decide(policies, "s3:PutObject", "arn:aws:s3:::b/k")


def signed(
    method: str, target: str, service: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> Recorded:
    """A request as the listener records it, signed (with any key) for ``service``."""
    sent = {
        "Host": "127.0.0.1:1",
        "Authorization": f"AWS4-HMAC-SHA256 Credential=AKIAX/20260101/ap-northeast-1/{service}/aws4_request, "
        "SignedHeaders=host, Signature=0",
        **(headers or {}),
    }
    return Recorded.from_target(method, target, list(sent.items()), body)


@pytest.mark.parametrize(
    ("request_", "action", "resources"),
    [
        (
            signed("POST", "/", "dynamodb", {"X-Amz-Target": "DynamoDB_20120810.PutItem"}, b'{"TableName": "people"}'),
            "dynamodb:PutItem",
            (TABLE,),
        ),
        (
            signed(
                "POST",
                "/",
                "dynamodb",
                {"X-Amz-Target": "DynamoDB_20120810.BatchWriteItem"},
                b'{"RequestItems": {"people": [], "others": []}}',
            ),
            "dynamodb:BatchWriteItem",
            (TABLE, OTHER_TABLE),
        ),
        (signed("PUT", "/bucket/sweep/a%20b.json", "s3"), "s3:PutObject", ("arn:aws:s3:::bucket/sweep/a b.json",)),
        (signed("GET", "/bucket?list-type=2&prefix=s", "s3"), "s3:ListBucket", ("arn:aws:s3:::bucket",)),
        (signed("HEAD", "/bucket/k", "s3"), "s3:GetObject", ("arn:aws:s3:::bucket/k",)),
        (signed("GET", "/", "s3"), "s3:ListAllMyBuckets", ("*",)),
        (
            signed("POST", "/2015-03-31/functions/fn/invocations", "lambda"),
            "lambda:InvokeFunction",
            (f"arn:aws:lambda:ap-northeast-1:{ACCOUNT}:function:fn",),
        ),
        (
            signed(
                "POST",
                "/",
                "logs",
                {"X-Amz-Target": "Logs_20140328.PutLogEvents"},
                b'{"logGroupName": "g", "logStreamName": "s"}',
            ),
            "logs:PutLogEvents",
            (f"arn:aws:logs:ap-northeast-1:{ACCOUNT}:log-group:g:log-stream:s",),
        ),
        (
            signed(
                "POST",
                "/",
                "sts",
                {"Content-Type": "application/x-www-form-urlencoded"},
                b"Action=GetCallerIdentity&Version=2011-06-15",
            ),
            "sts:GetCallerIdentity",
            None,
        ),
        (
            signed("GET", "/restapis", "apigateway"),
            "apigateway:GET",
            ("arn:aws:apigateway:ap-northeast-1::/restapis",),
        ),
    ],
)
def test_each_request_is_named_as_iam_names_it(request_, action, resources):
    assert operation(request_, ACCOUNT) == Operation(action, resources)
