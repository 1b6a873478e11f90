"""``introaws qa``: the question-answering bot on ECS Fargate (textbook chapter 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from introaws.cli import context, render
from introaws.cli.stackcmds import Lifecycle, add_lifecycle

app = context.group()  # its help line: GROUPS in cli/app.py

ANSWER_COLUMNS = ["question", "answer", "score"]


def _score(value: object) -> str:
    return "" if value is None else f"{float(value):.4f}"  # type: ignore[arg-type]


def _options(
    model: str = typer.Option(
        None,
        "--model",
        envvar="QA_MODEL",
        help="Hub id, or (local cloud) a model directory [default: distilbert-base-cased-distilled-squad].",
    ),
    image: str = typer.Option(None, "--image", help="Image URI to run (AWS: skips the Docker build)."),
) -> dict[str, Any]:
    """Deploy stack EcsClusterQaBot: table, VPC (public subnets), cluster, Fargate task, ECR."""
    return {"model": model, "image": image}


def _params(target: Any, chosen: dict[str, Any], report: Any) -> dict[str, Any]:
    from introaws.workflows import qa

    return qa.params(target, chosen["model"], chosen["image"])


def _deploy(target: Any, chosen: dict[str, Any], dry_run: bool, wait: bool, report: Any) -> Any:
    from introaws.workflows import qa

    return qa.up(target, model=chosen["model"], image=chosen["image"], dry_run=dry_run, report=report)


add_lifecycle(
    app,
    "qa",
    Lifecycle(
        options=_options,
        params=_params,
        deploy=_deploy,
        up_waits=True,  # the image is pushed to the stack's repository once it exists
        next_step='ask with: introaws qa ask "CONTEXT" "QUESTION"   (or: introaws qa ask-many)',
        losing="and all its answers",
    ),
)


@app.command("ask")
def ask(
    ctx: typer.Context,
    context_text: str = typer.Argument(..., metavar="CONTEXT", help="A paragraph that contains the answer."),
    question: str = typer.Argument(..., help="The question about it."),
    timeout: float = typer.Option(600, "--timeout", min=1, help="Seconds to wait for the task."),
    json_out: bool = context.JSON_OPTION,
) -> None:
    """Run one Fargate task for QUESTION, follow its status, print the answer and its score."""
    from introaws.workflows import qa

    try:
        with render.progress() as report:
            outcome = qa.ask(context.target(ctx), context_text, question, timeout=timeout, report=report)
    except qa.TaskFailed as failed:
        if failed.log_tail:
            render.note("last log lines:\n" + "\n".join(f"  {line}" for line in failed.log_tail))
        raise
    if json_out:
        render.print_json(outcome.to_dict())
        return
    render.key_values(
        {
            "answer": outcome.answer,
            "score": _score(outcome.score),
            "span": f"{outcome.start}:{outcome.end}",
            "item_id": outcome.item_id,
        }
    )


@app.command("ask-many")
def ask_many(
    ctx: typer.Context,
    file: Path = typer.Argument(
        None, help="JSON list or JSONL of {context, question} [default: the 9-question sample shipped with introaws]."
    ),
    concurrency: int = typer.Option(None, "--concurrency", min=1, help="Tasks in flight at once [default: all]."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait for the answers (--no-wait: submit and return)."),
    json_out: bool = context.JSON_OPTION,
) -> None:
    """Ask many questions at once, one task each; a bad entry fails alone."""
    from introaws.workflows import qa

    questions = qa.load_questions(file)
    target = context.target(ctx)
    with render.progress(total=len(questions), description="answering") as report:
        outcomes = qa.ask_many(target, questions, concurrency=concurrency, wait=wait, report=report)
    failed = [o for o in outcomes if o.status == "failed"]
    if json_out:
        render.print_json([o.to_dict() for o in outcomes])
    else:
        render.table(
            f"{len(outcomes) - len(failed)} of {len(outcomes)} " + ("answered" if wait else "submitted"),
            ["#", "question", "answer", "score", "status"],
            [
                [n, o.question, o.answer if o.status == "answered" else o.reason, _score(o.score), o.status]
                for n, o in enumerate(outcomes, 1)
            ],
        )
    if not wait and not json_out:
        render.note("read the answers when the tasks have stopped: introaws qa answers")
    if failed:
        render.warning(f"{len(failed)} of {len(outcomes)} questions failed")
        raise typer.Exit(1)


@app.command("answers")
def answers(
    ctx: typer.Context,
    limit: int = typer.Option(None, "--limit", min=1, help="Newest N only."),
    json_out: bool = context.JSON_OPTION,
) -> None:
    """Saved answers, newest first."""
    from introaws.workflows import qa

    items = qa.answers(context.target(ctx), limit)
    if json_out:
        render.print_json(items)
        return
    render.table(
        f"{len(items)} answers",
        ["created", "question", "answer", "score", "item_id"],
        [
            [i.get("created_at", ""), i.get("question"), i.get("answer"), _score(i.get("score")), i.get("item_id")]
            for i in items
        ],
    )


@app.command("clear")
def clear(ctx: typer.Context, yes: bool = context.YES_OPTION, json_out: bool = context.JSON_OPTION) -> None:
    """Delete every saved answer."""
    from introaws.workflows import qa

    target = context.target(ctx)
    context.confirm(f"delete every saved answer on the {target.cloud} cloud?", yes)
    deleted = qa.clear(target)
    if json_out:
        render.print_json({"deleted": deleted})
    else:
        render.success(f"deleted {deleted} answers")


@app.command("logs")
def logs(
    ctx: typer.Context,
    task_id: str = typer.Argument(..., help="Task id or ARN."),
    lines: int = context.LINES_OPTION,
    json_out: bool = context.JSON_OPTION,
) -> None:
    """A task's output, from CloudWatch Logs."""
    from introaws.workflows import qa

    output = qa.logs(context.target(ctx), task_id, lines)
    if json_out:
        render.print_json({"task": task_id, "lines": output})
    else:
        render.lines(output)
