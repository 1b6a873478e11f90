"""Service quotas introaws checks before it asks for capacity, and where to ask for more.

EC2 vCPU quotas by instance family (new accounts often start with 0 vCPUs for GPU families:
hands-on 2 checks before ``up`` and hands-on 4 explains a job stuck in RUNNABLE with the same
codes and link), and the Fargate vCPU quota that bounds how many QA tasks run at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from introaws.target import Target

# "Running On-Demand ... instances" (vCPUs), by instance family prefix.
ON_DEMAND = {"g": "L-DB2E81BA", "vt": "L-DB2E81BA", "p": "L-417A185B"}
STANDARD_ON_DEMAND = "L-1216C47A"
G_SPOT = "L-3819A6DF"  # All G and VT Spot Instance Requests
FARGATE_ON_DEMAND_VCPUS = "L-3032A538"  # Fargate On-Demand vCPU resource count
REQUEST_URL = "https://console.aws.amazon.com/servicequotas/home/services/{service}/quotas/{code}"


class Quota(NamedTuple):
    value: float
    name: str


def on_demand_code(instance_type: str) -> str:
    family = instance_type.split(".", 1)[0]
    for prefix, code in ON_DEMAND.items():
        if family.startswith(prefix) and family[len(prefix) : len(prefix) + 1].isdigit():
            return code
    return STANDARD_ON_DEMAND


def has_gpu(instance_type: str) -> bool:
    """An NVIDIA GPU family (g4dn, g5, p3, …): what a job definition asking for a GPU needs."""
    family = instance_type.split(".", 1)[0]
    return family[:1] in ("g", "p") and family[1:2].isdigit()


def request_url(code: str, service: str = "ec2") -> str:
    return REQUEST_URL.format(service=service, code=code)


def current(target: Target, service: str, code: str) -> Quota:
    """The account's value of a quota in the target's region: the applied one, else AWS's
    default (a quota never raised has no applied value)."""
    client = target.client("service-quotas")
    try:
        quota = client.get_service_quota(ServiceCode=service, QuotaCode=code)["Quota"]
    except client.exceptions.NoSuchResourceException:
        quota = client.get_aws_default_service_quota(ServiceCode=service, QuotaCode=code)["Quota"]
    return Quota(float(quota["Value"]), str(quota.get("QuotaName", code)))
