"""``SimpleBatch``: an MNIST hyper-parameter sweep on AWS Batch (textbook ch. 9).

Bucket for results, a public-subnet VPC without NAT, a managed EC2 compute environment of GPU
instances capped at 64 vCPUs (the cap keeps a mistake from becoming a large bill), a job
queue, an ECR repository for ``containers/mnist``, and a job definition whose command is the
payload ``python -m introaws.tasks.mnist`` (the local cloud runs that same command) and whose
role may put objects into the bucket and do nothing else.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from introaws.stacks.base import new_stack, one_zone
from introaws.tasks.mnist import COMMAND

DEFAULT_INSTANCE_TYPE = "g4dn.xlarge"
MAX_VCPUS = 64
JOB_VCPUS = 4
JOB_GPUS = 1
JOB_MEMORY_MIB = 12000
JOB_TIMEOUT_HOURS = 2


def build(
    scope: Construct,
    stack_name: str,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    spot: bool = False,
    zone: str | None = None,
    gpus: int = JOB_GPUS,
) -> cdk.Stack:
    """``zone``: the availability zone of the one subnet (one that offers ``instance_type``);
    ``gpus``: per job (0 for a CPU instance type, whose hosts could never place a GPU job)."""
    stack = new_stack(scope, stack_name, "batch", "MNIST hyper-parameter sweep on AWS Batch")
    bucket = s3.Bucket(
        stack,
        "bucket",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        removal_policy=cdk.RemovalPolicy.DESTROY,  # the deploy engine empties it first
    )
    vpc = ec2.Vpc(
        stack,
        "vpc",
        ip_addresses=ec2.IpAddresses.cidr("10.10.0.0/23"),
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
        **one_zone(zone),
    )
    compute_env = batch.ManagedEc2EcsComputeEnvironment(
        stack,
        "managed-env",
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        instance_types=[ec2.InstanceType(instance_type)],
        use_optimal_instance_classes=False,
        allocation_strategy=(
            batch.AllocationStrategy.SPOT_CAPACITY_OPTIMIZED if spot else batch.AllocationStrategy.BEST_FIT
        ),
        spot=spot,
        minv_cpus=0,
        maxv_cpus=MAX_VCPUS,
    )
    queue = batch.JobQueue(stack, "job-queue", priority=100)
    queue.add_compute_environment(compute_env, 1)
    repository = ecr.Repository(stack, "repository", removal_policy=cdk.RemovalPolicy.DESTROY)
    job_role = iam.Role(stack, "job-role", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    bucket.grant_put(job_role)  # the job only uploads its results (tasks/mnist): its one grant
    job_definition = batch.EcsJobDefinition(
        stack,
        "job-definition",
        timeout=cdk.Duration.hours(JOB_TIMEOUT_HOURS),
        container=batch.EcsEc2ContainerDefinition(
            stack,
            "container",
            image=ecs.ContainerImage.from_ecr_repository(repository, "latest"),
            command=COMMAND,
            cpu=JOB_VCPUS,
            gpu=gpus or None,
            memory=cdk.Size.mebibytes(JOB_MEMORY_MIB),
            environment={"BUCKET_NAME": bucket.bucket_name},
            job_role=job_role,
        ),
    )
    cdk.CfnOutput(stack, "BucketName", value=bucket.bucket_name)
    cdk.CfnOutput(stack, "JobQueueArn", value=queue.job_queue_arn)
    cdk.CfnOutput(stack, "JobDefinitionArn", value=job_definition.job_definition_arn)
    cdk.CfnOutput(stack, "ComputeEnvironmentArn", value=compute_env.compute_environment_arn)
    cdk.CfnOutput(stack, "RepositoryName", value=repository.repository_name)
    cdk.CfnOutput(stack, "RepositoryUri", value=repository.repository_uri)
    cdk.CfnOutput(stack, "InstanceType", value=instance_type)
    return stack
