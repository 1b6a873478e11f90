"""The QA bot's task: ``python -m introaws.tasks.qa CONTEXT QUESTION ITEM_ID [--no-save]``.

Extractive question answering with a transformers model (env ``QA_MODEL``: a hub id or a
local directory). Prints one JSON line ``{"answer", "score", "start", "end"}`` and, unless
``--no-save``, writes the item to the DynamoDB table named by env ``TABLE_NAME``.

transformers >= 5.3 has no ``pipeline("question-answering")``, so the span is extracted here
as that pipeline did: strided windows over a long context, non-context tokens masked, the
best ``start <= end`` within ``MAX_ANSWER_TOKENS`` by the product of start and end softmax
probabilities. This module stands alone (boto3, torch, transformers), and imports the heavy
libraries only when it needs them so a warm worker can pre-import them once (:func:`warm`).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

DEFAULT_MODEL = "distilbert-base-cased-distilled-squad"
MAX_ANSWER_TOKENS = 15
MAX_WINDOW_TOKENS = 384  # the old pipeline's max_seq_len
DOC_STRIDE = 128  # tokens of overlap between windows, as the old pipeline
# Environment that decides what a warm worker preloads; the local cloud keys workers by it.
WARM_ENV = ("QA_MODEL",)

_loaded: dict[str, tuple[Any, Any]] = {}


class TaskError(Exception):
    """A failure the caller should see as one line; ``code`` is the process exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def model_name() -> str:
    return os.environ.get("QA_MODEL") or DEFAULT_MODEL


def load(name: str) -> tuple[Any, Any]:
    """(fast tokenizer, QA model) for a hub id or local directory; cached per process."""
    if name in _loaded:
        return _loaded[name]
    looks_like_path = name.startswith((os.sep, ".", "~")) or os.path.isdir(name)
    if looks_like_path and not os.path.isdir(os.path.expanduser(name)):
        raise TaskError(f"cannot load QA model: directory {name} does not exist")
    try:
        import torch  # noqa: F401  (fail here, clearly, when torch is missing)
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise TaskError(f"cannot load QA model: {exc} (install introaws[ml])") from exc
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    with contextlib.suppress(ImportError):  # the hub's retry chatter would bury the error line
        from huggingface_hub.utils import logging as hub_logging

        hub_logging.set_verbosity_error()
    where = os.path.expanduser(name)
    try:
        # The cache (or the image's baked-in copy) first: asked first, the hub would be retried
        # for minutes where there is no network, even for a model that is here.
        tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=True)
        model = AutoModelForQuestionAnswering.from_pretrained(where, local_files_only=True)
    except Exception:  # not cached (whole): download it
        try:
            tokenizer = AutoTokenizer.from_pretrained(where)
            model = AutoModelForQuestionAnswering.from_pretrained(where)
        except Exception as exc:  # transformers raises OSError, ValueError, hub errors...
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TaskError(f"cannot load QA model '{name}': {first_line}") from exc
    if not getattr(tokenizer, "is_fast", False):
        raise TaskError(f"QA model '{name}' has no fast tokenizer; character offsets need one")
    model.eval()
    _loaded[name] = (tokenizer, model)
    return tokenizer, model


def warm() -> None:
    """Pre-import and load the model named by the environment (a warm worker calls this).

    A model that fails to load is left for the task itself to report.
    """
    try:
        load(model_name())
        import boto3  # noqa: F401
    except (TaskError, ImportError):
        pass


def answer(context: str, question: str, name: str | None = None) -> dict[str, Any]:
    """The best answer span of ``context`` for ``question``: answer, score, start, end."""
    if not context.strip():
        raise TaskError("the context is empty; give a paragraph that contains the answer", 2)
    if not question.strip():
        raise TaskError("the question is empty; ask something about the context", 2)
    import torch

    if os.environ.get("OMP_NUM_THREADS", "").isdigit():  # a forked worker set torch up before
        torch.set_num_threads(max(1, int(os.environ["OMP_NUM_THREADS"])))
    tokenizer, model = load(name or model_name())
    window = _window_tokens(tokenizer, model)
    question_tokens = len(tokenizer(question, add_special_tokens=False)["input_ids"])
    room = window - question_tokens - 3  # [CLS] question [SEP] context [SEP]
    if room < 8:
        raise TaskError(
            f"the question ({question_tokens} tokens) leaves no room for the context in the "
            f"model's {window}-token window; ask a shorter question",
            2,
        )
    encoded = tokenizer(
        question,
        context,
        truncation="only_second",
        max_length=window,
        stride=min(DOC_STRIDE, room // 2),
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=True,
        return_tensors="pt",
    )
    accepted = inspect.signature(model.forward).parameters
    inputs = {k: v for k, v in encoded.items() if k in accepted}
    with torch.inference_mode():
        output = model(**inputs)
    best: tuple[float, int, int] | None = None
    for w in range(encoded["input_ids"].shape[0]):
        in_context = torch.tensor([s == 1 for s in encoded.sequence_ids(w)])
        found = _best_span(output.start_logits[w], output.end_logits[w], in_context)
        if found is None:
            continue
        score, first, last = found
        offsets = encoded["offset_mapping"][w]
        span = (score, int(offsets[first][0]), int(offsets[last][1]))
        if best is None or span[0] > best[0]:
            best = span
    if best is None:
        raise TaskError("the context has no tokens the model can answer from", 2)
    score, start, end = best
    return {"answer": context[start:end], "score": score, "start": start, "end": end}


def _window_tokens(tokenizer: Any, model: Any) -> int:
    limits = [MAX_WINDOW_TOKENS, int(getattr(model.config, "max_position_embeddings", MAX_WINDOW_TOKENS))]
    if tokenizer.model_max_length and tokenizer.model_max_length < 1_000_000:
        limits.append(int(tokenizer.model_max_length))
    return min(limits)


def _best_span(start_logits: Any, end_logits: Any, in_context: Any) -> tuple[float, int, int] | None:
    """(probability, first token, last token) of the best span inside the context."""
    import torch

    if not bool(in_context.any()):
        return None
    masked = torch.tensor(-10_000.0)
    start = torch.softmax(torch.where(in_context, start_logits, masked), dim=-1)
    end = torch.softmax(torch.where(in_context, end_logits, masked), dim=-1)
    scores = torch.outer(start, end)
    allowed = torch.triu(torch.ones_like(scores, dtype=torch.bool))
    allowed &= ~torch.triu(allowed, diagonal=MAX_ANSWER_TOKENS)
    allowed &= in_context[:, None] & in_context[None, :]
    scores = torch.where(allowed, scores, torch.zeros_like(scores))
    flat = int(torch.argmax(scores))
    first, last = divmod(flat, scores.shape[1])
    return float(scores[first, last]), first, last


def save(item_id: str, context: str, question: str, result: dict[str, Any], name: str) -> None:
    """Write the answer to the table named by ``TABLE_NAME`` with the task's credentials."""
    from decimal import Decimal

    import boto3

    item = {
        "item_id": item_id,
        "context": context,
        "question": question,
        "answer": result["answer"],
        "score": Decimal(str(result["score"])),
        "start": result["start"],
        "end": result["end"],
        "model": name,
        "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"]).put_item(Item=item)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m introaws.tasks.qa", description="Answer QUESTION from CONTEXT; save the answer as ITEM_ID."
    )
    parser.add_argument("context")
    parser.add_argument("question")
    parser.add_argument("item_id")
    parser.add_argument("--no-save", action="store_true", help="print the answer only")
    args = parser.parse_args(argv)
    name = model_name()
    try:
        if not args.no_save and not os.environ.get("TABLE_NAME"):
            raise TaskError(
                "TABLE_NAME is not set; the task definition must name the answers table (or pass --no-save)", 2
            )
        result = answer(args.context, args.question, name)
        print(json.dumps(result, ensure_ascii=False), flush=True)
        if not args.no_save:
            save(args.item_id, args.context, args.question, result, name)
    except TaskError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return exc.code
    except Exception as exc:  # boto3 and the like: one line, for the task's log
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
