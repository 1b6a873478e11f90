"""``Bashoutter``: the haiku SNS — API Gateway (REST, CORS) → four Lambdas → DynamoDB, and a
public S3 website for the page (textbook ch. 13).

Least privilege: each function may call on its table the one action its handler needs (the
GET function only reads: ``Scan``), and nothing else. The handlers
come from :mod:`introaws.tasks.haiku` as a code asset the deploy engine publishes; the web
page is uploaded by the engine after deploy (no ``BucketDeployment``, which needs a
bootstrapped custom-resource Lambda).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from introaws.stacks.base import item_table, new_stack

HANDLERS_DIR = Path(__file__).resolve().parent.parent / "tasks" / "haiku"
# What each function's handler calls on the table (tasks/haiku/api.py): its only grant.
HANDLER_ACTIONS = {
    "GetHaiku": "dynamodb:Scan",
    "PostHaiku": "dynamodb:PutItem",
    "PatchHaiku": "dynamodb:UpdateItem",
    "DeleteHaiku": "dynamodb:DeleteItem",
}


def build(scope: Construct, stack_name: str) -> cdk.Stack:
    stack = new_stack(scope, stack_name, "haiku", "Bashoutter, a serverless haiku SNS")
    table = item_table(stack)
    code = lambda_.Code.from_asset(str(HANDLERS_DIR), exclude=["__pycache__", "*.pyc"])

    def function(construct_id: str, handler: str, memory: int = 128) -> lambda_.Function:
        return lambda_.Function(
            stack,
            construct_id,
            runtime=lambda_.Runtime.PYTHON_3_12,
            code=code,
            handler=f"api.{handler}",
            memory_size=memory,
            timeout=cdk.Duration.seconds(10),
            environment={"TABLE_NAME": table.table_name},
        )

    get_fn = function("GetHaiku", "get_haiku", memory=512)
    post_fn = function("PostHaiku", "post_haiku")
    patch_fn = function("PatchHaiku", "patch_haiku")
    delete_fn = function("DeleteHaiku", "delete_haiku")
    for fn in (get_fn, post_fn, patch_fn, delete_fn):
        table.grant(fn, HANDLER_ACTIONS[fn.node.id])

    api = apigw.RestApi(
        stack,
        "BashoutterApi",
        cloud_watch_role=False,
        default_cors_preflight_options=apigw.CorsOptions(
            allow_origins=apigw.Cors.ALL_ORIGINS,
            allow_methods=apigw.Cors.ALL_METHODS,
        ),
    )
    # API Gateway's own errors (unknown route, throttling) carry CORS headers too.
    for name, kind in (
        ("Default4xx", apigw.ResponseType.DEFAULT_4_XX),
        ("Default5xx", apigw.ResponseType.DEFAULT_5_XX),
    ):
        api.add_gateway_response(name, type=kind, response_headers={"Access-Control-Allow-Origin": "'*'"})
    haiku = api.root.add_resource("haiku")
    haiku.add_method("GET", apigw.LambdaIntegration(get_fn))
    haiku.add_method("POST", apigw.LambdaIntegration(post_fn))
    item = haiku.add_resource("{item_id}")
    item.add_method("PATCH", apigw.LambdaIntegration(patch_fn))
    item.add_method("DELETE", apigw.LambdaIntegration(delete_fn))

    bucket = s3.Bucket(
        stack,
        "Bucket",
        website_index_document="index.html",
        public_read_access=True,
        # A public website needs the account's public-policy block lifted for this bucket.
        block_public_access=s3.BlockPublicAccess(
            block_public_acls=True,
            ignore_public_acls=True,
            block_public_policy=False,
            restrict_public_buckets=False,
        ),
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    cdk.CfnOutput(stack, "ApiEndpoint", value=api.url)
    cdk.CfnOutput(stack, "WebsiteUrl", value=bucket.bucket_website_url)
    cdk.CfnOutput(stack, "BucketName", value=bucket.bucket_name)
    cdk.CfnOutput(stack, "TableName", value=table.table_name)
    return stack
