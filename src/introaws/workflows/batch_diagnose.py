"""Why is a Batch job stuck in RUNNABLE? The usual causes, checked one by one.

On AWS a job waits in RUNNABLE while no instance can take it: the compute environment is
disabled or invalid, its ``maxvCpus`` is below what the job asks, the account's vCPU quota
for the instance family is too low (new accounts have 0 for G instances), or the instance
type cannot hold the job's vCPUs, memory or GPUs at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from introaws import quotas
from introaws.i18n import _
from introaws.target import Target


@dataclass(frozen=True)
class Finding:
    text: str
    blocking: bool  # the job can never start while this holds


def diagnose(target: Target, job_id: str) -> list[Finding]:
    batch = target.client("batch")
    jobs = batch.describe_jobs(jobs=[job_id])["jobs"]
    if not jobs:
        return [Finding(_("job {job_id} not found").format(job_id=job_id), True)]
    job = jobs[0]
    need = _needs(job)
    queue = batch.describe_job_queues(jobQueues=[job["jobQueue"]])["jobQueues"]
    if not queue:
        return [Finding(_("its job queue no longer exists"), True)]
    findings: list[Finding] = []
    if queue[0].get("state") != "ENABLED":
        findings.append(Finding(_("the job queue is {state}").format(state=queue[0].get("state")), True))
    arns = [o["computeEnvironment"] for o in queue[0].get("computeEnvironmentOrder", [])]
    for env in batch.describe_compute_environments(computeEnvironments=arns)["computeEnvironments"]:
        findings += _environment(target, env, need)
    if not any(f.blocking for f in findings):
        running = batch.list_jobs(jobQueue=job["jobQueue"], jobStatus="RUNNING")["jobSummaryList"]
        findings.append(
            Finding(
                _(
                    "nothing blocks it for good: {running} jobs are running and it waits for capacity ({capacity})"
                ).format(running=len(running), capacity=_(target.kind.capacity)),
                False,
            )
        )
    return findings


def _needs(job: dict[str, Any]) -> dict[str, int]:
    container = job.get("container", {})
    needs = {"VCPU": int(container.get("vcpus") or 1), "MEMORY": int(container.get("memory") or 0), "GPU": 0}
    for requirement in container.get("resourceRequirements", []):
        needs[requirement["type"]] = int(float(requirement["value"]))
    return needs


def _environment(target: Target, env: dict[str, Any], need: dict[str, int]) -> list[Finding]:
    name = env["computeEnvironmentName"]
    resources = env.get("computeResources", {})
    findings = []
    if env.get("state") != "ENABLED" or env.get("status") not in (None, "VALID"):
        findings.append(
            Finding(
                _("compute environment {name} is {state}/{status}: {reason}").format(
                    name=name, state=env.get("state"), status=env.get("status"), reason=env.get("statusReason", "")
                ),
                True,
            )
        )
    max_vcpus = int(resources.get("maxvCpus", 0))
    if need["VCPU"] > max_vcpus:
        findings.append(
            Finding(
                _("the job needs {vcpus} vCPUs but compute environment {name} allows at most {max_vcpus}").format(
                    vcpus=need["VCPU"], name=name, max_vcpus=max_vcpus
                ),
                True,
            )
        )
    for instance_type in resources.get("instanceTypes", []):
        findings += _instance_fit(target, instance_type, need)
    return findings + (target.kind.check_account(_quota, resources.get("type") == "SPOT", need["VCPU"]) or [])


def _instance_fit(target: Target, instance_type: str, need: dict[str, int]) -> list[Finding]:
    try:
        info = target.client("ec2").describe_instance_types(InstanceTypes=[instance_type])["InstanceTypes"][0]
    except Exception:  # an instance family ("optimal", "g4dn") has no single answer
        return []
    has = {
        "VCPU": info["VCpuInfo"]["DefaultVCpus"],
        "MEMORY": info["MemoryInfo"]["SizeInMiB"],
        "GPU": sum(g.get("Count", 0) for g in info.get("GpuInfo", {}).get("Gpus", [])),
    }
    short = [
        _("{needed} {unit} (it has {has})").format(needed=need[k], unit=unit, has=has[k])
        for k, unit in (("VCPU", "vCPUs"), ("MEMORY", "MiB"), ("GPU", "GPUs"))
        if need[k] > has[k]
    ]
    if short:
        return [
            Finding(
                _("{instance_type} cannot hold the job: it asks {short}").format(
                    instance_type=instance_type, short=", ".join(short)
                ),
                True,
            )
        ]
    return []


def _quota(target: Target, spot: bool, vcpus: int) -> list[Finding]:
    code = quotas.G_SPOT if spot else quotas.ON_DEMAND["g"]
    try:
        value = target.client("service-quotas").get_service_quota(ServiceCode="ec2", QuotaCode=code)["Quota"]["Value"]
    except Exception as exc:  # no permission or no such quota: say so, do not fail the wait
        return [
            Finding(_("could not read the G-instance vCPU quota ({error})").format(error=type(exc).__name__), False)
        ]
    if value < vcpus:
        return [
            Finding(
                _(
                    "the account's quota for G instances is {quota:g} vCPUs, below the job's {vcpus}; request more at {url}"
                ).format(quota=value, vcpus=vcpus, url=quotas.request_url(code)),
                True,
            )
        ]
    return []
