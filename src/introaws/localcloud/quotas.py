"""Service Quotas for the vCPU quotas clients check before asking for instances or tasks.

moto's Service Quotas knows VPC's quotas only, so a client that checks its EC2 or Fargate
vCPU quota first (``introaws --cloud aws dnn up`` pointed here, ``qa ask-many``'s concurrency)
would stop at an error no account gives. The local cloud runs instances and tasks on this
machine and has no such quotas; it answers ``GetServiceQuota`` for them as an account whose
quotas were raised for the course would: enough vCPUs for the largest hands-on (the Batch
compute environment's 64). Other codes are moto's to answer (or to refuse, as AWS does).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from introaws.localcloud.front import Reply
    from introaws.localcloud.requests import Recorded

VCPUS = 64.0
# (service code, quota code) -> AWS's name of the quota
NAMES = {
    ("ec2", "L-1216C47A"): "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
    ("ec2", "L-DB2E81BA"): "Running On-Demand G and VT instances",
    ("ec2", "L-417A185B"): "Running On-Demand P instances",
    ("ec2", "L-3819A6DF"): "All G and VT Spot Instance Requests",
    ("fargate", "L-3032A538"): "Fargate On-Demand vCPU resource count",
}
_SERVICES = {"ec2": "Amazon Elastic Compute Cloud (Amazon EC2)", "fargate": "AWS Fargate"}


def answer(request: Recorded, account: str) -> Reply | None:
    """The applied value of a vCPU quota in the table; None for anything else."""
    if request.service != "servicequotas" or request.action != "GetServiceQuota":
        return None
    try:
        params = json.loads(request.body or b"{}")
    except ValueError:
        return None
    key = (params.get("ServiceCode"), params.get("QuotaCode"))
    if key not in NAMES:
        return None
    from introaws.localcloud.front import Reply

    service, code = key
    quota = {
        "ServiceCode": service,
        "ServiceName": _SERVICES[service],
        "QuotaArn": f"arn:aws:servicequotas:{request.region}:{account}:{service}/{code}",
        "QuotaCode": code,
        "QuotaName": NAMES[key],
        "Value": VCPUS,
        "Unit": "None",
        "Adjustable": True,
        "GlobalQuota": False,
    }
    return Reply.json({"Quota": quota})
