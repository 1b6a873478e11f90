"""What every introaws stack shares: the synthesizer that needs no ``cdk bootstrap``, and tags."""

from __future__ import annotations

import aws_cdk as cdk
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
