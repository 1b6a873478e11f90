"""What every introaws stack shares: the synthesizer that needs no ``cdk bootstrap``, tags, the
item table, and the one-zone network arguments."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from introaws.stacks import ASSETS_BUCKET, ASSETS_PREFIX, TAG_KEY


def new_stack(scope: Construct, stack_name: str, hands_on: str, description: str) -> cdk.Stack:
    stack = cdk.Stack(
        scope,
        stack_name,
        description=f"introaws hands-on '{hands_on}': {description}",
        synthesizer=cdk.DefaultStackSynthesizer(
            file_assets_bucket_name=ASSETS_BUCKET,
            bucket_prefix=ASSETS_PREFIX,
            generate_bootstrap_version_rule=False,
        ),
        analytics_reporting=False,
    )
    cdk.Tags.of(stack).add(TAG_KEY, hands_on)
    return stack


def item_table(stack: cdk.Stack, construct_id: str = "Table") -> dynamodb.Table:
    """The course's tables: keyed by the string ``item_id``, paid per request, gone with the stack."""
    return dynamodb.Table(
        stack,
        construct_id,
        partition_key=dynamodb.Attribute(name="item_id", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )


def one_zone(zone: str | None) -> dict[str, Any]:
    """An ``ec2.Vpc``'s zone arguments: the given zone (one that offers the stack's instance type,
    chosen at ``up``), else the region's first."""
    return {"availability_zones": [zone]} if zone else {"max_azs": 1}
