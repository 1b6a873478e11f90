"""``SimpleDynamoDb``: one on-demand table keyed by ``item_id`` (textbook 12.2)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from introaws.stacks.base import new_stack


def build(scope: Construct, stack_name: str) -> cdk.Stack:
    stack = new_stack(scope, stack_name, "ddb", "DynamoDB table of random people")
    table = dynamodb.Table(
        stack,
        "SimpleTable",
        partition_key=dynamodb.Attribute(name="item_id", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    cdk.CfnOutput(stack, "TableName", value=table.table_name)
    return stack
