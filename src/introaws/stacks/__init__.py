"""One CDK stack per hands-on: pure functions of typed parameters, no boto3, no I/O.

Each hands-on is registered in :data:`HANDS_ONS` by its course name (``ddb``, ``s3``, …) with
the CloudFormation stack name the textbook uses. The builders import ``aws_cdk`` and are
only ever loaded by the deploy engine's synthesizer.
"""

from __future__ import annotations

from dataclasses import dataclass

TAG_KEY = "introaws:hands-on"
# Minutes an instance lives after launch; the local cloud's EC2 runtime honours it too.
TTL_TAG = "introaws:ttl-minutes"
# Minutes of idleness after which a GPU instance stops itself (hands-on 2).
IDLE_STOP_TAG = "introaws:idle-stop-minutes"
# File assets (Lambda zips, web pages) go to a bucket the deploy engine creates and fills
# itself, so no bootstrap stack is needed. CloudFormation resolves the pseudo parameters.
ASSETS_BUCKET = "introaws-assets-${AWS::AccountId}-${AWS::Region}"
ASSETS_PREFIX = "assets/"
# The GPU box's root volume: the DLAMI's own snapshot is 75+ GiB; room for data and checkpoints.
DNN_ROOT_VOLUME_GIB = 100


@dataclass(frozen=True)
class HandsOn:
    name: str
    stack_name: str
    builder: str  # "module:function", imported only when a template must be synthesized
    summary: str
    # Files (relative to the introaws package) that become assets: their content is part of
    # the template cache key, so an edited handler or page is synthesized and published anew.
    sources: tuple[str, ...] = ()


HANDS_ONS: dict[str, HandsOn] = {
    h.name: h
    for h in (
        HandsOn(
            "ddb", "SimpleDynamoDb", "introaws.stacks.ddb:build", "DynamoDB table of random people (textbook §12.2)"
        ),
        HandsOn(
            "s3",
            "SimpleS3",
            "introaws.stacks.s3:build",
            "an S3 bucket to upload to and download from (textbook §3.5.3)",
        ),
        HandsOn(
            "ec2",
            "MyFirstEc2",
            "introaws.stacks.ec2:build",
            "your first EC2 instance, reached over SSH (textbook ch. 4)",
        ),
        HandsOn(
            "dnn",
            "Ec2ForDl",
            "introaws.stacks.dnn:build",
            "a GPU server with the Deep Learning AMI for Jupyter and PyTorch (textbook ch. 6; background: ch. 5)",
        ),
        HandsOn(
            "qa",
            "EcsClusterQaBot",
            "introaws.stacks.qa:build",
            "question-answering bot as ECS Fargate tasks (textbook ch. 8)",
        ),
        HandsOn(
            "batch",
            "SimpleBatch",
            "introaws.stacks.batch:build",
            "MNIST hyper-parameter sweep on AWS Batch (textbook ch. 9)",
        ),
        HandsOn(
            "haiku",
            "Bashoutter",
            "introaws.stacks.haiku:build",
            "Bashoutter, the serverless haiku SNS (textbook ch. 13)",
            sources=("tasks/haiku",),
        ),
        HandsOn(
            "lambda",
            "SimpleLambda",
            "introaws.stacks.lambda_:build",
            "a Lambda function handing out starter Pokémon (textbook §12.1)",
        ),
    )
}


def by_stack_name(stack_name: str) -> HandsOn | None:
    return next((h for h in HANDS_ONS.values() if h.stack_name == stack_name), None)
