"""Train the textbook CNN: fixed-seed 80/20 split, SGD with momentum, early stopping.

The best epoch is the one with the lowest validation loss; training stops after ``patience``
epochs without a better one, and the test set is evaluated once, with the best epoch's
weights (it is never used for choosing anything).
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch.nn import functional as F

from introaws.tasks.mnist.data import Mnist
from introaws.tasks.mnist.model import MEAN, STD, Net

THREADS_ENV = "INTROAWS_NUM_THREADS"


@dataclass(frozen=True)
class Config:
    lr: float
    momentum: float
    epochs: int
    batch_size: int = 64
    test_batch_size: int = 1000
    patience: int = 10
    val_fraction: float = 0.2
    seed: int = 0


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int
    train_loss: float
    val_loss: float
    val_accuracy: float  # percent, as the textbook prints it
    seconds: float


@dataclass
class Result:
    config: Config
    device: str
    threads: int
    epochs: list[EpochMetrics] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = math.inf
    best_val_accuracy: float = 0.0  # the highest over all epochs, as the sweep ranks points
    test_loss: float = math.nan
    test_accuracy: float = math.nan  # percent, with the best epoch's weights
    stopped_early: bool = False
    diverged: bool = False
    wall_seconds: float = 0.0
    cpu_seconds: float | None = None  # set by the entrypoint: CPU time of the whole job process

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["epochs_run"] = len(self.epochs)
        return data


def configure_threads(threads: int | None = None) -> int:
    """Use ``threads`` (else ``$INTROAWS_NUM_THREADS``, else every core) intra-op threads, so
    parallel jobs given a share of the cores each do not oversubscribe the machine."""
    # Every CPU this process may use (Python 3.13+ counts its affinity mask; older ones, the machine's).
    every = getattr(os, "process_cpu_count", os.cpu_count)() or 1
    chosen = threads or int(os.environ.get(THREADS_ENV, "0") or 0) or every
    torch.set_num_threads(max(1, chosen))
    return torch.get_num_threads()


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA was requested but torch sees no GPU")
    return torch.device(requested)


def split_indices(count: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation indices: a seeded permutation, the last ``val_fraction`` held out."""
    order = np.random.default_rng(seed).permutation(count)
    n_val = int(round(count * val_fraction))
    return np.sort(order[: count - n_val]), np.sort(order[count - n_val :])


def as_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, 28, 28) -> normalized float (N, 1, 28, 28)."""
    scaled = torch.from_numpy(np.array(images, dtype=np.uint8)).float().div_(255.0)
    return scaled.sub_(MEAN).div_(STD).unsqueeze(1)


def evaluate(model: Net, images: torch.Tensor, labels: torch.Tensor, batch_size: int) -> tuple[float, float]:
    """Mean NLL loss and accuracy (percent) over a whole set."""
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            output = model(images[start : start + batch_size])
            target = labels[start : start + batch_size]
            loss_sum += F.nll_loss(output, target, reduction="sum").item()
            correct += int((output.argmax(dim=1) == target).sum().item())
    count = max(1, len(images))
    return loss_sum / count, 100.0 * correct / count


def train(
    mnist: Mnist,
    config: Config,
    *,
    device: str = "auto",
    threads: int | None = None,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
) -> Result:
    started = time.perf_counter()
    used_threads = configure_threads(threads)
    torch_device = pick_device(device)
    torch.manual_seed(config.seed)
    train_idx, val_idx = split_indices(len(mnist.train_images), config.val_fraction, config.seed)
    images = as_tensor(mnist.train_images).to(torch_device)
    labels = torch.from_numpy(mnist.train_labels.astype(np.int64)).to(torch_device)
    x_train, y_train = images[train_idx], labels[train_idx]
    x_val, y_val = images[val_idx], labels[val_idx]

    model = Net().to(torch_device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    shuffle = torch.Generator().manual_seed(config.seed)
    result = Result(config=config, device=str(torch_device), threads=used_threads)
    best_state = copy.deepcopy(model.state_dict())

    for epoch in range(1, config.epochs + 1):
        epoch_started = time.perf_counter()
        model.train()
        order = torch.randperm(len(x_train), generator=shuffle).to(torch_device)
        loss_sum, seen = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            optimizer.zero_grad()
            loss = F.nll_loss(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(batch)
            seen += len(batch)
        val_loss, val_accuracy = evaluate(model, x_val, y_val, config.test_batch_size)
        metrics = EpochMetrics(
            epoch, loss_sum / max(1, seen), val_loss, val_accuracy, time.perf_counter() - epoch_started
        )
        result.epochs.append(metrics)
        result.best_val_accuracy = max(result.best_val_accuracy, val_accuracy)
        if on_epoch:
            on_epoch(metrics)
        if not math.isfinite(metrics.train_loss) or not math.isfinite(val_loss):
            result.diverged = True
            break
        if val_loss < result.best_val_loss:
            result.best_epoch, result.best_val_loss = epoch, val_loss
            best_state = copy.deepcopy(model.state_dict())
        elif epoch - result.best_epoch >= config.patience:
            result.stopped_early = epoch < config.epochs
            break

    model.load_state_dict(best_state)
    x_test = as_tensor(mnist.test_images).to(torch_device)
    y_test = torch.from_numpy(mnist.test_labels.astype(np.int64)).to(torch_device)
    result.test_loss, result.test_accuracy = evaluate(model, x_test, y_test, config.test_batch_size)
    result.wall_seconds = time.perf_counter() - started
    return result
