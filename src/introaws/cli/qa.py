"""``introaws qa``: the question-answering bot on ECS Fargate (textbook chapter 8)."""

from __future__ import annotations

from pathlib import Path

import typer

from introaws.cli import context, render
from introaws.cli.stackcmds import confirm_cost, show_up

app = typer.Typer(no_args_is_help=True)  # its help line: GROUPS in cli/app.py

ANSWER_COLUMNS = ["question", "answer", "score"]


def _score(value: object) -> str:
    return "" if value is None else f"{float(value):.4f}"  # type: ignore[arg-type]


@app.command("up")
def up(
    ctx: typer.Context,
    model: str = typer.Option(
        None,
        "--model",
        envvar="QA_MODEL",
        help="Hub id, or (local cloud) a model directory [default: distilbert-base-cased-distilled-squad].",
    ),
    image: str = typer.Option(None, "--image", help="Image URI to run (AWS: skips the Docker build)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the change set; deploy nothing."),
    yes: bool = context.YES_OPTION,
    json_out: bool = context.JSON_OPTION,
) -> None:
    """Deploy stack EcsClusterQaBot: table, VPC (public subnets), cluster, Fargate task, ECR."""
    from introaws.workflows import qa

    if not dry_run:
        confirm_cost(ctx, "qa", yes)
    with render.progress() as report:
        result = qa.up(context.target(ctx), model=model, image=image, dry_run=dry_run, report=report)
    show_up("qa", result, json_out, 'ask with: introaws qa ask "CONTEXT" "QUESTION"   (or: introaws qa ask-many)')


@app.command("down")
def down(ctx: typer.Context, yes: bool = context.YES_OPTION) -> None:
    """Destroy the stack, its table of answers and its image repository."""
    from introaws.workflows import lifecycle

    target = context.target(ctx)
    context.confirm(f"destroy the qa hands-on and all its answers on the {target.cloud} cloud?", yes)
    with render.progress() as report:
        existed = lifecycle.down(target, "qa", report=report)
    if existed:
        render.success("EcsClusterQaBot destroyed")
    else:
        render.note("nothing to destroy: the qa hands-on is not deployed")


@app.command("status")
def status(ctx: typer.Context, json_out: bool = context.JSON_OPTION) -> None:
    """Show the stack's status and outputs."""
    from introaws.workflows import lifecycle

    data = lifecycle.status(context.target(ctx), "qa")
    if json_out:
        render.print_json(data)
        return
    render.key_values({"stack": data["stack"], "status": data["status"] or "not deployed", **data["outputs"]})


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
    no_wait: bool = typer.Option(False, "--no-wait", help="Submit and return; read with 'qa answers'."),
    json_out: bool = context.JSON_OPTION,
) -> None:
    """Ask many questions at once, one task each; a bad entry fails alone."""
    from introaws.workflows import qa

    questions = qa.load_questions(file)
    target = context.target(ctx)
    with render.progress(total=len(questions), description="answering") as report:
        outcomes = qa.ask_many(target, questions, concurrency=concurrency, wait=not no_wait, report=report)
    failed = [o for o in outcomes if o.status == "failed"]
    if json_out:
        render.print_json([o.to_dict() for o in outcomes])
    else:
        render.table(
            f"{len(outcomes) - len(failed)} of {len(outcomes)} " + ("submitted" if no_wait else "answered"),
            ["#", "question", "answer", "score", "status"],
            [
                [n, o.question, o.answer if o.status == "answered" else o.reason, _score(o.score), o.status]
                for n, o in enumerate(outcomes, 1)
            ],
        )
    if no_wait and not json_out:
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
def clear(ctx: typer.Context, yes: bool = context.YES_OPTION) -> None:
    """Delete every saved answer."""
    from introaws.workflows import qa

    target = context.target(ctx)
    context.confirm(f"delete every saved answer on the {target.cloud} cloud?", yes)
    render.success(f"deleted {qa.clear(target)} answers")


@app.command("logs")
def logs(ctx: typer.Context, task_id: str = typer.Argument(..., help="Task id or ARN.")) -> None:
    """A task's output, from CloudWatch Logs."""
    from introaws.workflows import qa

    render.lines(qa.logs(context.target(ctx), task_id))
