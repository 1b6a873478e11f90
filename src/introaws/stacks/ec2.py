"""``MyFirstEc2``: one small Linux server you can SSH into (textbook ch. 4).

A VPC of 512 addresses in one availability zone with only a public subnet and no NAT gateway
(a NAT gateway is billed by the hour), a security group that lets SSH in from one CIDR (the
caller's address by default), and one instance of the latest Amazon Linux 2023 with the given
key pair and a public IP.

``ttl_minutes`` makes the instance end itself: it shuts down that long after boot and shutdown
means terminate. The instance is tagged with the TTL so ``status`` can show the time left.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from introaws.stacks import TTL_TAG
from introaws.stacks.base import new_stack, one_zone


def public_network(
    stack: cdk.Stack, prefix: str, ssh_from: str, zone: str | None = None
) -> tuple[ec2.Vpc, ec2.SecurityGroup]:
    """The course's network: 10.10.0.0/23 in one zone, public subnet only, no NAT gateway, and a
    security group letting SSH in from ``ssh_from`` only. Hands-ons 1 and 2 share it."""
    vpc = ec2.Vpc(
        stack,
        f"{prefix}-Vpc",
        ip_addresses=ec2.IpAddresses.cidr("10.10.0.0/23"),
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
        **one_zone(zone),
    )
    group = ec2.SecurityGroup(
        stack, f"{prefix}Vpc-Sg", vpc=vpc, allow_all_outbound=True, description="SSH from one address range"
    )
    group.add_ingress_rule(ec2.Peer.ipv4(ssh_from), ec2.Port.tcp(22), "SSH")
    return vpc, group


def instance_outputs(stack: cdk.Stack, instance: ec2.Instance) -> None:
    cdk.CfnOutput(stack, "InstancePublicIp", value=instance.instance_public_ip)
    cdk.CfnOutput(stack, "InstancePublicDnsName", value=instance.instance_public_dns_name)
    cdk.CfnOutput(stack, "InstanceId", value=instance.instance_id)


def build(
    scope: Construct,
    stack_name: str,
    *,
    key_name: str,
    ssh_from: str,
    instance_type: str = "t2.micro",
    ttl_minutes: int = 0,
) -> cdk.Stack:
    stack = new_stack(scope, stack_name, "ec2", "your first EC2 instance, reached over SSH")
    vpc, group = public_network(stack, stack_name, ssh_from)

    user_data = ec2.UserData.for_linux()
    if ttl_minutes:
        user_data.add_commands(f"shutdown -h +{ttl_minutes}")
    instance = ec2.Instance(
        stack,
        f"{stack_name}Instance",
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        instance_type=ec2.InstanceType(instance_type),
        machine_image=ec2.MachineImage.latest_amazon_linux2023(),
        security_group=group,
        key_pair=ec2.KeyPair.from_key_pair_name(stack, "KeyPair", key_name),
        user_data=user_data if ttl_minutes else None,
        # A new time to live is new user data, which an instance runs only at its first boot:
        # CloudFormation would stop and start it with the TTL unchanged, so replace it instead.
        user_data_causes_replacement=True,
        instance_initiated_shutdown_behavior=(ec2.InstanceInitiatedShutdownBehavior.TERMINATE if ttl_minutes else None),
        associate_public_ip_address=True,
    )
    if ttl_minutes:
        cdk.Tags.of(instance).add(TTL_TAG, str(ttl_minutes))
    instance_outputs(stack, instance)
    return stack
