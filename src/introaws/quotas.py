"""EC2 vCPU quotas (Service Quotas codes) by instance family, and where to ask for more.

New accounts often start with 0 vCPUs for GPU families: hands-on 2 checks before ``up`` and
hands-on 4 explains a job stuck in RUNNABLE with the same codes and link.
"""

from __future__ import annotations

# "Running On-Demand ... instances" (vCPUs), by instance family prefix.
ON_DEMAND = {"g": "L-DB2E81BA", "vt": "L-DB2E81BA", "p": "L-417A185B"}
STANDARD_ON_DEMAND = "L-1216C47A"
G_SPOT = "L-3819A6DF"  # All G and VT Spot Instance Requests
REQUEST_URL = "https://console.aws.amazon.com/servicequotas/home/services/ec2/quotas/{code}"


def on_demand_code(instance_type: str) -> str:
    family = instance_type.split(".", 1)[0]
    for prefix, code in ON_DEMAND.items():
        if family.startswith(prefix) and family[len(prefix) : len(prefix) + 1].isdigit():
            return code
    return STANDARD_ON_DEMAND


def request_url(code: str) -> str:
    return REQUEST_URL.format(code=code)
