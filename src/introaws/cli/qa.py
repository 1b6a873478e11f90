"""``introaws qa``: the question-answering bot on ECS Fargate (textbook ch. 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from introaws.cli import context, render
from introaws.cli.stackcmds import Lifecycle, add_lifecycle
from introaws.i18n import N_, _

app = context.group()  # its help line: GROUPS in cli/app.py

ANSWER_COLUMNS = [N_("question"), N_("answer"), N_("score")]


def _score(value: object) -> str:
    return "" if value is None else f"{float(value):.4f}"  # type: ignore[arg-type]


def _options(
    model: str = typer.Option(
        None,
        "--model",
        envvar="QA_MODEL",
        help=N_("Hub id, or (local cloud) a model directory [default: distilbert-base-cased-distilled-squad]."),
    ),
    image: str = typer.Option(None, "--image", help=N_("Image URI to run (AWS: skips the Docker build).")),
) -> dict[str, Any]:
    return {"model": model, "image": image}


def _params(target: Any, chosen: dict[str, Any], report: Any) -> dict[str, Any]:
    from introaws.workflows import qa

    return qa.params(target, chosen["model"], chosen["image"])


def _check(runs_here: bool, chosen: dict[str, Any], report: Any) -> None:
    if runs_here:  # the tasks load the model on this machine
        from introaws.workflows import qa

        qa.check_model(chosen["model"], report)


def _deploy(target: Any, chosen: dict[str, Any], dry_run: bool, wait: bool, report: Any) -> Any:
    from introaws.workflows import qa

    return qa.up(target, model=chosen["model"], image=chosen["image"], dry_run=dry_run, report=report)


add_lifecycle(
    app,
    "qa",
    Lifecycle(
        up_help=N_("Deploy stack EcsClusterQaBot: table, VPC (public subnets), cluster, Fargate task, ECR."),
        options=_options,
        params=_params,
        check=_check,
        deploy=_deploy,
        up_waits=True,  # the image is pushed to the stack's repository once it exists
        next_step=N_('ask with: introaws qa ask "CONTEXT" "QUESTION"   (or: introaws qa ask-many)'),
        losing=N_("and all its answers"),
        down_help=N_("Destroy the qa hands-on and all its answers; buckets and repositories are emptied first."),
    ),
)


@app.command("ask", help=N_("Run one Fargate task for QUESTION, follow its status, print the answer and its score."))
def ask(
    ctx: typer.Context,
    context_text: str = typer.Argument(..., metavar="CONTEXT", help=N_("A paragraph that contains the answer.")),
    question: str = typer.Argument(..., help=N_("The question about it.")),
    timeout: float = typer.Option(600, "--timeout", min=1, help=N_("Seconds to wait for the task.")),
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import qa

    try:
        with render.progress() as report:
            outcome = qa.ask(context.target(ctx), context_text, question, timeout=timeout, report=report)
    except qa.TaskFailed as failed:
        if failed.log_tail:
            render.note(_("last log lines:") + "".join(f"\n  {line}" for line in failed.log_tail))
        raise
    if json_out:
        render.print_json(outcome.to_dict())
        return
    render.key_values(
        {
            _("answer"): outcome.answer,
            _("score"): _score(outcome.score),
            _("span"): f"{outcome.start}:{outcome.end}",
            _("item_id"): outcome.item_id,
        }
    )


@app.command("ask-many", help=N_("Ask many questions at once, one task each; a bad entry fails alone."))
def ask_many(
    ctx: typer.Context,
    file: Path = typer.Argument(
        None,
        help=N_("JSON list or JSONL of {context, question} [default: the 9-question sample shipped with introaws]."),
    ),
    concurrency: int = typer.Option(None, "--concurrency", min=1, help=N_("Tasks in flight at once [default: all].")),
    wait: bool = typer.Option(
        True, "--wait/--no-wait", help=N_("Wait for the answers (--no-wait: submit and return).")
    ),
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import qa

    questions = qa.load_questions(file)
    target = context.target(ctx)
    with render.progress(total=len(questions), description=_("answering")) as report:
        outcomes = qa.ask_many(target, questions, concurrency=concurrency, wait=wait, report=report)
    failed = [o for o in outcomes if o.status == "failed"]
    if json_out:
        render.print_json([o.to_dict() for o in outcomes])
    else:
        render.table(
            (_("{done} of {total} answered") if wait else _("{done} of {total} submitted")).format(
                done=len(outcomes) - len(failed), total=len(outcomes)
            ),
            [_("#"), _("question"), _("answer"), _("score"), _("status")],
            [
                [n, o.question, o.answer if o.status == "answered" else o.reason, _score(o.score), o.status]
                for n, o in enumerate(outcomes, 1)
            ],
        )
    if not wait and not json_out:
        render.note(_("read the answers when the tasks have stopped: introaws qa answers"))
    if failed:
        render.warning(
            _("{failed_count} of {outcomes_count} questions failed").format(
                failed_count=len(failed), outcomes_count=len(outcomes)
            )
        )
        raise typer.Exit(1)


@app.command("answers", help=N_("Saved answers, newest first."))
def answers(
    ctx: typer.Context,
    limit: int = typer.Option(None, "--limit", min=1, help=N_("Newest N only.")),
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import qa

    items = qa.answers(context.target(ctx), limit)
    if json_out:
        render.print_json(items)
        return
    render.table(
        _("{items_count} answers").format(items_count=len(items)),
        [_("created"), _("question"), _("answer"), _("score"), _("item_id")],
        [
            [i.get("created_at", ""), i.get("question"), i.get("answer"), _score(i.get("score")), i.get("item_id")]
            for i in items
        ],
    )


@app.command("clear", help=N_("Delete every saved answer."))
def clear(ctx: typer.Context, yes: bool = context.YES_OPTION, json_out: bool = context.JSON_OPTION) -> None:
    from introaws.workflows import qa

    target = context.target(ctx)
    context.confirm(_("delete every saved answer on the {cloud} cloud?").format(cloud=target.cloud), yes)
    deleted = qa.clear(target)
    if json_out:
        render.print_json({"deleted": deleted})
    else:
        render.success(_("deleted {deleted} answers").format(deleted=deleted))


@app.command("logs", help=N_("A task's output, from CloudWatch Logs."))
def logs(
    ctx: typer.Context,
    task_id: str = typer.Argument(None, help=N_("Task id or ARN [default: the task that logged last].")),
    lines: int = context.LINES_OPTION,
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import qa

    target = context.target(ctx)
    task_id = task_id or qa.last_task(target)
    output = qa.logs(target, task_id, lines)
    if json_out:
        render.print_json({"task": task_id, "lines": output})
    else:
        render.lines(output)
