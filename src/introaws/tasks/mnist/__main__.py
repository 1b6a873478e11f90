"""``python -m introaws.tasks.mnist``: one training run of a sweep (the Batch job payload).

Writes ``metrics_lr{lr:.4f}_m{momentum:.4f}.csv`` (epoch,train_loss,val_loss,val_accuracy)
and ``summary_lr…_m….json`` to ``--out-dir``; with ``--upload-s3`` also to
``s3://$BUCKET_NAME/<sweep id>/``. Bad arguments and missing data exit with code 2.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sys
from pathlib import Path

CSV_COLUMNS = ["epoch", "train_loss", "val_loss", "val_accuracy"]


def point_stem(lr: float, momentum: float) -> str:
    return f"lr{lr:.4f}_m{momentum:.4f}"


def metrics_name(lr: float, momentum: float) -> str:
    return f"metrics_{point_stem(lr, momentum)}.csv"


def summary_name(lr: float, momentum: float) -> str:
    return f"summary_{point_stem(lr, momentum)}.json"


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def _momentum(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m introaws.tasks.mnist", description="Train the MNIST CNN once and record per-epoch metrics."
    )
    p.add_argument("--lr", type=_positive_float, required=True, help="SGD learning rate")
    p.add_argument("--momentum", type=_momentum, required=True, help="SGD momentum")
    p.add_argument("--epochs", type=_positive_int, default=100)
    p.add_argument("--batch-size", type=_positive_int, default=64)
    p.add_argument(
        "--patience", type=_positive_int, default=10, help="stop after this many epochs without a lower validation loss"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", help="MNIST IDX folder (default $MNIST_DATA_DIR, else introaws's data dir)")
    p.add_argument("--out-dir", default=".", help="where the CSV and JSON are written")
    p.add_argument("--threads", type=_positive_int, help="CPU threads (default $INTROAWS_NUM_THREADS, else all cores)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--upload-s3", action="store_true", help="upload both files to s3://$BUCKET_NAME/<sweep id>/")
    p.add_argument("--sweep-id", default=os.environ.get("SWEEP_ID", "single"), help="S3 folder of the run")
    return p


def write_outputs(out_dir: Path, result: object, lr: float, momentum: float) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / metrics_name(lr, momentum)
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for m in result.epochs:  # type: ignore[attr-defined]
            writer.writerow([m.epoch, f"{m.train_loss:.6f}", f"{m.val_loss:.6f}", f"{m.val_accuracy:.4f}"])
    summary_path = out_dir / summary_name(lr, momentum)
    summary_path.write_text(json.dumps(result.to_dict(), indent=1))  # type: ignore[attr-defined]
    return csv_path, summary_path


def upload(paths: tuple[Path, ...], sweep_id: str) -> list[str]:
    import boto3
    from botocore.config import Config

    bucket = os.environ.get("BUCKET_NAME")
    if not bucket:
        raise SystemExit("error: --upload-s3 needs the environment variable BUCKET_NAME")
    local = bool(os.environ.get("AWS_ENDPOINT_URL"))
    s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"} if local else {}))
    urls = []
    for path in paths:
        key = f"{sweep_id}/{path.name}"
        s3.upload_file(str(path), bucket, key)
        urls.append(f"s3://{bucket}/{key}")
    return urls


def warm() -> None:
    """Import what every run needs (torch, numpy, boto3): a warm worker calls this once, so the
    runs it starts begin with training. The first optimizer built imports torch's compiler
    stack (about a second); a throw-away one does that here. Nothing is computed: forked runs
    must not inherit a thread pool."""
    import boto3  # noqa: F401
    import torch

    from introaws.tasks.mnist import data, train  # noqa: F401

    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from introaws.tasks.mnist import data, train

    try:
        mnist = data.load(args.data_dir)
    except data.DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    config = train.Config(
        lr=args.lr,
        momentum=args.momentum,
        epochs=args.epochs,
        batch_size=args.batch_size,
        patience=args.patience,
        seed=args.seed,
    )
    print(
        f"training lr={args.lr} momentum={args.momentum} epochs={args.epochs} on "
        f"{len(mnist.train_images)} train+val / {len(mnist.test_images)} test images",
        flush=True,
    )

    def on_epoch(m: train.EpochMetrics) -> None:
        print(
            f"epoch {m.epoch}/{args.epochs} train_loss {m.train_loss:.4f} val_loss {m.val_loss:.4f} "
            f"val_accuracy {m.val_accuracy:.2f}% ({m.seconds:.1f} s)",
            flush=True,
        )

    result = train.train(mnist, config, device=args.device, threads=args.threads, on_epoch=on_epoch)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result.cpu_seconds = usage.ru_utime + usage.ru_stime  # the whole process, imports included
    written = write_outputs(Path(args.out_dir), result, args.lr, args.momentum)
    print(
        f"best epoch {result.best_epoch} (val_loss {result.best_val_loss:.4f}); "
        f"test accuracy {result.test_accuracy:.2f}% on {result.device} with {result.threads} threads; "
        f"{result.wall_seconds:.1f} s",
        flush=True,
    )
    if result.diverged:
        print("note: training diverged (loss not finite); stopped", flush=True)
    if args.upload_s3:
        for url in upload(written, args.sweep_id):
            print(f"uploaded {url}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
