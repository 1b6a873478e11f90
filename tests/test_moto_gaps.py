"""The gaps in the pinned moto that introaws works around, each shown to still exist.

One test per adaptation (introaws/localcloud/adapt.py, answers.py, limits.py): it asks released
moto, in-process and without introaws's patches, for what AWS does, and fails on the moto that
pyproject pins — so each is a strict expected failure. When an upgrade of moto closes a gap, its
test passes, strict xfail turns that into a failure, and the adaptation it names can go.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from cfn_helpers import ROLE, TABLE

REGION = "ap-northeast-1"
gap = pytest.mark.xfail(strict=True, raises=AssertionError, reason="a gap of the pinned moto (see docstring)")


@pytest.fixture
def aws() -> Iterator[Callable[[str], Any]]:
    """boto3 clients on a fresh in-process moto, as released (no introaws adjustment)."""
    from moto import mock_aws
    from moto.cloudformation import parsing

    assert not getattr(parsing.parse_resource_and_generate_name, "introaws_limits", False), "moto is patched here"
    with mock_aws():
        yield lambda service: boto3.client(service, region_name=REGION)


def outcome(call: Callable[[], Any]) -> str:
    """ "ok", or what moto raised: a gap must show as an assertion, not as an error of the test."""
    try:
        call()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "ok"


def deploy(
    aws, resources: dict, outputs: dict | None = None, parameters: dict | None = None, change_set: bool = False
) -> dict:
    """A stack created directly (or through a change set, as introaws and ``aws cloudformation
    deploy`` do); its description, with ``execution``: "ok" or what moto raised."""
    cfn = aws("cloudformation")
    body = json.dumps({"Parameters": parameters or {}, "Resources": resources, "Outputs": outputs or {}})
    if change_set:
        cfn.create_change_set(StackName="Gap", ChangeSetName="c1", ChangeSetType="CREATE", TemplateBody=body)
        result = outcome(lambda: cfn.execute_change_set(StackName="Gap", ChangeSetName="c1"))
    else:
        result = outcome(lambda: cfn.create_stack(StackName="Gap", TemplateBody=body))
    stacks = cfn.describe_stacks()["Stacks"]
    return {**(stacks[0] if stacks else {"StackStatus": None}), "execution": result}


def created(stack: dict) -> bool:
    return stack["execution"] == "ok" and stack["StackStatus"] == "CREATE_COMPLETE"


SUBNET_IDS = {"Fn::GetAtt": ["Vpc", "DefaultSecurityGroup"]}


def _network() -> dict:
    """A VPC, a subnet, and the role and instance profile a Batch environment names."""
    return {
        "Role": ROLE,
        "Profile": {"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": [{"Ref": "Role"}]}},
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "Subnet": {
            "Type": "AWS::EC2::Subnet",
            "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.0.0/24", "AvailabilityZone": f"{REGION}a"},
        },
    }


def _environment(kind: str = "MANAGED", service_role: bool = True) -> dict:
    properties: dict[str, Any] = {
        "Type": kind,
        "ComputeResources": {
            "Type": "EC2",
            "MinvCpus": 0,
            "MaxvCpus": 4,
            "InstanceTypes": ["c5.large"],
            "Subnets": [{"Ref": "Subnet"}],
            "SecurityGroupIds": [{"Fn::GetAtt": ["Vpc", "DefaultSecurityGroup"]}],
            "InstanceRole": {"Fn::GetAtt": ["Profile", "Arn"]},
        },
    }
    if service_role:
        properties["ServiceRole"] = {"Fn::GetAtt": ["Role", "Arn"]}
    return {"Type": "AWS::Batch::ComputeEnvironment", "Properties": properties}


# --- template rewrites (adapt.adapt_template) ---------------------------------------------------


@gap
def test_get_azs_answers_the_deploy_regions_zones(aws):
    """adapt.zones_of_deploy_region"""
    stack = deploy(aws, {"T": TABLE}, {"Zone": {"Value": {"Fn::Select": [0, {"Fn::GetAZs": ""}]}}})
    assert stack["Outputs"][0]["OutputValue"].startswith(REGION)


@gap
def test_fargate_container_without_its_own_memory_runs(aws):
    """adapt.give_containers_memory: the task-level memory suffices on AWS."""
    ecs = aws("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(
        family="f",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "c", "image": "python:3.11-slim"}],
    )
    assert outcome(lambda: ecs.run_task(cluster="c", taskDefinition="f", launchType="FARGATE")) == "ok"


@gap
def test_batch_environment_type_in_lower_case(aws):
    """adapt.upper_case_batch_environment_type"""
    assert created(deploy(aws, {**_network(), "Env": _environment("managed")}))


@gap
def test_batch_environment_without_a_service_role(aws):
    """adapt.explicit_batch_service_role: AWS uses its service-linked role."""
    assert created(deploy(aws, {**_network(), "Env": _environment(service_role=False)}))


@gap
def test_get_att_of_a_batch_compute_environment(aws):
    """adapt.ref_instead_of_batch_get_att"""
    queue = {
        "Type": "AWS::Batch::JobQueue",
        "Properties": {
            "Priority": 1,
            "ComputeEnvironmentOrder": [
                {"Order": 1, "ComputeEnvironment": {"Fn::GetAtt": ["Env", "ComputeEnvironmentArn"]}}
            ],
        },
    }
    assert created(deploy(aws, {**_network(), "Env": _environment(), "Queue": queue}))


@gap
def test_unnamed_ecr_repository(aws):
    """adapt.lower_case_ecr_repository_name: CloudFormation names it in lower case."""
    assert created(deploy(aws, {"Repository": {"Type": "AWS::ECR::Repository", "Properties": {}}}))


def _api(method: dict) -> dict:
    return {
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "gap"}},
        "Method": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                "AuthorizationType": "NONE",
                **method,
            },
        },
    }


MOCK_OPTIONS = {
    "HttpMethod": "OPTIONS",
    "Integration": {
        "Type": "MOCK",
        "RequestTemplates": {"application/json": '{"statusCode": 200}'},
        "IntegrationResponses": [
            {"StatusCode": "204", "ResponseParameters": {"method.response.header.Access-Control-Allow-Origin": "'*'"}}
        ],
    },
    "MethodResponses": [{"StatusCode": "204"}],
}


@gap
def test_mock_integration_without_uri(aws):
    """adapt.complete_mock_integrations"""
    assert created(deploy(aws, _api(MOCK_OPTIONS)))


@gap
def test_public_ami_parameter_other_than_amazon_linux(aws):
    """adapt.known_image_for_public_ami_parameters: the Deep Learning AMI's parameter."""
    parameters = {
        "Ami": {
            "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "Default": "/aws/service/deeplearning/ami/x86_64/oss-nvidia-driver-gpu-pytorch-2.5-ubuntu-22.04/latest/ami-id",
        }
    }
    instance = {"Type": "AWS::EC2::Instance", "Properties": {"ImageId": {"Ref": "Ami"}, "InstanceType": "t3.micro"}}
    assert created(deploy(aws, {"Box": instance}, parameters=parameters))


# --- moto's classes (adapt.install) ----------------------------------------------------------


@gap
def test_backend_creation_leaves_the_random_stream_alone():
    """adapt.make_backend_creation_deterministic: replay gives the same ids whether a region's
    backend was first touched by a read before the request or by the request itself."""
    from moto import mock_aws
    from moto.moto_api._internal import mock_random

    def vpc_id(read_first: bool) -> str:
        with mock_aws():
            ec2 = boto3.client("ec2", region_name="eu-west-1")
            if read_first:
                ec2.describe_vpcs()
            mock_random.seed(7)
            return ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]

    assert vpc_id(read_first=True) == vpc_id(read_first=False)


@gap
def test_stack_update_of_an_instance_keeps_it(aws):
    """adapt.replace_instances_on_stack_update: outputs that read the instance still resolve."""
    instance = {"Type": "AWS::EC2::Instance", "Properties": {"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}}
    deploy(aws, {"Box": instance}, {"Id": {"Value": {"Ref": "Box"}}})
    changed = {"Box": {**instance, "Properties": {**instance["Properties"], "UserData": "ZWNobyBoaQ=="}}}
    body = json.dumps({"Resources": changed, "Outputs": {"Id": {"Value": {"Ref": "Box"}}}})
    cfn = aws("cloudformation")
    assert outcome(lambda: cfn.update_stack(StackName="Gap", TemplateBody=body)) == "ok"
    assert outcome(lambda: cfn.describe_stacks(StackName="Gap")["Stacks"][0]["Outputs"]) == "ok"


@gap
def test_stack_resources_beyond_aws_limits_are_refused(aws):
    """adapt.refuse_resources_beyond_limits (limits.RESOURCE_RULES)"""
    task = {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {
            "RequiresCompatibilities": ["FARGATE"],
            "Cpu": "256",
            "Memory": "8192",
            "ContainerDefinitions": [{"Name": "c", "Image": "python:3.11-slim", "Memory": 512}],
        },
    }
    assert not created(deploy(aws, {"Task": task}))


# --- AWS's limits on API calls (limits.API_RULES) --------------------------------------------


def _refused(call: Callable[[], Any]) -> bool:
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError:
        return True
    return False


@gap
def test_fargate_size_outside_the_table(aws):
    """limits.fargate_size"""
    ecs = aws("ecs")
    sizes = {"cpu": "256", "memory": "8192", "requiresCompatibilities": ["FARGATE"]}
    containers = [{"name": "c", "image": "i", "memory": 512}]
    assert _refused(lambda: ecs.register_task_definition(family="f", containerDefinitions=containers, **sizes))


@pytest.mark.parametrize("options", [{"Timeout": 901}, {"MemorySize": 10_241}, {"FunctionName": "not.a.name"}])
@gap
def test_lambda_function_limits(aws, options):
    """limits.lambda_timeout, lambda_memory, lambda_function_name"""
    role = aws("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    spec = {"FunctionName": "f", "Runtime": "python3.12", "Role": role, "Handler": "index.handler"}
    code = {"ZipFile": b"PK\x05\x06" + b"\x00" * 18}  # an empty zip
    assert _refused(lambda: aws("lambda").create_function(**{**spec, **options}, Code=code))


@gap
def test_run_task_overrides_over_8_kib(aws):
    """limits.run_task_overrides"""
    ecs = aws("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="f", containerDefinitions=[{"name": "c", "image": "i", "memory": 512}])
    overrides = {"containerOverrides": [{"name": "c", "command": ["x" * 9000]}]}
    assert _refused(lambda: ecs.run_task(cluster="c", taskDefinition="f", launchType="FARGATE", overrides=overrides))


# --- preparations and fix-ups (adapt.before_moto / after_moto) --------------------------------


@gap
def test_stack_with_a_route_table_deletes(aws):
    """adapt.remove_stack_route_tables"""
    resources = {
        **_network(),
        "Routes": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        "Association": {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {"SubnetId": {"Ref": "Subnet"}, "RouteTableId": {"Ref": "Routes"}},
        },
    }
    deploy(aws, resources)
    assert outcome(lambda: aws("cloudformation").delete_stack(StackName="Gap")) == "ok"
    assert not aws("ec2").describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.0.0.0/16"]}])["Vpcs"]


@gap
def test_executed_change_set_gives_outputs_and_events(aws):
    """adapt.fix_change_set_outputs"""
    stack = deploy(aws, {"T": TABLE}, {"Name": {"Value": {"Ref": "T"}}}, change_set=True)
    events = aws("cloudformation").describe_stack_events(StackName="Gap")["StackEvents"]
    assert stack.get("Outputs") and any(e["LogicalResourceId"] == "T" for e in events)


@gap
def test_failing_change_set_rolls_back(aws):
    """adapt.fail_change_set_execution"""
    bad = json.loads(json.dumps(TABLE))
    bad["Properties"]["KeySchema"][0]["AttributeName"] = "missing"
    assert deploy(aws, {"Bad": bad}, change_set=True)["StackStatus"] == "ROLLBACK_COMPLETE"


@gap
def test_change_set_follows_depends_on(aws):
    """adapt.order_change_set_resources: a deployment declared before the method it depends on."""
    resources = {
        "Deployment": {
            "Type": "AWS::ApiGateway::Deployment",
            "DependsOn": ["Method"],
            "Properties": {"RestApiId": {"Ref": "Api"}},
        },
        **_api(
            {"HttpMethod": "GET", "Integration": {"Type": "HTTP", "IntegrationHttpMethod": "GET", "Uri": "http://x"}}
        ),
    }
    assert created(deploy(aws, resources, change_set=True))


@gap
def test_api_gateway_stage_resource_is_created(aws):
    """adapt.create_api_gateway_extras (stages)"""
    get = {"HttpMethod": "GET", "Integration": {"Type": "HTTP", "IntegrationHttpMethod": "GET", "Uri": "http://x"}}
    resources = {
        **_api(get),
        "Deployment": {
            "Type": "AWS::ApiGateway::Deployment",
            "DependsOn": ["Method"],
            "Properties": {"RestApiId": {"Ref": "Api"}},
        },
        "Stage": {
            "Type": "AWS::ApiGateway::Stage",
            "Properties": {"RestApiId": {"Ref": "Api"}, "DeploymentId": {"Ref": "Deployment"}, "StageName": "prod"},
        },
    }
    deploy(aws, resources)
    api_id = aws("apigateway").get_rest_apis()["items"][0]["id"]
    assert "prod" in {s["stageName"] for s in aws("apigateway").get_stages(restApiId=api_id)["item"]}


@gap
def test_api_gateway_gateway_response_is_created(aws):
    """adapt.create_api_gateway_extras (gateway responses)"""
    response = {
        "Type": "AWS::ApiGateway::GatewayResponse",
        "Properties": {
            "RestApiId": {"Ref": "Api"},
            "ResponseType": "DEFAULT_4XX",
            "ResponseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
        },
    }
    deploy(aws, {"Api": _api({})["Api"], "Response": response})
    api_id = aws("apigateway").get_rest_apis()["items"][0]["id"]
    client = aws("apigateway")
    assert outcome(lambda: client.get_gateway_response(restApiId=api_id, responseType="DEFAULT_4XX")) == "ok"


@gap
def test_api_gateway_integration_responses_are_kept(aws):
    """adapt.create_api_gateway_extras (a method's integration responses)"""
    options = {
        **MOCK_OPTIONS,
        "Integration": {**MOCK_OPTIONS["Integration"], "IntegrationHttpMethod": "OPTIONS", "Uri": ""},
    }
    deploy(aws, _api(options))
    client = aws("apigateway")
    api_id = client.get_rest_apis()["items"][0]["id"]
    root = client.get_resources(restApiId=api_id)["items"][0]["id"]
    assert (
        outcome(
            lambda: client.get_integration_response(
                restApiId=api_id, resourceId=root, httpMethod="OPTIONS", statusCode="204"
            )
        )
        == "ok"
    )


@gap
def test_bucket_website_configuration_is_applied(aws):
    """adapt.apply_bucket_websites"""
    bucket = {"Type": "AWS::S3::Bucket", "Properties": {"WebsiteConfiguration": {"IndexDocument": "index.html"}}}
    deploy(aws, {"Site": bucket}, {"Name": {"Value": {"Ref": "Site"}}})
    name = aws("cloudformation").describe_stack_resources(StackName="Gap")["StackResources"][0]["PhysicalResourceId"]
    assert outcome(lambda: aws("s3").get_bucket_website(Bucket=name)) == "ok"


@gap
def test_task_definition_from_a_stack_keeps_cpu_and_compatibilities(aws):
    """adapt.fix_task_definitions"""
    task = {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {
            "Family": "gap",
            "RequiresCompatibilities": ["FARGATE"],
            "Cpu": "256",
            "Memory": "512",
            "ContainerDefinitions": [{"Name": "c", "Image": "python:3.11-slim", "Memory": 512}],
        },
    }
    deploy(aws, {"Task": task})
    described = aws("ecs").describe_task_definition(taskDefinition="gap")["taskDefinition"]
    assert (described.get("cpu"), described.get("requiresCompatibilities")) == ("256", ["FARGATE"])


@gap
def test_key_pair_is_the_same_on_replay():
    """adapt.keep_key_pair_public_key: moto draws key material from the OS, not its seeded stream."""
    from moto import mock_aws
    from moto.moto_api._internal import mock_random

    def fingerprint() -> str:
        with mock_aws():
            mock_random.seed(3)
            return boto3.client("ec2", region_name=REGION).create_key_pair(KeyName="k")["KeyFingerprint"]

    assert fingerprint() == fingerprint()


@gap
def test_instance_launch_time_is_the_same_on_replay():
    """adapt.keep_launch_times: moto stamps an instance with the clock at the request."""
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends
    from moto.moto_api._internal import mock_random

    def launched() -> str:
        with mock_aws():
            mock_random.seed(5)
            ec2 = boto3.client("ec2", region_name=REGION)
            instance_id = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0][
                "InstanceId"
            ]
            return ec2_backends[DEFAULT_ACCOUNT_ID][REGION].get_instance(instance_id).launch_time.isoformat()

    assert launched() == launched()


# --- complete answers (answers.py) -----------------------------------------------------------


@gap
def test_stack_resource_moto_does_not_model_is_listed_with_ids(aws):
    """answers.complete_stack_resources: AWS lists every resource with its ids and type (here
    CDK's metadata, which introaws once dropped from templates)."""
    metadata = {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:H4sIAAAAAAAA/wMAAAAAAAAAAAA="}}
    assert created(deploy(aws, {"T": TABLE, "CDKMetadata": metadata}))
    resources = aws("cloudformation").describe_stack_resources(StackName="Gap")["StackResources"]
    assert {r.get("LogicalResourceId") for r in resources} == {"T", "CDKMetadata"}


@gap
def test_every_stack_resource_has_a_physical_id(aws):
    """answers.complete_stack_resources"""
    deploy(aws, _api(MOCK_OPTIONS | {"Integration": {"Type": "MOCK", "IntegrationHttpMethod": "OPTIONS", "Uri": ""}}))
    resources = aws("cloudformation").describe_stack_resources(StackName="Gap")["StackResources"]
    assert all(r.get("PhysicalResourceId") for r in resources)


@gap
def test_change_set_says_whether_it_replaces(aws):
    """answers.describe_replacements"""
    named = {**TABLE, "Properties": {**TABLE["Properties"], "TableName": "a"}}
    deploy(aws, {"T": named})
    renamed = {"T": {**TABLE, "Properties": {**TABLE["Properties"], "TableName": "b"}}}
    cfn = aws("cloudformation")
    cfn.create_change_set(
        StackName="Gap", ChangeSetName="c2", ChangeSetType="UPDATE", TemplateBody=json.dumps({"Resources": renamed})
    )
    change = cfn.describe_change_set(StackName="Gap", ChangeSetName="c2")["Changes"][0]["ResourceChange"]
    assert change.get("Replacement") == "True"


# --- identity (identity/, answers.py) --------------------------------------------------------


def _user_client(aws, service: str, policy: dict | None) -> Any:
    """A client signed with the keys of a new IAM user holding ``policy`` inline."""
    iam = aws("iam")
    iam.create_user(UserName="u")
    if policy:
        iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="u")["AccessKey"]
    return boto3.client(
        service, region_name=REGION, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )


@gap
def test_a_grant_on_a_tables_arn_lets_its_holder_write_the_table(aws):
    """identity/actions.py names each request's resources: moto's access control holds every
    request but S3's against the resource "*", which a grant on a table's ARN never matches."""
    from moto.core.authorization import enable_iam_authentication

    aws("dynamodb").create_table(
        TableName="t",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    arn = f"arn:aws:dynamodb:{REGION}:123456789012:table/t"
    grant = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": arn}]}
    ddb = _user_client(aws, "dynamodb", grant)
    with enable_iam_authentication():
        assert outcome(lambda: ddb.put_item(TableName="t", Item={"k": {"S": "v"}})) == "ok"


@gap
def test_a_dynamodb_denial_is_a_json_error(aws):
    """identity/gate.py shapes every refusal in the request's protocol: moto's DynamoDB denial
    is an XML body, which a JSON-protocol client cannot read as AccessDeniedException."""
    from moto.core.authorization import enable_iam_authentication

    ddb = _user_client(aws, "dynamodb", None)
    with enable_iam_authentication():
        assert "AccessDeniedException" in outcome(lambda: ddb.list_tables())


@gap
def test_assuming_a_role_that_trusts_only_a_service_is_refused(aws):
    """identity/principals.py mints workloads' keys in-process, as the service would: moto's
    AssumeRole fails (not an AWS error) on a trust policy that names a service principal."""
    from moto.core.authorization import enable_iam_authentication

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = aws("iam").create_role(RoleName="task", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    sts = _user_client(
        aws, "sts", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:*", "Resource": "*"}]}
    )
    with enable_iam_authentication():
        assert "AccessDenied" in outcome(lambda: sts.assume_role(RoleArn=role, RoleSessionName="s"))


def _judged(statement: dict, action: str, resource: str) -> Any:
    from moto.iam.access_control import IAMPolicyStatement

    return IAMPolicyStatement(statement).is_action_permitted(action, resource)


@gap
def test_an_allow_whose_condition_does_not_hold_does_not_allow():
    """identity/policies.py leaves out statements with conditions (the request context they test
    is not known here): moto counts a condition it cannot evaluate as met."""
    from moto.iam.access_control import PermissionResult

    conditional = {
        "Effect": "Allow",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    }
    assert _judged(conditional, "s3:GetObject", "arn:aws:s3:::b/k") != PermissionResult.PERMITTED


@gap
def test_not_resource_leaves_the_resources_it_names_alone():
    """identity/policies.py: moto ignores NotResource (a statement without Resource matches all)."""
    from moto.iam.access_control import PermissionResult

    deny_elsewhere = {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::public/*"}
    assert _judged(deny_elsewhere, "s3:GetObject", "arn:aws:s3:::public/a") == PermissionResult.NEUTRAL


@gap
def test_action_names_match_whatever_their_case():
    """identity/policies.py: IAM compares action names without regard to case; moto does not."""
    from moto.iam.access_control import PermissionResult

    lower = {"Effect": "Allow", "Action": "dynamodb:putitem", "Resource": "*"}
    assert _judged(lower, "dynamodb:PutItem", "*") == PermissionResult.PERMITTED


@gap
def test_the_caller_of_a_key_moto_did_not_issue_is_not_made_up(aws):
    """answers.administrator_identity: the local cloud's administrator signs with keys moto does
    not know, and moto names their caller ``user/moto``; the administrator is the account's root."""
    assert aws("sts").get_caller_identity()["Arn"].endswith(":root")


@gap
def test_a_change_set_name_is_looked_up_in_its_own_stack(aws):
    """deploy.engine (describes, executes and deletes its change sets by ARN) and
    adapt._change_set_and_stack: a change set's name is unique only within its stack."""
    cfn = aws("cloudformation")
    body = json.dumps({"Resources": {"T": TABLE}})
    stacks = {
        name: cfn.create_change_set(StackName=name, ChangeSetName="same", ChangeSetType="CREATE", TemplateBody=body)[
            "StackId"
        ]
        for name in ("First", "Second")
    }
    assert cfn.describe_change_set(StackName="First", ChangeSetName="same")["StackId"] == stacks["First"]
