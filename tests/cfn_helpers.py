"""Small CloudFormation templates and a deploy-by-change-set helper, for tests that talk to the
local cloud as any CloudFormation client would (plain boto3, no introaws engine)."""

from __future__ import annotations

import json
import time


def deploy_template(cfn, stack: str, resources: dict, outputs: dict | None = None) -> dict:
    name = f"cs{int(time.time() * 1000)}"
    cfn.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType="CREATE",
        TemplateBody=json.dumps({"Resources": resources, "Outputs": outputs or {}}),
        Capabilities=["CAPABILITY_IAM"],
    )
    cfn.get_waiter("change_set_create_complete").wait(StackName=stack, ChangeSetName=name)
    cfn.execute_change_set(StackName=stack, ChangeSetName=name)  # a failing stack still answers 200
    return cfn.describe_stacks(StackName=stack)["Stacks"][0]


TABLE = {
    "Type": "AWS::DynamoDB::Table",
    "Properties": {
        "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    },
}
ROLE = {
    "Type": "AWS::IAM::Role",
    "Properties": {
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    },
}


def slow_api_resources() -> dict:
    """A REST API whose GET /slow runs a function that sleeps ``?s=`` seconds."""
    code = (
        "import time\n"
        "def handler(event, context):\n"
        "    time.sleep(float((event.get('queryStringParameters') or {}).get('s', 0)))\n"
        "    return {'statusCode': 200, 'body': 'done'}\n"
    )
    uri = "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Function.Arn}/invocations"
    return {
        "Role": ROLE,
        "Function": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": code},
                "Timeout": 60,
            },
        },
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "slow"}},
        "Slow": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                "PathPart": "slow",
            },
        },
        "Get": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "ResourceId": {"Ref": "Slow"},
                "HttpMethod": "GET",
                "AuthorizationType": "NONE",
                "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": {"Fn::Sub": uri}},
            },
        },
        "Deployment": {
            "Type": "AWS::ApiGateway::Deployment",
            "DependsOn": ["Get"],
            "Properties": {"RestApiId": {"Ref": "Api"}, "StageName": "prod"},
        },
    }
