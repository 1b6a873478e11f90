"""``EcsClusterQaBot``: the question-answering bot as Fargate tasks (textbook ch. 8).

A table for the answers, a VPC with public subnets only (tasks get a public IP to pull the
image and reach AWS APIs, so no NAT gateway is paid for), an ECS cluster, a 1 vCPU / 4 GiB
Fargate task definition whose container logs to CloudWatch Logs, and an ECR repository the
image is pushed to. The task role may put items into the table and do nothing else (the
payload saves each answer with ``PutItem``).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from introaws.stacks.base import item_table, new_stack

# The repository the image of containers/qa is pushed to; the local cloud runs images from
# it as ``python -m introaws.tasks.qa``.
REPOSITORY_NAME = "introaws-qa"
IMAGE_TAG = "latest"
CONTAINER_NAME = "qa"
TASK_CPU = 1024
TASK_MEMORY_MIB = 4096


def build(scope: Construct, stack_name: str, model: str, image: str | None = None) -> cdk.Stack:
    """``model`` is a hub id (or, on the local cloud, a directory); ``image`` an image URI
    to run instead of the repository's ``latest``."""
    stack = new_stack(scope, stack_name, "qa", "question-answering bot on ECS Fargate")
    table = item_table(stack)
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=1,
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
    )
    security_group = ec2.SecurityGroup(
        stack,
        "TaskSecurityGroup",
        vpc=vpc,
        allow_all_outbound=True,
        description="QA tasks: no inbound, outbound to pull and write",
    )
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    repository = ecr.Repository(
        stack, "Repository", repository_name=REPOSITORY_NAME, removal_policy=cdk.RemovalPolicy.DESTROY
    )
    task_definition = ecs.FargateTaskDefinition(stack, "TaskDef", cpu=TASK_CPU, memory_limit_mib=TASK_MEMORY_MIB)
    table.grant(task_definition.task_role, "dynamodb:PutItem")
    log_group = logs.LogGroup(
        stack, "Logs", retention=logs.RetentionDays.ONE_WEEK, removal_policy=cdk.RemovalPolicy.DESTROY
    )
    container_image = (
        ecs.ContainerImage.from_registry(image)
        if image
        else ecs.ContainerImage.from_ecr_repository(repository, IMAGE_TAG)
    )
    task_definition.add_container(
        CONTAINER_NAME,
        container_name=CONTAINER_NAME,
        image=container_image,
        environment={"TABLE_NAME": table.table_name, "QA_MODEL": model},
        logging=ecs.LogDrivers.aws_logs(stream_prefix="qa", log_group=log_group),
    )
    for name, value in {
        "TableName": table.table_name,
        "ClusterName": cluster.cluster_name,
        "TaskDefinitionArn": task_definition.task_definition_arn,
        "ContainerName": CONTAINER_NAME,
        "SubnetIds": ",".join(s.subnet_id for s in vpc.public_subnets),
        "SecurityGroupId": security_group.security_group_id,
        "RepositoryUri": repository.repository_uri,
        "LogGroupName": log_group.log_group_name,
    }.items():
        cdk.CfnOutput(stack, name, value=value)
    return stack
