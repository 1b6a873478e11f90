"""The QA bot hands-on (textbook ch. 8): one ECS Fargate task per question.

A question is a ``RunTask`` whose container command is the textbook's contract (context,
question, item id); the task writes its answer to the table, and the caller reads it back
from there once the task has STOPPED. On the local cloud the same tasks run as local
processes (see :mod:`introaws.localcloud.runtime.ecs`).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from introaws import quotas
from introaws.deploy.engine import DeployResult
from introaws.errors import IntroawsError, MissingTool, NotFound, UsageError
from introaws.i18n import _
from introaws.progress import Event, Reporter, silent
from introaws.target import Target
from introaws.workflows import lifecycle, qa_model

DEFAULT_MODEL = "distilbert-base-cased-distilled-squad"  # the payload's default too
# RunTask refuses overrides larger than this (AWS's limit on the overrides structure).
OVERRIDES_LIMIT = 8192
LOG_TAIL_LINES = 20
DESCRIBE_BATCH = 100  # DescribeTasks takes at most 100 tasks
RUN_TASK_TRIES = 5  # pauses of 1, 2, 4 and 8 poll intervals between them
_THROTTLED = ("ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded")
_NO_CAPACITY = ("Capacity is unavailable", "capacity is unavailable")


class TaskFailed(IntroawsError):
    """A task stopped without an answer; carries its last log lines."""

    def __init__(self, message: str, hint: str, log_tail: list[str]) -> None:
        super().__init__(message, hint)
        self.log_tail = log_tail


@dataclass(frozen=True)
class Deployment:
    """What the workflow needs from the stack's outputs."""

    cluster: str
    task_definition: str
    container: str
    subnets: list[str]
    security_group: str
    table: str


@dataclass
class Outcome:
    """One question's fate: answered, failed (with why) or only submitted (--no-wait)."""

    question: str
    context: str
    status: str  # "answered" | "failed" | "submitted"
    item_id: str = ""
    task_arn: str = ""
    answer: str | None = None
    score: float | None = None
    start: int | None = None
    end: int | None = None
    reason: str = ""
    exit_code: int | None = None
    log_tail: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- life cycle ------------------------------------------------------------------------


def model_name(model: str | None = None) -> str:
    """The model ``up`` deploys: ``model``, else ``$QA_MODEL``, else the default."""
    return model or os.environ.get("QA_MODEL") or DEFAULT_MODEL


def check_model(model: str | None = None, report: Reporter = silent) -> None:
    """Where tasks run on this machine, check before anything is deployed (or the local cloud
    started) that the model loads here: a model folder, or a hub id that is cached or
    downloadable (one quick request), instead of tasks failing one by one after the hub
    client's retries."""
    _require_ml()
    chosen = model_name(model)
    if qa_model.availability(chosen).source == "hub":  # refuses when the model is nowhere
        report(
            Event(
                "info",
                _(
                    "{chosen} is not on this machine yet: the first task downloads it "
                    "('introaws data qa-model' fetches it ahead of time)"
                ).format(chosen=chosen),
            )
        )


def up(
    target: Target,
    *,
    model: str | None = None,
    image: str | None = None,
    dry_run: bool = False,
    report: Reporter = silent,
) -> DeployResult:
    """Deploy ``EcsClusterQaBot`` (where tasks run here, after :func:`check_model`); on AWS
    without ``image``, build and push containers/qa."""
    values = params(target, model, image)
    docker = None
    if not target.kind.runs_here and not image and not dry_run:
        from introaws.deploy import images

        docker = images.docker_client()  # no engine: say so before anything is deployed
    result = lifecycle.up(target, "qa", values, dry_run=dry_run, report=report)
    if docker is not None:
        spec = images.ImageSpec("qa", build_args={"QA_MODEL": values["model"]})
        images.build_and_push(target, spec, result.outputs["RepositoryUri"], docker, report)
    return result


def params(target: Target, model: str | None = None, image: str | None = None) -> dict[str, Any]:
    """The stack's parameters: the model (a hub id, or on the local cloud a directory, made
    absolute) and the image to run, if given."""
    chosen = model_name(model)
    folder = qa_model.folder(chosen)
    if folder is not None:
        if not target.kind.runs_here:
            raise UsageError(
                _("a model directory ({chosen}) cannot reach a Fargate task").format(chosen=chosen),
                _("give a Hugging Face hub id, e.g. --model {model}").format(model=DEFAULT_MODEL),
            )
        chosen = str(folder)
    values: dict[str, Any] = {"model": chosen}
    if image:
        values["image"] = image
    return values


def deployment(target: Target) -> Deployment:
    outputs = lifecycle.deployed(target, "qa").outputs
    try:
        return Deployment(
            cluster=outputs["ClusterName"],
            task_definition=outputs["TaskDefinitionArn"],
            container=outputs["ContainerName"],
            subnets=outputs["SubnetIds"].split(","),
            security_group=outputs["SecurityGroupId"],
            table=outputs["TableName"],
        )
    except KeyError as missing:
        raise NotFound(
            _("stack EcsClusterQaBot has no output {missing}").format(missing=missing),
            _("redeploy with 'introaws qa up'"),
        ) from None


# --- asking ----------------------------------------------------------------------------


def submit(target: Target, where: Deployment, context: str, question: str) -> tuple[dict[str, Any], str]:
    """Run one task for the question; returns (the task as RunTask described it, item id)."""
    context, question = _checked(context, question)
    item_id = uuid.uuid4().hex
    overrides = {"containerOverrides": [{"name": where.container, "command": [context, question, item_id]}]}
    if len(json.dumps(overrides)) > OVERRIDES_LIMIT:
        raise UsageError(
            _("context and question are over RunTask's {limit}-byte override limit").format(limit=OVERRIDES_LIMIT),
            _("shorten the context (a few paragraphs at most)"),
        )
    response = _run_task(target, where, overrides)
    if response.get("failures") or not response.get("tasks"):
        failure = (response.get("failures") or [{}])[0]
        raise IntroawsError(
            _("ECS did not start the task: {reason}").format(reason=failure.get("reason", "no reason given")),
            _("check the cluster with 'introaws qa status'"),
        )
    return response["tasks"][0], item_id


def _run_task(target: Target, where: Deployment, overrides: dict[str, Any]) -> dict[str, Any]:
    """RunTask, tried again with growing pauses while Fargate has no capacity or ECS throttles
    (both pass in seconds to minutes); other answers are returned as they are."""
    ecs = target.client("ecs")
    attempt = 0
    while True:
        last = attempt == RUN_TASK_TRIES - 1
        try:
            response = ecs.run_task(
                cluster=where.cluster,
                taskDefinition=where.task_definition,
                launchType="FARGATE",
                count=1,
                networkConfiguration={
                    "awsvpcConfiguration": {
                        "subnets": where.subnets,
                        "securityGroups": [where.security_group],
                        "assignPublicIp": "ENABLED",
                    }
                },
                overrides=overrides,
            )
        except ecs.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            throttled = error.get("Code") in _THROTTLED or "Rate exceeded" in str(error.get("Message", ""))
            if last or not throttled:
                raise
        else:
            reasons = " ".join(str(f.get("reason", "")) for f in response.get("failures") or [])
            if last or response.get("tasks") or not any(m in reasons for m in _NO_CAPACITY):
                return response
        time.sleep(target.poll_interval * 2**attempt)
        attempt += 1


def default_concurrency(target: Target, where: Deployment, wanted: int, report: Reporter = silent) -> int:
    """As many tasks at once as asked, but no more than the account's Fargate On-Demand vCPU
    quota holds (tasks past it fail to start); the local cloud has no such quota."""
    if wanted <= 1:
        return wanted
    return target.kind.check_account(_fargate_bound, where, wanted, report) or wanted


def _fargate_bound(target: Target, where: Deployment, wanted: int, report: Reporter) -> int:
    definition = target.client("ecs").describe_task_definition(taskDefinition=where.task_definition)
    task_vcpus = int(definition["taskDefinition"].get("cpu") or 1024) / 1024
    try:
        quota = quotas.current(target, "fargate", quotas.FARGATE_ON_DEMAND_VCPUS)
    except Exception as exc:  # no permission to read quotas: AWS will say so if tasks do not start
        report(
            Event(
                "info",
                _("could not read the Fargate vCPU quota ({name}); starting {wanted} tasks").format(
                    name=type(exc).__name__, wanted=wanted
                ),
            )
        )
        return wanted
    allowed = max(1, int(quota.value // task_vcpus))
    if allowed < wanted:
        report(
            Event(
                "info",
                _(
                    "{allowed} tasks at a time: your '{name}' quota in {region} is {quota:g} vCPUs and a task "
                    "takes {task_vcpus:g} (--concurrency to choose; more at {url})"
                ).format(
                    allowed=allowed,
                    name=quota.name,
                    region=target.region,
                    quota=quota.value,
                    task_vcpus=task_vcpus,
                    url=quotas.request_url(quotas.FARGATE_ON_DEMAND_VCPUS, "fargate"),
                ),
            )
        )
    return min(wanted, allowed)


def ask(target: Target, context: str, question: str, *, timeout: float = 600, report: Reporter = silent) -> Outcome:
    """Ask one question: run its task, follow its status, read the answer from the table."""
    where = deployment(target)
    report(Event("step", _("submitting the task")))
    task, item_id = submit(target, where, context, question)
    arn = task["taskArn"]
    report(Event("info", _("task {arn}").format(arn=arn)))
    last = ""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        if task["lastStatus"] != last:
            if task["lastStatus"] == "STOPPED" and task.get("startedAt") and last in ("", "PROVISIONING", "PENDING"):
                # It ran between two polls: ECS's startedAt says so, so the user sees it too.
                report(
                    Event(
                        "status",
                        _("RUNNING"),
                        {"task": arn, "status": "RUNNING", "elapsed": time.monotonic() - started},
                    )
                )
            last = task["lastStatus"]
            report(Event("status", last, {"task": arn, "status": last, "elapsed": time.monotonic() - started}))
        if last == "STOPPED":
            break
        time.sleep(target.poll_interval)
        # Right after RunTask, DescribeTasks may not know the task yet (MISSING): keep waiting.
        task = _describe(target, where, [arn]).get(arn, task)
        if time.monotonic() > deadline and task["lastStatus"] != "STOPPED":
            target.client("ecs").stop_task(cluster=where.cluster, task=arn, reason="introaws qa ask timed out")
            raise IntroawsError(
                _("the task did not finish within {timeout:.0f} s; it was stopped").format(timeout=timeout),
                _("try again with a larger --timeout"),
            )
    outcome = _outcome(target, where, context, question, item_id, task)
    if outcome.status != "answered":
        raise TaskFailed(
            _("the task failed: {reason}").format(reason=outcome.reason),
            _("see 'introaws qa logs {task}'").format(task=arn.rsplit("/", 1)[-1]),
            outcome.log_tail,
        )
    return outcome


def ask_many(
    target: Target,
    questions: list[Any],
    *,
    concurrency: int | None = None,
    wait: bool = True,
    report: Reporter = silent,
) -> list[Outcome]:
    """Ask every question; at most ``concurrency`` tasks in flight. A bad entry fails alone."""
    if concurrency is not None and concurrency < 1:
        raise UsageError(
            _("concurrency {concurrency} is not positive").format(concurrency=concurrency),
            _("give --concurrency 1 or more"),
        )
    where = deployment(target)
    outcomes: list[Outcome] = []
    pending: list[Outcome] = []
    for index, entry in enumerate(questions, 1):
        context, question = (entry.get("context"), entry.get("question")) if isinstance(entry, dict) else (None, None)
        if not isinstance(context, str) or not isinstance(question, str):
            outcomes.append(
                Outcome(
                    str(question or ""),
                    str(context or ""),
                    "failed",
                    reason=f"entry {index} needs string fields 'context' and 'question'",
                )
            )
            continue
        outcome = Outcome(question, context, "submitted")
        outcomes.append(outcome)
        pending.append(outcome)
    total = len(outcomes)
    done = total - len(pending)
    report(Event("progress", f"{done}/{total}", {"done": done, "total": total}))
    limit = concurrency or default_concurrency(target, where, len(pending) or 1, report)
    running: dict[str, Outcome] = {}
    while pending or (wait and running):
        while pending and (len(running) < limit or not wait):
            outcome = pending.pop(0)
            try:
                task, outcome.item_id = submit(target, where, outcome.context, outcome.question)
                outcome.task_arn = task["taskArn"]
                running[outcome.task_arn] = outcome
            except IntroawsError as exc:
                outcome.status, outcome.reason = "failed", exc.message
                done += 1
                report(Event("progress", f"{done}/{total}", {"done": done, "total": total}))
        if not wait:
            continue
        time.sleep(target.poll_interval)
        for arn, task in _describe(target, where, list(running)).items():
            if task["lastStatus"] != "STOPPED":
                continue
            outcome = running.pop(arn)
            finished = _outcome(target, where, outcome.context, outcome.question, outcome.item_id, task)
            outcomes[next(i for i, o in enumerate(outcomes) if o is outcome)] = finished
            done += 1
            report(Event("progress", f"{done}/{total}", {"done": done, "total": total}))
    return outcomes


def load_questions(path: Path | None) -> list[Any]:
    """Entries of a JSON list or JSONL file (default: the sample set shipped with introaws)."""
    if path is None:
        return list(json.loads(resources.files("introaws.data").joinpath("qa_sample.json").read_text("utf-8")))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            _("cannot read {path}: {strerror}").format(path=path, strerror=exc.strerror),
            _("give a JSON or JSONL file of {context, question}"),
        ) from exc
    try:
        data = json.loads(text)
        entries = data if isinstance(data, list) else [data]
    except ValueError:
        entries = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                entries.append(json.loads(line))
            except ValueError:
                raise UsageError(
                    _("{path} line {number} is not JSON").format(path=path, number=number),
                    _('write a JSON list, or one {"context", "question"} object per line'),
                ) from None
    if not entries:
        raise UsageError(
            _("{path} has no questions").format(path=path), _('add {"context": ..., "question": ...} entries')
        )
    return entries


# --- the answers table and logs ----------------------------------------------------------


def answers(target: Target, limit: int | None = None) -> list[dict[str, Any]]:
    """Saved answers, newest first (a complete, paginated scan)."""
    if limit is not None and limit < 1:
        raise UsageError(_("limit {limit} is not positive").format(limit=limit), _("give --limit 1 or more"))
    table = target.resource("dynamodb").Table(deployment(target).table)
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = table.scan(**kwargs)
        items.extend(_plain(i) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    items.sort(key=lambda i: str(i.get("created_at", "")), reverse=True)
    return items[:limit] if limit else items


def clear(target: Target) -> int:
    """Delete every saved answer; returns how many."""
    table = target.resource("dynamodb").Table(deployment(target).table)
    keys: list[str] = []
    kwargs: dict[str, Any] = {"ProjectionExpression": "item_id"}
    while True:
        page = table.scan(**kwargs)
        keys.extend(i["item_id"] for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    with table.batch_writer() as batch:
        for key in keys:
            batch.delete_item(Key={"item_id": key})
    return len(keys)


def last_task(target: Target) -> str:
    """The id of the task that logged last (``qa logs`` without an id)."""
    group, prefix = _log_stream(target, deployment(target), "")
    newest = target.client("logs").describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True)
    streams = [s["logStreamName"] for s in newest["logStreams"] if s["logStreamName"].startswith(prefix)]
    if not streams:
        raise NotFound(_("no task has logged yet"), _('ask first: introaws qa ask "CONTEXT" "QUESTION"'))
    return str(streams[0][len(prefix) :])


def logs(target: Target, task_id: str, limit: int | None = None) -> list[str]:
    """A task's output lines from CloudWatch Logs (its last ``limit`` lines when given)."""
    where = deployment(target)
    client = target.client("logs")
    task_id = task_id.rsplit("/", 1)[-1]
    group, stream = _log_stream(target, where, task_id)
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": limit is None}
    if limit:
        kwargs["limit"] = limit
    lines: list[str] = []
    try:
        while True:
            page = client.get_log_events(**kwargs)
            lines.extend(e["message"] for e in page["events"])
            token = page.get("nextForwardToken")
            if limit or not page["events"] or token == kwargs.get("nextToken"):
                return lines
            kwargs["nextToken"] = token
    except client.exceptions.ResourceNotFoundException:
        raise NotFound(
            _("no logs for task {task_id}").format(task_id=task_id),
            _("check the id with 'introaws qa answers' or the output of 'qa ask'"),
        ) from None


# --- helpers -------------------------------------------------------------------------------


def _require_ml() -> None:
    """The local cloud runs the task here, so torch and transformers must be installed."""
    import importlib.util

    missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingTool(
            _("the QA task needs {missing} to run on the local cloud").format(missing=" and ".join(missing)),
            _("pip install 'introaws[ml]'"),
        )


def _checked(context: str, question: str) -> tuple[str, str]:
    if not context.strip():
        raise UsageError(_("the context is empty"), _("give a paragraph that contains the answer"))
    if not question.strip():
        raise UsageError(_("the question is empty"), _("ask something about the context"))
    return context, question


def _describe(target: Target, where: Deployment, arns: list[str]) -> dict[str, dict[str, Any]]:
    ecs = target.client("ecs")
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(arns), DESCRIBE_BATCH):
        response = ecs.describe_tasks(cluster=where.cluster, tasks=arns[start : start + DESCRIBE_BATCH])
        found.update({t["taskArn"]: t for t in response["tasks"]})
    return found


def _outcome(
    target: Target, where: Deployment, context: str, question: str, item_id: str, task: dict[str, Any]
) -> Outcome:
    """What a STOPPED task left: its answer from the table, or why it has none."""
    outcome = Outcome(question, context, "failed", item_id=item_id, task_arn=task["taskArn"])
    container = (task.get("containers") or [{}])[0]
    outcome.exit_code = container.get("exitCode")
    item = None
    if outcome.exit_code == 0:
        item = target.resource("dynamodb").Table(where.table).get_item(Key={"item_id": item_id}).get("Item")
    if item is not None:
        plain = _plain(item)
        outcome.status = "answered"
        outcome.answer, outcome.score = plain["answer"], plain["score"]
        outcome.start, outcome.end = plain["start"], plain["end"]
        return outcome
    reason = task.get("stoppedReason") or "stopped"
    if outcome.exit_code is not None:
        reason += f" (exit code {outcome.exit_code})"
    outcome.log_tail = _log_tail(target, where, task["taskArn"].rsplit("/", 1)[-1])
    errors = [line for line in outcome.log_tail if line.startswith("error:")]
    outcome.reason = f"{reason}: {errors[-1][len('error:') :].strip()}" if errors else reason
    return outcome


def _log_tail(target: Target, where: Deployment, task_id: str) -> list[str]:
    try:
        return logs(target, task_id, limit=LOG_TAIL_LINES)
    except NotFound:
        return []


def _log_stream(target: Target, where: Deployment, task_id: str) -> tuple[str, str]:
    """The task's awslogs group and stream, from the task definition's log configuration."""
    definition = target.client("ecs").describe_task_definition(taskDefinition=where.task_definition)
    container = next(
        c for c in definition["taskDefinition"]["containerDefinitions"] if c.get("name") == where.container
    )
    options = (container.get("logConfiguration") or {}).get("options", {})
    if "awslogs-group" not in options:
        raise NotFound(_("the task definition does not log to CloudWatch Logs"), _("redeploy with 'introaws qa up'"))
    return options["awslogs-group"], f"{options.get('awslogs-stream-prefix', 'ecs')}/{where.container}/{task_id}"


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
        return value

    return {k: convert(v) for k, v in item.items()}
