"""``SimpleS3``: one private bucket, destroyed with the stack (textbook §3.5.3).

No ``auto_delete_objects``: that would need a custom-resource Lambda and a bootstrap; the
deploy engine empties buckets itself before deleting the stack.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from introaws.stacks.base import new_stack


def build(scope: Construct, stack_name: str) -> cdk.Stack:
    stack = new_stack(scope, stack_name, "s3", "a bucket to upload to and download from")
    bucket = s3.Bucket(
        stack,
        "Bucket",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    cdk.CfnOutput(stack, "BucketName", value=bucket.bucket_name)
    return stack
