"""``Ec2ForDl``: a GPU server with the Deep Learning AMI, for Jupyter and PyTorch (textbook ch. 6; background: ch. 5).

The network and security group are hands-on 1's, in a zone that offers the instance type. The
image is a PyTorch Deep Learning AMI of the deploy region, read from AWS's public SSM parameter
``ami_parameter`` when the stack is deployed (``up`` names the newest one; the pinned
:data:`DLAMI_PARAMETER` is the fall-back; never a hard-coded AMI id; ``ami`` overrides it). ``idle_stop_minutes`` installs a
systemd timer on the instance that stops it after that long with no SSH session and no busy
CPU or GPU, so a forgotten GPU box does not bill all day.
"""

from __future__ import annotations

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from introaws.stacks import DNN_ROOT_VOLUME_GIB, IDLE_STOP_TAG
from introaws.stacks.base import new_stack
from introaws.stacks.ec2 import instance_outputs, public_network

# The PyTorch DLAMI on Amazon Linux 2023 (x86_64), published by AWS in every region: the
# fall-back when ``up`` could not look up a newer one.
DLAMI_PARAMETER = (
    "/aws/service/deeplearning/ami/x86_64/oss-nvidia-driver-gpu-pytorch-2.13-amazon-linux-2023/latest/ami-id"
)

_IDLE_CHECK = """#!/bin/bash
# Stop this instance after {minutes} minutes with no SSH session and no busy CPU or GPU.
mark=/var/lib/introaws-idle-since
now=$(date +%s)
busy=0
pgrep -f 'sshd: .*@' >/dev/null && busy=1
awk '{{exit !($1 > 0.5)}}' /proc/loadavg && busy=1
if command -v nvidia-smi >/dev/null; then
  gpu=$(nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits | sort -n | tail -1)
  [ "${{gpu:-0}}" -gt 5 ] && busy=1
fi
if [ "$busy" = 1 ] || [ ! -f "$mark" ]; then echo "$now" > "$mark"; exit 0; fi
[ $((now - $(cat "$mark"))) -ge $(({minutes} * 60)) ] && shutdown -h now
"""


def idle_stop_commands(minutes: int) -> list[str]:
    unit = "/etc/systemd/system/introaws-idle-stop"
    return [
        f"cat > /usr/local/sbin/introaws-idle-stop <<'EOF'\n{_IDLE_CHECK.format(minutes=minutes)}EOF",
        "chmod 755 /usr/local/sbin/introaws-idle-stop",
        f"printf '[Service]\\nType=oneshot\\nExecStart=/usr/local/sbin/introaws-idle-stop\\n' > {unit}.service",
        f"printf '[Timer]\\nOnBootSec=5min\\nOnUnitActiveSec=1min\\n[Install]\\nWantedBy=timers.target\\n' > {unit}.timer",
        "systemctl daemon-reload && systemctl enable --now introaws-idle-stop.timer",
    ]


@jsii.implements(ec2.IMachineImage)
class _GivenImage:
    """An AMI id the user chose (``--ami``), the same in whatever region the stack lands."""

    def __init__(self, ami: str) -> None:
        self.ami = ami

    def get_image(self, scope: Construct) -> ec2.MachineImageConfig:
        return ec2.MachineImageConfig(
            image_id=self.ami, os_type=ec2.OperatingSystemType.LINUX, user_data=ec2.UserData.for_linux()
        )


def build(
    scope: Construct,
    stack_name: str,
    *,
    key_name: str,
    ssh_from: str,
    instance_type: str = "g4dn.xlarge",
    ami: str | None = None,
    ami_parameter: str = DLAMI_PARAMETER,
    idle_stop_minutes: int = 0,
    zone: str | None = None,
) -> cdk.Stack:
    stack = new_stack(scope, stack_name, "dnn", "a GPU server with the Deep Learning AMI")
    vpc, group = public_network(stack, stack_name, ssh_from, zone)
    machine_image = (
        _GivenImage(ami)
        if ami
        else ec2.MachineImage.from_ssm_parameter(ami_parameter, os=ec2.OperatingSystemType.LINUX)
    )
    user_data = ec2.UserData.for_linux()
    if idle_stop_minutes:
        user_data.add_commands(*idle_stop_commands(idle_stop_minutes))
    instance = ec2.Instance(
        stack,
        f"{stack_name}-Instance",
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        instance_type=ec2.InstanceType(instance_type),
        machine_image=machine_image,
        security_group=group,
        key_pair=ec2.KeyPair.from_key_pair_name(stack, "KeyPair", key_name),
        user_data=user_data if idle_stop_minutes else None,
        block_devices=[
            ec2.BlockDevice(
                device_name="/dev/xvda",
                volume=ec2.BlockDeviceVolume.ebs(
                    DNN_ROOT_VOLUME_GIB, volume_type=ec2.EbsDeviceVolumeType.GP3, delete_on_termination=True
                ),
            )
        ],
        associate_public_ip_address=True,
    )
    if idle_stop_minutes:
        cdk.Tags.of(instance).add(IDLE_STOP_TAG, str(idle_stop_minutes))
    instance_outputs(stack, instance)
    return stack
