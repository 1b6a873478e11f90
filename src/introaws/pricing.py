"""Rough on-demand prices, so nobody is surprised by a bill (USD, us-east-1 unless noted).

Numbers are the textbook's (2020) where it gives them; they are estimates for warnings,
not a bill. Serverless hands-ons cost per request and nothing while idle.
"""

from __future__ import annotations

EC2_HOURLY = {
    "t2.micro": 0.0116,
    "t2.small": 0.023,
    "t2.medium": 0.0464,
    "t3.micro": 0.0104,
    "g4dn.xlarge": 0.526,
    "p2.xlarge": 0.9,
    "p3.2xlarge": 3.06,
    "c5.24xlarge": 4.08,
}
# Fargate, 1 vCPU / 4 GiB, per running task-hour (textbook chapter 8).
FARGATE_TASK_HOURLY = 0.025

# What a deployed-but-idle hands-on costs per hour, by hands-on name.
IDLE_HOURLY = {
    "ddb": 0.0,
    "s3": 0.0,
    "ec2": EC2_HOURLY["t2.micro"],  # its default type
    "dnn": EC2_HOURLY["g4dn.xlarge"],  # its default type
    "qa": 0.0,  # no NAT gateway; tasks cost per run
    "batch": 0.0,  # the compute environment scales to 0 instances when no job runs
    "haiku": 0.0,  # serverless: per request
    "lambda": 0.0,
}


def ec2_hourly(instance_type: str) -> float | None:
    return EC2_HOURLY.get(instance_type)


def idle_hourly(hands_on: str) -> float | None:
    return IDLE_HOURLY.get(hands_on)
