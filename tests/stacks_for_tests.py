"""Stacks that exist only to exercise the deploy engine's edges (failure, size)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_logs as logs
from constructs import Construct

from introaws.stacks.base import new_stack


def broken(scope: Construct, stack_name: str) -> cdk.Stack:
    """A table whose key names an attribute it never defines: CloudFormation rejects it."""
    stack = new_stack(scope, stack_name, "testbroken", "fails on purpose")
    table = dynamodb.CfnTable(
        stack,
        "BadTable",
        key_schema=[dynamodb.CfnTable.KeySchemaProperty(attribute_name="missing", key_type="HASH")],
        attribute_definitions=[
            dynamodb.CfnTable.AttributeDefinitionProperty(attribute_name="other", attribute_type="S")
        ],
        billing_mode="PAY_PER_REQUEST",
    )
    cdk.CfnOutput(stack, "TableName", value=table.ref)
    return stack


def large(scope: Construct, stack_name: str, count: int = 120) -> cdk.Stack:
    """Over 51,200 bytes of template: must be deployed through the assets bucket."""
    stack = new_stack(scope, stack_name, "testlarge", "a template too big for TemplateBody")
    for n in range(count):
        logs.LogGroup(
            stack,
            f"PaddingLogGroupWithAVeryLongLogicalName{n:03d}",
            log_group_name=f"/introaws/test/large/{n:03d}/" + "p" * 200,
            retention=logs.RetentionDays.ONE_DAY,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
    cdk.CfnOutput(stack, "Count", value=str(count))
    return stack


def states(scope: Construct, stack_name: str, extra: str = "", bad: str = "") -> cdk.Stack:
    """One log group; ``extra`` adds a second one (a good update), ``bad`` a table that fails
    (a failed create or update), so a test can walk a stack through CloudFormation's states."""
    stack = new_stack(scope, stack_name, "teststates", "walks through stack states")
    logs.LogGroup(stack, "Base", retention=logs.RetentionDays.ONE_DAY, removal_policy=cdk.RemovalPolicy.DESTROY)
    if extra:
        logs.LogGroup(stack, extra, retention=logs.RetentionDays.ONE_DAY, removal_policy=cdk.RemovalPolicy.DESTROY)
    if bad:
        dynamodb.CfnTable(
            stack,
            bad,
            key_schema=[dynamodb.CfnTable.KeySchemaProperty(attribute_name="missing", key_type="HASH")],
            attribute_definitions=[
                dynamodb.CfnTable.AttributeDefinitionProperty(attribute_name="other", attribute_type="S")
            ],
            billing_mode="PAY_PER_REQUEST",
        )
    return stack
