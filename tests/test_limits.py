"""AWS's limits where moto has none (introaws/localcloud/limits.py): each refused by the real local
cloud with the error boto3 raises on AWS (code, HTTP status, protocol), and each limit's edge
accepted."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
import zipfile

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cfn_helpers import ROLE, deploy_template, slow_api_resources
from conftest import cli_env, run_cli, target_for
from introaws.localcloud import limits

CONTAINERS = [{"name": "c", "image": "public.ecr.aws/docker/library/python:3.11-slim"}]


def refused(call, code: str, status: int = 400) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, status), error
    return error["Error"]["Message"]


@pytest.mark.parametrize(
    ("cpu", "memory", "valid"),
    [
        ("256", "512", True),
        ("256", "2048", True),
        ("256", "1536", False),
        ("256", "8192", False),
        ("512", "4096", True),
        ("1024", "8192", True),
        ("1024", "9216", False),
        ("1 vCPU", "2 GB", True),
        ("0.25 vCPU", "0.5GB", True),
        ("4096", "30720", True),
        ("8192", "20480", True),
        ("8192", "18432", False),
        ("16384", "122880", True),
        ("384", "1024", False),
    ],
)
def test_fargate_size_table(cpu, memory, valid):
    params = {"requiresCompatibilities": ["FARGATE"], "cpu": cpu, "memory": memory}
    assert (limits.fargate_size(params) is None) is valid


def test_fargate_task_definitions_outside_the_table_are_refused(target):
    ecs = target.client("ecs")

    def register(**sizes):
        return ecs.register_task_definition(
            family="limits-fargate",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            containerDefinitions=CONTAINERS,
            **sizes,
        )

    message = refused(lambda: register(cpu="256", memory="8192"), "ClientException")
    assert "No Fargate configuration exists for given values: 256 CPU, 8192 memory" in message
    assert "'cpu'" in refused(lambda: register(memory="512"), "ClientException")
    assert register(cpu="256", memory="512")["taskDefinition"]["family"] == "limits-fargate"
    # The EC2 launch type has no such table.
    ecs.register_task_definition(family="limits-ec2", containerDefinitions=[{**CONTAINERS[0], "memory": 8192}])


@pytest.fixture(scope="module")
def function_role(target):
    iam = target.client("iam")
    try:
        return iam.create_role(RoleName="limits-fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName="limits-fn")["Role"]["Arn"]


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", source)
    return buffer.getvalue()


ECHO_SIZE = _zip("def handler(event, context):\n    return len(event)\n")


def test_lambda_memory_timeout_and_name_limits(target, function_role):
    # botocore checks some minimums itself; the cloud must refuse what other clients send.
    unchecked = target.session.client(
        "lambda", endpoint_url=target.endpoint_url, config=Config(parameter_validation=False)
    )

    def create(name: str, **options):
        return unchecked.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=function_role,
            Handler="index.handler",
            Code={"ZipFile": ECHO_SIZE},
            **options,
        )

    assert "less than or equal to 900" in refused(lambda: create("limits-901", Timeout=901), "ValidationException")
    assert "less than or equal to 10240" in refused(
        lambda: create("limits-big", MemorySize=10_241), "ValidationException"
    )
    assert "greater than or equal to 128" in refused(
        lambda: create("limits-small", MemorySize=64), "ValidationException"
    )
    assert "functionName" in refused(lambda: create("not.a.name"), "ValidationException")
    assert "functionName" in refused(lambda: create("x" * 65), "ValidationException")
    created = create("limits-edge", Timeout=900, MemorySize=10_240)
    assert (created["Timeout"], created["MemorySize"]) == (900, 10_240)
    message = refused(
        lambda: unchecked.update_function_configuration(FunctionName="limits-edge", Timeout=901),
        "ValidationException",
    )
    assert "timeout" in message


def test_invoke_payload_limits(target, function_role):
    client = target.client("lambda")
    client.create_function(
        FunctionName="limits-payload",
        Runtime="python3.12",
        Role=function_role,
        Handler="index.handler",
        Code={"ZipFile": ECHO_SIZE},
        Timeout=30,
        MemorySize=512,
    )

    def payload(size: int) -> bytes:
        return json.dumps("a" * (size - 2)).encode()

    def invoke(size: int, kind: str = "RequestResponse"):
        return client.invoke(FunctionName="limits-payload", InvocationType=kind, Payload=payload(size))

    message = refused(lambda: invoke(limits.LAMBDA_SYNC_PAYLOAD + 1), "RequestEntityTooLargeException", 413)
    assert str(limits.LAMBDA_SYNC_PAYLOAD) in message
    refused(lambda: invoke(limits.LAMBDA_ASYNC_PAYLOAD + 1, "Event"), "RequestEntityTooLargeException", 413)
    assert invoke(limits.LAMBDA_ASYNC_PAYLOAD, "Event")["StatusCode"] == 202
    answer = invoke(1_000_000)
    assert json.loads(answer["Payload"].read()) == 1_000_000 - 2


def test_run_task_overrides_over_8_kib_are_refused(target):
    ecs = target.client("ecs")
    overrides = {"containerOverrides": [{"name": "c", "command": ["x" * limits.RUN_TASK_OVERRIDES]}]}
    message = refused(
        lambda: ecs.run_task(cluster="default", taskDefinition="limits-fargate", overrides=overrides),
        "InvalidParameterException",
    )
    assert "8192" in message


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("sweep-lr0_1", True),
        ("a" * 128, True),
        ("bad name", False),
        ("a" * 129, False),
        ("-leading", False),
        ("dot.ted", False),
    ],
)
def test_batch_job_names(target, name, valid):
    batch = target.client("batch")
    try:
        batch.submit_job(jobName=name, jobQueue="limits-missing-queue", jobDefinition="limits-missing")
    except ClientError as exc:
        message = exc.response["Error"]["Message"]
        assert exc.response["Error"]["Code"] == "ClientException"
        assert ("is invalid" in message) is not valid, message  # valid names get as far as the queue


@pytest.mark.parametrize(
    ("logical_id", "resource", "reason"),
    [
        (
            "Task",
            {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "RequiresCompatibilities": ["FARGATE"],
                    "Cpu": "256",
                    "Memory": "8192",
                    "NetworkMode": "awsvpc",
                    "ContainerDefinitions": [{"Name": "c", "Image": "python:3.11-slim"}],
                },
            },
            "No Fargate configuration exists for given values: 256 CPU, 8192 memory",
        ),
        (
            "Function",
            {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"ZipFile": "def handler(event, context):\n    return 1\n"},
                    "Timeout": 901,
                },
            },
            "Member must have value less than or equal to 900",
        ),
    ],
)
def test_a_stack_with_a_refused_resource_fails_its_deploy(target, logical_id, resource, reason):
    cfn = target.client("cloudformation")
    stack = f"Limits{logical_id}"
    try:
        described = deploy_template(cfn, stack, {"Role": ROLE, logical_id: resource})
        assert described["StackStatus"] == "ROLLBACK_COMPLETE"
        failed = [
            e for e in cfn.describe_stack_events(StackName=stack)["StackEvents"] if "FAILED" in e["ResourceStatus"]
        ]
        assert [e["LogicalResourceId"] for e in failed] == [logical_id]
        assert reason in failed[0]["ResourceStatusReason"]
    finally:
        cfn.delete_stack(StackName=stack)


def test_api_gateway_answers_504_when_the_integration_is_too_slow(fresh_home):
    """The limit lowered to 2 s for the test (the daemon reads INTROAWS_APIGW_TIMEOUT_S)."""
    started = run_cli(fresh_home, "cloud", "start", env=cli_env(fresh_home, INTROAWS_APIGW_TIMEOUT_S="2"))
    assert started.code == 0, started.err
    cfn = target_for(fresh_home).client("cloudformation")
    url = {"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/prod/"}
    described = deploy_template(cfn, "SlowApi", slow_api_resources(), {"Url": {"Value": url}})
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}

    def get(seconds: float) -> tuple[int, float, bytes]:
        began = time.monotonic()
        try:
            with urllib.request.urlopen(f"{outputs['Url']}slow?s={seconds}", timeout=60) as answer:
                return answer.status, time.monotonic() - began, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, time.monotonic() - began, error.read()

    assert get(0)[0] == 200
    status, took, body = get(6)
    assert status == 504 and json.loads(body) == {"message": "Endpoint request timed out"}
    assert took < 6  # answered at the limit, not when the function ended
