"""Checks on AWS before anything that costs money or fails later: a zone that offers the
instance type, the newest Deep Learning AMI, S3 Block Public Access for the haiku page, the
assets bucket's owner, the Fargate quota and RunTask's retries.

The local cloud answers what it can (zones and offerings, S3); botocore's Stubber on the real
clients answers what only AWS does (quotas, SSM's public parameters, s3control, throttling).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from botocore.stub import ANY, Stubber

from conftest import aws_keys, target_for
from introaws import quotas
from introaws.deploy import assets, synth
from introaws.deploy.synth import FileAsset
from introaws.errors import Conflict, IntroawsError, UsageError
from introaws.stacks import ASSETS_BUCKET, HANDS_ONS
from introaws.target import Target
from introaws.workflows import dlami, haiku, placement, qa

ACCOUNT = "111122223333"
REGION = "ap-northeast-1"


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return Target("aws", REGION, poll_s=0)


def _identity(target: Target) -> Stubber:
    sts = Stubber(target.client("sts"))
    sts.add_response("get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/reader"})
    return sts


# --- a zone that offers the instance type ------------------------------------------------------


def test_the_local_cloud_names_a_zone_of_its_region_that_offers_the_type(target):
    zone = placement.zone_for(target, "g4dn.xlarge")
    assert zone.startswith(target.region)
    with pytest.raises(UsageError) as unknown:
        placement.zone_for(target, "g4dn.nonexistent")
    assert "not offered in any availability zone" in unknown.value.message


def test_the_first_zone_that_offers_the_type_is_chosen_not_the_first_zone(aws):
    ec2 = Stubber(aws.client("ec2"))
    ec2.add_response(
        "describe_availability_zones",
        {"AvailabilityZones": [{"ZoneName": f"{REGION}{z}"} for z in "acd"]},
        {
            "Filters": [
                {"Name": "zone-type", "Values": ["availability-zone"]},
                {"Name": "state", "Values": ["available"]},
            ]
        },
    )
    offer = {"InstanceType": "g4dn.xlarge", "LocationType": "availability-zone"}
    ec2.add_response(
        "describe_instance_type_offerings",
        {"InstanceTypeOfferings": [{**offer, "Location": f"{REGION}-tpe-1a"}], "NextToken": "more"},
        {
            "LocationType": "availability-zone",
            "Filters": [{"Name": "instance-type", "Values": ["g4dn.xlarge"]}],
        },
    )
    ec2.add_response(
        "describe_instance_type_offerings",
        {"InstanceTypeOfferings": [{**offer, "Location": f"{REGION}d"}, {**offer, "Location": f"{REGION}c"}]},
        {
            "LocationType": "availability-zone",
            "Filters": [{"Name": "instance-type", "Values": ["g4dn.xlarge"]}],
            "NextToken": "more",
        },
    )
    seen = []
    with ec2:
        assert placement.zone_for(aws, "g4dn.xlarge", seen.append) == f"{REGION}c"  # not a, not the Local Zone
    assert f"offered in {REGION}c, {REGION}d" in seen[0].message


def test_the_zone_and_the_ami_parameter_reach_the_templates(home, monkeypatch):
    monkeypatch.setenv("INTROAWS_HOME", str(home))
    parameter = f"{dlami.PATH}/oss-nvidia-driver-gpu-pytorch-9.9-amazon-linux-2023/latest/ami-id"
    dnn = synth.synthesize(
        HANDS_ONS["dnn"],
        {"key_name": "k", "ssh_from": "203.0.113.7/32", "zone": f"{REGION}c", "ami_parameter": parameter},
    ).template
    batch = synth.synthesize(HANDS_ONS["batch"], {"instance_type": "g4dn.xlarge", "zone": f"{REGION}d"}).template
    for template, zone in ((dnn, f"{REGION}c"), (batch, f"{REGION}d")):
        subnets = [r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::Subnet"]
        assert [s["Properties"]["AvailabilityZone"] for s in subnets] == [zone]
    assert parameter in [p.get("Default") for p in dnn["Parameters"].values()]


# --- the newest PyTorch Deep Learning AMI --------------------------------------------------------


def _ami(flavour: str) -> dict:
    return {"Name": f"{dlami.PATH}/{flavour}/latest/ami-id", "Type": "String", "Value": "ami-0123456789abcdef0"}


def test_the_newest_pytorch_dlami_parameter_is_chosen_by_version(aws):
    ssm = Stubber(aws.client("ssm"))
    request = {"Path": dlami.PATH, "Recursive": True}
    ssm.add_response(
        "get_parameters_by_path",
        {
            "Parameters": [
                _ami("oss-nvidia-driver-gpu-pytorch-2.7-amazon-linux-2023"),
                _ami("oss-nvidia-driver-gpu-tensorflow-2.18-amazon-linux-2023"),
            ],
            "NextToken": "more",
        },
        request,
    )
    ssm.add_response(
        "get_parameters_by_path",
        {
            "Parameters": [
                _ami("oss-nvidia-driver-gpu-pytorch-2.10-amazon-linux-2023"),  # newer than 2.7, though "2.1" < "2.7"
                _ami("oss-nvidia-driver-gpu-pytorch-2.9-ubuntu-22.04"),
                _ami("base-oss-nvidia-driver-gpu-amazon-linux-2023"),
            ]
        },
        {**request, "NextToken": "more"},
    )
    with ssm:
        chosen = dlami.newest_parameter(aws)
    assert chosen == f"{dlami.PATH}/oss-nvidia-driver-gpu-pytorch-2.10-amazon-linux-2023/latest/ami-id"


def test_no_dlami_answer_leaves_the_pinned_fallback(aws, target):
    ssm = Stubber(aws.client("ssm"))
    ssm.add_client_error("get_parameters_by_path", "AccessDeniedException", "no")
    seen = []
    with ssm:
        assert dlami.newest_parameter(aws, seen.append) is None
    assert "AccessDeniedException" in seen[0].message
    assert dlami.newest_parameter(target) is None  # the local cloud publishes no DLAMI parameters


# --- S3 Block Public Access before the haiku web page -------------------------------------------


def _block(target: Target, config: dict | None, error: str | None = None) -> Stubber:
    control = Stubber(target.client("s3control", optional=True))
    if error:
        control.add_client_error("get_public_access_block", error, expected_params={"AccountId": ACCOUNT})
    else:
        control.add_response(
            "get_public_access_block", {"PublicAccessBlockConfiguration": config}, {"AccountId": ACCOUNT}
        )
    return control


def test_account_block_public_access_refuses_haiku_up_before_deploying(aws):
    config = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    with _identity(aws), _block(aws, config), pytest.raises(Conflict) as refused:
        haiku.up(aws)  # refused before any CloudFormation request (no stub for one exists)
    assert "BlockPublicPolicy and RestrictPublicBuckets" in refused.value.message
    assert "nothing was deployed" in refused.value.message
    assert f"--account-id {ACCOUNT}" in refused.value.hint
    assert "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=false,RestrictPublicBuckets=false" in (
        refused.value.hint
    )


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False}, None),
        (None, "NoSuchPublicAccessBlockConfiguration"),
        (None, "AccessDenied"),
    ],
)
def test_an_account_that_allows_public_policies_passes(aws, config, error):
    seen = []
    with _identity(aws), _block(aws, config, error):
        haiku.check_public_website_allowed(aws, seen.append)
    assert [e.kind for e in seen] == (["warning"] if error == "AccessDenied" else [])


def test_an_endpoint_without_s3control_is_a_warning_not_a_crash(home, target, monkeypatch):
    """``--cloud aws`` at the local cloud's endpoint: s3control's account-prefixed host does not
    resolve there; haiku up must go on (with a warning), as on an account that hides the setting."""
    for key, value in aws_keys(home).items():
        monkeypatch.setenv(key, value)
    at_local = Target("aws", REGION, endpoint_url=target.endpoint_url)
    seen = []
    haiku.check_public_website_allowed(at_local, seen.append)
    assert [e.kind for e in seen] == ["warning"] and "could not read" in seen[0].message


# --- the assets bucket is asked for with its owner --------------------------------------------


def test_every_assets_bucket_request_names_the_expected_owner(home, tmp_path):
    target = target_for(home)
    calls: list[tuple[str, dict]] = []
    target.client("s3").meta.events.register(
        "before-parameter-build.s3", lambda params, model, **_: calls.append((model.name, dict(params)))
    )
    source = tmp_path / "page.html"
    source.write_text("<p>asset</p>")
    key = f"assets/owner-check-{datetime.now(UTC).timestamp()}.html"
    assets.publish(target, [FileAsset(source, "file", ASSETS_BUCKET, key)])
    assets.publish(target, [FileAsset(source, "file", ASSETS_BUCKET, key)])  # present: only asked about
    assets.upload_template(target, ASSETS_BUCKET, "templates/owner-check.json", b"{}")
    operations = {name for name, _ in calls}
    assert {"HeadBucket", "HeadObject", "PutObject"} <= operations
    assert all(
        params.get("ExpectedBucketOwner") == target.account_id for name, params in calls if name != "CreateBucket"
    )


def test_an_assets_bucket_of_another_account_is_refused(aws):
    s3 = Stubber(aws.client("s3"))
    bucket = f"introaws-assets-{ACCOUNT}-{REGION}"
    s3.add_client_error(
        "head_bucket", "403", "Forbidden", 403, expected_params={"Bucket": bucket, "ExpectedBucketOwner": ACCOUNT}
    )
    with _identity(aws), s3, pytest.raises(Conflict) as refused:
        assets.ensure_bucket(aws, bucket)
    assert bucket in refused.value.message and f"not account {ACCOUNT}'s" in refused.value.message


# --- QA on Fargate: the vCPU quota, RunTask's capacity and throttling, a task not yet visible ----

WHERE = qa.Deployment(
    "qa-cluster", "arn:aws:ecs:ap-northeast-1:1:task-definition/qa:1", "qa", ["subnet-1"], "sg-1", "t"
)


def _quota(target: Target, value: float) -> Stubber:
    quotas = Stubber(target.client("service-quotas"))
    quotas.add_client_error(
        "get_service_quota",
        "NoSuchResourceException",
        expected_params={"ServiceCode": "fargate", "QuotaCode": "L-3032A538"},
    )
    quotas.add_response(
        "get_aws_default_service_quota",
        {"Quota": {"Value": value, "QuotaName": "Fargate On-Demand vCPU resource count"}},
        {"ServiceCode": "fargate", "QuotaCode": "L-3032A538"},
    )
    return quotas


def _task_definition(ecs: Stubber, cpu: str = "1024") -> None:
    ecs.add_response(
        "describe_task_definition",
        {"taskDefinition": {"cpu": cpu, "memory": "4096"}},
        {"taskDefinition": WHERE.task_definition},
    )


@pytest.mark.parametrize(("quota", "wanted", "expected"), [(6.0, 9, 6), (6.0, 4, 4), (0.0, 9, 1)])
def test_default_concurrency_is_what_the_fargate_quota_holds(aws, quota, wanted, expected):
    ecs = Stubber(aws.client("ecs"))
    _task_definition(ecs)
    seen = []
    with ecs, _quota(aws, quota):
        assert qa.default_concurrency(aws, WHERE, wanted, seen.append) == expected
    assert bool(seen) == (expected < wanted)
    if seen:
        assert "L-3032A538" in seen[0].message and f"{quota:g} vCPUs" in seen[0].message


def test_the_local_cloud_has_no_fargate_quota(target):
    assert qa.default_concurrency(target, WHERE, 9) == 9


TASK = {"taskArn": "arn:aws:ecs:ap-northeast-1:1:task/qa-cluster/abc", "lastStatus": "PROVISIONING"}
NO_CAPACITY = "Capacity is unavailable at this time. Please try again later or in a different availability zone"


def _run_task(ecs: Stubber, response: dict | None = None, error: str | None = None) -> None:
    if error:
        ecs.add_client_error("run_task", error, "Rate exceeded")
    else:
        ecs.add_response(
            "run_task",
            response,
            {k: ANY for k in ("cluster", "taskDefinition", "launchType", "count", "networkConfiguration", "overrides")},
        )


def test_run_task_is_retried_through_throttling_and_missing_capacity(aws):
    ecs = Stubber(aws.client("ecs"))
    _run_task(ecs, error="ThrottlingException")
    _run_task(ecs, {"tasks": [], "failures": [{"reason": NO_CAPACITY}]})
    _run_task(ecs, {"tasks": [TASK], "failures": []})
    with ecs:
        task, item_id = qa.submit(aws, WHERE, "Tokyo is the capital of Japan.", "What is the capital?")
    assert task["taskArn"] == TASK["taskArn"] and item_id
    ecs.assert_no_pending_responses()


def test_run_task_failures_that_are_not_capacity_fail_at_once(aws):
    ecs = Stubber(aws.client("ecs"))
    _run_task(ecs, {"tasks": [], "failures": [{"reason": "ACCESS_DENIED"}]})
    with ecs, pytest.raises(IntroawsError) as failed:
        qa.submit(aws, WHERE, "context", "question")
    assert "ACCESS_DENIED" in failed.value.message


def test_capacity_that_never_comes_fails_after_the_last_try(aws):
    ecs = Stubber(aws.client("ecs"))
    for _ in range(qa.RUN_TASK_TRIES):
        _run_task(ecs, {"tasks": [], "failures": [{"reason": NO_CAPACITY}]})
    with ecs, pytest.raises(IntroawsError) as failed:
        qa.submit(aws, WHERE, "context", "question")
    assert "Capacity is unavailable" in failed.value.message
    ecs.assert_no_pending_responses()


def test_a_task_not_yet_in_describe_tasks_is_waited_for(aws):
    outputs = {
        "ClusterName": WHERE.cluster,
        "TaskDefinitionArn": WHERE.task_definition,
        "ContainerName": "qa",
        "SubnetIds": "subnet-1",
        "SecurityGroupId": "sg-1",
        "TableName": "t",
    }
    cfn = Stubber(aws.client("cloudformation"))
    for _ in range(2):  # the deployment is read for the task, and for its log
        cfn.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "EcsClusterQaBot",
                        "StackStatus": "CREATE_COMPLETE",
                        "CreationTime": datetime.now(UTC),
                        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                    }
                ]
            },
            {"StackName": "EcsClusterQaBot"},
        )
    ecs = Stubber(aws.client("ecs"))
    _run_task(ecs, {"tasks": [TASK], "failures": []})
    for _ in range(2):  # DescribeTasks does not know it yet
        ecs.add_response(
            "describe_tasks",
            {"tasks": [], "failures": [{"arn": TASK["taskArn"], "reason": "MISSING"}]},
            {"cluster": WHERE.cluster, "tasks": [TASK["taskArn"]]},
        )
    stopped = {
        **TASK,
        "lastStatus": "STOPPED",
        "stoppedReason": "Essential container exited",
        "containers": [{"exitCode": 1}],
    }
    ecs.add_response("describe_tasks", {"tasks": [stopped]}, {"cluster": WHERE.cluster, "tasks": [TASK["taskArn"]]})
    ecs.add_response(
        "describe_task_definition",
        {
            "taskDefinition": {
                "containerDefinitions": [
                    {
                        "name": "qa",
                        "logConfiguration": {
                            "logDriver": "awslogs",
                            "options": {"awslogs-group": "g", "awslogs-stream-prefix": "qa"},
                        },
                    }
                ]
            }
        },
        {"taskDefinition": WHERE.task_definition},
    )
    logs = Stubber(aws.client("logs"))
    logs.add_response("get_log_events", {"events": [{"message": "error: the model is missing"}]})
    with cfn, ecs, logs, pytest.raises(qa.TaskFailed) as failed:
        qa.ask(aws, "context", "question")
    assert "the model is missing" in failed.value.message
    json.dumps(failed.value.log_tail)  # plain data


def test_a_cpu_instance_type_gets_jobs_that_ask_for_no_gpu(home, monkeypatch):
    monkeypatch.setenv("INTROAWS_HOME", str(home))
    assert quotas.has_gpu("g4dn.xlarge") and quotas.has_gpu("p3.2xlarge") and quotas.has_gpu("g5.12xlarge")
    assert not quotas.has_gpu("c5.large") and not quotas.has_gpu("t3.micro") and not quotas.has_gpu("m7g.large")

    def requirements(params: dict) -> set[str]:
        template = synth.synthesize(HANDS_ONS["batch"], params).template
        job = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Batch::JobDefinition")
        return {r["Type"] for r in job["Properties"]["ContainerProperties"]["ResourceRequirements"]}

    assert requirements({"instance_type": "c5.large", "zone": f"{REGION}a", "gpus": 0}) == {"VCPU", "MEMORY"}
    assert requirements({"instance_type": "g4dn.xlarge", "zone": f"{REGION}a"}) == {"VCPU", "MEMORY", "GPU"}
