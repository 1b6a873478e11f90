"""Where an instance can run: an availability zone of the region that offers its type.

Not every zone offers every type (g4dn is missing from some zones of some regions, and
zone names map to different physical zones in each account), so the first zone by name may
refuse the instance minutes into a deploy. ``up`` asks EC2 which zones offer the type and
builds the network there.
"""

from __future__ import annotations

from introaws.errors import UsageError
from introaws.i18n import _
from introaws.progress import Event, Reporter, silent
from introaws.target import Target


def zone_for(target: Target, instance_type: str, report: Reporter = silent) -> str:
    """The first availability zone (by name) of the target's region that offers the type."""
    ec2 = target.client("ec2")
    standard = {
        zone["ZoneName"]
        for zone in ec2.describe_availability_zones(
            Filters=[{"Name": "zone-type", "Values": ["availability-zone"]}, {"Name": "state", "Values": ["available"]}]
        )["AvailabilityZones"]
    }
    offering = {
        offer["Location"]
        for page in ec2.get_paginator("describe_instance_type_offerings").paginate(
            LocationType="availability-zone", Filters=[{"Name": "instance-type", "Values": [instance_type]}]
        )
        for offer in page["InstanceTypeOfferings"]
    }
    usable = sorted(offering & standard)
    if not usable:
        raise UsageError(
            _("{instance_type} is not offered in any availability zone of {region}").format(
                instance_type=instance_type, region=target.region
            ),
            _("check the type's name, or choose another --instance-type or --region"),
        )
    report(
        Event(
            "info",
            _("{instance_type} in {zone} (offered in {zones})").format(
                instance_type=instance_type, zone=usable[0], zones=", ".join(usable)
            ),
        )
    )
    return usable[0]
