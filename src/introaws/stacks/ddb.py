"""``SimpleDynamoDb``: one on-demand table keyed by ``item_id`` (textbook §12.2)."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from introaws.stacks.base import item_table, new_stack


def build(scope: Construct, stack_name: str) -> cdk.Stack:
    stack = new_stack(scope, stack_name, "ddb", "DynamoDB table of random people")
    table = item_table(stack, "SimpleTable")
    cdk.CfnOutput(stack, "TableName", value=table.table_name)
    return stack
