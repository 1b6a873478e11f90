"""The local cloud is a cloud whoever the client is: ``introaws --cloud aws`` pointed at it through
``AWS_ENDPOINT_URL`` deploys the same CDK templates and gets working stacks, because the daemon
adapts templates itself. That is the AWS path of every command, run here: AWS's cost prompts,
prices of the region, quota checks and preflights, with the keys any client gets (``aws_env``).
What only AWS answers is the local cloud's stand-in (the vCPU quotas) or absent (the Pricing
API: prices come from the built-in table of the region).
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from conftest import aws_env, run_cli, target_for
from introaws import pricing, quotas
from introaws.target import Target
from introaws.workflows import qa
from introaws.workflows.batch import STATES

REGION = "ap-northeast-1"
QA_IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"


@pytest.fixture(scope="module")
def cloud(module_home: Path):
    """A local cloud of this module's own (it takes down hands-ons the session's cloud shares)."""
    return target_for(module_home)


@pytest.fixture(scope="module")
def aws(module_home: Path, cloud):
    """``introaws --cloud aws ARGS`` with the AWS SDK's own settings aimed at the module's cloud
    (and ``env``'s variables); ``ok=False`` for a call that is meant to fail."""
    base = aws_env(module_home)

    def call(*args: str, ok: bool = True, env: dict[str, str] | None = None):
        result = run_cli(module_home, "--cloud", "aws", *args, env={**base, **(env or {})})
        if ok:
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


def test_batch_on_the_aws_path_refuses_a_sweep_before_submitting_when_the_image_is_missing(aws, cloud):
    """SimpleBatch's ECR repository, Batch names and service role are what moto could not take
    from the CDK template as synthesized; every resource comes back with ids and type. A sweep
    on it is refused before any job is submitted: its image is not in ECR yet."""
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

        refused = aws("batch", "sweep", "--lr", "0.1", "--momentum", "0.5", ok=False)
        assert refused.code == 3, refused.err
        errors = [line for line in refused.err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "introaws batch push" in errors[0], refused.err
        assert "Traceback" not in refused.err
        queue = status["outputs"]["JobQueueArn"]
        batch = cloud.client("batch")
        assert [j for state in STATES for j in batch.list_jobs(jobQueue=queue, jobStatus=state)["jobSummaryList"]] == []
    finally:
        aws("batch", "down", "--yes")


@pytest.mark.parametrize(("hands_on", "options"), [("s3", ()), ("lambda", ()), ("qa", ("--image", QA_IMAGE))])
def test_up_status_down_on_the_aws_path(aws, cloud, hands_on, options):
    up = aws(hands_on, "up", "--yes", *options, "--json").json()
    try:
        assert up["status"] == "CREATE_COMPLETE" and up["outputs"]
        status = aws(hands_on, "status", "--json").json()
        assert (status["status"], status["outputs"]) == ("CREATE_COMPLETE", up["outputs"])
        if hands_on == "qa":  # the image given runs, nothing is built (no Docker here)
            definition = cloud.client("ecs").describe_task_definition(taskDefinition=up["outputs"]["TaskDefinitionArn"])
            assert [c["image"] for c in definition["taskDefinition"]["containerDefinitions"]] == [QA_IMAGE]
    finally:
        down = aws(hands_on, "down", "--yes", "--json").json()
    assert down == {"stack": up["stack"], "destroyed": True, "deleting": False}
    assert aws(hands_on, "status", "--json").json()["status"] is None


def test_qa_up_on_the_aws_path_builds_and_pushes_its_image(aws, cloud, docker_engine):
    """Without --image, ``qa up`` builds containers/qa for linux/amd64 with the model baked in
    and pushes it to the stack's repository (Docker here: the stand-in engine)."""
    engine, host = docker_engine
    up = aws("qa", "up", "--yes", "--json", env={"DOCKER_HOST": host}).json()
    try:
        (build,) = engine.builds
        repository = up["outputs"]["RepositoryUri"]
        assert build.query["platform"] == "linux/amd64" and build.query["t"] == f"{repository}:latest"
        assert build.build_args == {"QA_MODEL": qa.DEFAULT_MODEL}
        assert "introaws/tasks/qa.py" in build.files and not any(f.startswith("introaws/cli") for f in build.files)
        assert engine.pushes
        definition = cloud.client("ecs").describe_task_definition(taskDefinition=up["outputs"]["TaskDefinitionArn"])
        assert [c["image"].split(":")[0] for c in definition["taskDefinition"]["containerDefinitions"]] == [repository]
    finally:
        aws("qa", "down", "--yes")


def test_instances_on_the_aws_path_are_priced_in_the_stacks_region(aws, monkeypatch):
    """``ec2`` and ``dnn`` ask before creating what costs money, with the region's price; the
    GPU box's quota is checked first; ``status`` lists the stacks with their $/hour there
    (the Pricing API does not answer here, so the built-in table does)."""
    monkeypatch.setenv("INTROAWS_PRICES", "table")  # the expected prices, computed in this process
    hourly = {
        "ec2": pricing.idle_hourly(Target("aws", REGION), "ec2", "t2.micro"),
        "dnn": pricing.idle_hourly(Target("aws", REGION), "dnn", "g4dn.xlarge"),
    }
    assert all(hourly.values())
    aws("keypair", "create", "reader")
    access = ("--key", "reader", "--ssh-from", "127.0.0.1/32")
    try:
        for hands_on in ("ec2", "dnn"):
            # The box's public address is a stand-in here: putting the notebook there gives up at once.
            up = aws(hands_on, "up", "--yes", *access, env={"INTROAWS_SSH_TIMEOUT_S": "0"})
            assert f"about ${hourly[hands_on]:.3f}/hour in {REGION}" in up.err, up.err
        assert "checking your vCPU quota" in up.err
        assert "could not reach the box to put the notebook there" in up.err
        rows = {row["hands_on"]: row for row in aws("status", "--json").json()}
        assert {name: (rows[name]["region"], rows[name]["hourly_usd"]) for name in hourly} == {
            name: (REGION, round(price, 4)) for name, price in hourly.items()
        }
        for hands_on in hourly:
            instance = aws(hands_on, "status", "--json").json()["instance"]
            assert (instance["state"], instance["hourly_usd"]) == ("running", round(hourly[hands_on], 4))
    finally:
        aws("dnn", "down", "--yes")
        aws("ec2", "down", "--yes")
        aws("keypair", "delete", "reader", "--yes")
    assert aws("status", "--json").json() == []


def test_the_local_cloud_answers_the_vcpu_quotas_moto_does_not_know(cloud):
    client = cloud.client("service-quotas")
    for service, code in (("ec2", quotas.ON_DEMAND["g"]), ("fargate", quotas.FARGATE_ON_DEMAND_VCPUS)):
        quota = client.get_service_quota(ServiceCode=service, QuotaCode=code)["Quota"]
        assert quota["QuotaCode"] == code and quota["Value"] >= 4  # a g4dn.xlarge's vCPUs
    with pytest.raises(client.exceptions.NoSuchResourceException):
        client.get_service_quota(ServiceCode="ec2", QuotaCode="L-00000000")


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
