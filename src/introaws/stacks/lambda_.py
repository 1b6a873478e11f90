"""``SimpleLambda``: one inline Python function that hands out a starter Pokémon after 2–5 s
(textbook §12.1); 128 MB, 10 s timeout, failed asynchronous invocations go to a dead-letter queue.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from introaws.stacks.base import new_stack

HANDLER_CODE = """\
import random
import time

STARTERS = ("Charmander", "Bulbasaur", "Squirtle")


def handler(event, context):
    time.sleep(random.uniform(2, 5))
    return "Congratulations! You are given " + random.choice(STARTERS)
"""


def build(scope: Construct, stack_name: str) -> cdk.Stack:
    stack = new_stack(scope, stack_name, "lambda", "a Lambda function that sleeps and answers")
    function = lambda_.Function(
        stack,
        "LambdaHandler",
        runtime=lambda_.Runtime.PYTHON_3_12,
        code=lambda_.Code.from_inline(HANDLER_CODE),
        handler="index.handler",
        memory_size=128,
        timeout=cdk.Duration.seconds(10),
        dead_letter_queue_enabled=True,
    )
    cdk.CfnOutput(stack, "FunctionName", value=function.function_name)
    return stack
