"""The local cloud is a cloud whoever the client is: ``introaws --cloud aws`` pointed at it through
``AWS_ENDPOINT_URL`` (the AWS path, which knows nothing of the local cloud) deploys the same CDK
templates and gets working stacks, because the daemon adapts templates itself."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from conftest import cli_env, run_cli, target_for


@pytest.fixture(scope="module")
def cloud(module_home: Path):
    """A local cloud of this module's own (it takes down hands-ons the session's cloud shares)."""
    return target_for(module_home)


@pytest.fixture(scope="module")
def aws(module_home: Path, cloud, tmp_path_factory: pytest.TempPathFactory):
    """``introaws --cloud aws ARGS`` with the AWS SDK's own settings aimed at the module's cloud."""
    home = module_home
    endpoint = cloud.endpoint_url
    nowhere = tmp_path_factory.mktemp("aws-config") / "none"  # no profile of this machine leaks in
    env = cli_env(
        home,
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="any-secret-for-now",
        AWS_DEFAULT_REGION="ap-northeast-1",
        AWS_CONFIG_FILE=str(nowhere),
        AWS_SHARED_CREDENTIALS_FILE=str(nowhere),
    )

    def call(*args: str):
        result = run_cli(home, "--cloud", "aws", *args, env=env)
        assert result.code == 0, f"{args}: {result.err}"
        return result

    return call


def test_ddb_hands_on_on_the_aws_path(aws):
    aws("ddb", "up", "--yes")
    try:
        aws("ddb", "write", "100")
        found = aws("ddb", "search", "--under-age", "5", "--json").json()
        assert found and all(int(item["age"]) <= 5 for item in found)
    finally:
        aws("ddb", "down", "--yes")


def test_batch_stack_on_the_aws_path(aws, cloud):
    """SimpleBatch's ECR repository, Batch names and service role are what moto could not take
    from the CDK template as synthesized; every resource comes back with ids and type."""
    aws("batch", "up", "--yes")
    try:
        resources = cloud.client("cloudformation").describe_stack_resources(StackName="SimpleBatch")
        assert all(
            r["LogicalResourceId"] and r["PhysicalResourceId"] and r["ResourceType"]
            for r in resources["StackResources"]
        )
        policies = [r for r in resources["StackResources"] if r["ResourceType"] == "AWS::S3::BucketPolicy"]
        assert len(policies) == 1
        status = aws("batch", "status", "--json").json()
        assert status["status"] == "CREATE_COMPLETE"
        assert policies[0]["PhysicalResourceId"] == status["outputs"]["BucketName"]
    finally:
        aws("batch", "down", "--yes")


def test_haiku_on_the_aws_path_answers_at_its_api_endpoint_output(aws):
    up = aws("haiku", "up", "--yes", "--json").json()
    try:
        endpoint = up["outputs"]["ApiEndpoint"]
        with urllib.request.urlopen(endpoint + "haiku", timeout=30) as answer:
            assert answer.status == 200 and isinstance(json.loads(answer.read()), list)
        posted = aws("haiku", "post", "furu ike ya", "kawazu tobikomu", "mizu no oto", "-u", "ann", "--json").json()
        listed = aws("haiku", "list", "--json").json()
        assert posted["item_id"] in {h["item_id"] for h in listed}
    finally:
        aws("haiku", "down", "--yes")


def test_a_plain_boto3_client_deploys_a_cdk_template(cloud, module_home, monkeypatch):
    """No introaws in the loop: the synthesized template as it is, through a TemplateURL."""
    from introaws.deploy import synth
    from introaws.stacks import HANDS_ONS

    monkeypatch.setenv("INTROAWS_HOME", str(module_home))  # the template cache the CLI filled
    template = synth.synthesize(HANDS_ONS["batch"], {}).template
    bucket = "any-client-templates"
    s3, cfn = cloud.client("s3"), cloud.client("cloudformation")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": cloud.region})
    s3.put_object(Bucket=bucket, Key="batch.json", Body=json.dumps(template).encode())
    try:
        cfn.create_stack(
            StackName="AnyClientBatch",
            TemplateURL=f"https://{bucket}.s3.{cloud.region}.amazonaws.com/batch.json",
            Capabilities=["CAPABILITY_IAM"],
        )
        stack = cfn.describe_stacks(StackName="AnyClientBatch")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        queue = cloud.client("batch").describe_job_queues(jobQueues=[outputs["JobQueueArn"]])["jobQueues"]
        assert queue[0]["state"] == "ENABLED"
        assert json.loads(json.dumps(cfn.get_template(StackName="AnyClientBatch")["TemplateBody"])) == template
    finally:
        cfn.delete_stack(StackName="AnyClientBatch")
        s3.delete_object(Bucket=bucket, Key="batch.json")
        s3.delete_bucket(Bucket=bucket)
