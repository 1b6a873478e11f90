"""Built-in on-demand prices (USD) of the regions the course uses, for when the Pricing API
cannot answer: the local cloud, no permission, no network.

AWS's published list prices for Linux on shared tenancy, by region. They are estimates for
warnings and ``status``, not a bill; on AWS introaws asks the Pricing API first. Every instance
type the hands-ons default to or the textbook names (and the CPU types the smoke suite uses for
Batch) is here, for every region listed.
"""

from __future__ import annotations

# What a rate's key means (``ec2:<type>`` is an instance-hour).
UNITS = {
    "ec2": "per instance-hour",
    "fargate:vcpu-hour": "per vCPU-hour of a running Fargate task (x86, Linux)",
    "fargate:gb-hour": "per GB-hour of a running Fargate task's memory",
    "ebs:gp3-gb-month": "per GB-month of a gp3 volume",
    "ipv4:hour": "per public IPv4 address-hour",
}

PRICES: dict[str, dict[str, float]] = {
    "us-east-1": {
        "ec2:t2.micro": 0.0116,
        "ec2:t2.small": 0.023,
        "ec2:t2.medium": 0.0464,
        "ec2:t3.micro": 0.0104,
        "ec2:t3.small": 0.0208,
        "ec2:t3.medium": 0.0416,
        "ec2:g4dn.xlarge": 0.526,
        "ec2:g4dn.2xlarge": 0.752,
        "ec2:g5.xlarge": 1.006,
        "ec2:p2.xlarge": 0.9,
        "ec2:p3.2xlarge": 3.06,
        "ec2:c5.large": 0.085,
        "ec2:c5.xlarge": 0.17,
        "ec2:c5.24xlarge": 4.08,
        "fargate:vcpu-hour": 0.04048,
        "fargate:gb-hour": 0.004445,
        "ebs:gp3-gb-month": 0.08,
        "ipv4:hour": 0.005,
    },
    "ap-northeast-1": {
        "ec2:t2.micro": 0.0152,
        "ec2:t2.small": 0.0304,
        "ec2:t2.medium": 0.0608,
        "ec2:t3.micro": 0.0136,
        "ec2:t3.small": 0.0272,
        "ec2:t3.medium": 0.0544,
        "ec2:g4dn.xlarge": 0.71,
        "ec2:g4dn.2xlarge": 1.015,
        "ec2:g5.xlarge": 1.459,
        "ec2:p2.xlarge": 1.542,
        "ec2:p3.2xlarge": 4.194,
        "ec2:c5.large": 0.107,
        "ec2:c5.xlarge": 0.214,
        "ec2:c5.24xlarge": 5.136,
        "fargate:vcpu-hour": 0.05056,
        "fargate:gb-hour": 0.00553,
        "ebs:gp3-gb-month": 0.096,
        "ipv4:hour": 0.005,
    },
}


def rate(region: str, key: str) -> float | None:
    return PRICES.get(region, {}).get(key)
