"""MNIST with the textbook's CNN and settings (lr 0.01, momentum 0.5, batch 64) for N epochs on
this machine: per-epoch time and the final test accuracy (JSON). Needs the full MNIST files
(`introaws data mnist`); the issue's bar is >= 98% test accuracy in 3 epochs."""

from __future__ import annotations

import argparse
import time

from _util import emit

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    from introaws.tasks.mnist import data, train

    mnist = data.load(args.data_dir)
    epochs: list[dict] = []
    start = time.perf_counter()
    result = train.train(
        mnist,
        train.Config(lr=0.01, momentum=0.5, epochs=args.epochs, batch_size=64, patience=args.epochs, seed=0),
        on_epoch=lambda m: epochs.append(
            {"epoch": m.epoch, "seconds": round(m.seconds, 1), "val_accuracy": round(m.val_accuracy, 2)}
        ),
    )
    emit(
        {
            "benchmark": "dnn_train_mnist",
            "device": str(result.device),
            "threads": result.threads,
            "train_images": len(mnist.train_images),
            "epochs": epochs,
            "test_accuracy": round(result.test_accuracy, 2),
            "wall_s": round(time.perf_counter() - start, 1),
        }
    )
