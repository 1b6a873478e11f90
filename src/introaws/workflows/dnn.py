"""Hands-on 2 (textbook ch. 6; background: ch. 5): a GPU box, Jupyter through an SSH tunnel, PyTorch on it.

The box is hands-on 1's kind of instance (the same network, SSH layer and local sshd), with
a GPU type and the Deep Learning AMI. ``up`` puts the hands-on's MNIST notebook in the box's
home, with the course's MNIST code and data beside it, for the tunnel's Jupyter to open.
``bench`` and ``train`` copy their stand-alone payloads (``introaws.tasks.matmul``,
``introaws.tasks.mnist``) and the MNIST files to the box over SFTP and run them there,
streaming what they print.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from introaws import pricing, quotas
from introaws.deploy import engine
from introaws.errors import Conflict, IntroawsError, NotFound, UsageError
from introaws.i18n import _
from introaws.progress import Event, Reporter, silent
from introaws.target import Target
from introaws.workflows import dlami, ec2, lifecycle, placement

NAME = "dnn"
DEFAULT_INSTANCE_TYPE = "g4dn.xlarge"
AWS_IDLE_STOP_MINUTES = 60
WORKDIR = ".introaws-dnn"  # on the box, under the login user's home
MNIST_DATA = "mnist-data"  # under WORKDIR: where train and the notebook find MNIST
NOTEBOOK = "introaws-mnist.ipynb"  # the hands-on's notebook, in the box's home (Jupyter's root)
# The DLAMI keeps PyTorch (and Jupyter) in /opt/pytorch; a box may name another framework
# environment in INTROAWS_FRAMEWORK_BIN (the local cloud's box names introaws's own).
PRELUDE = 'export PATH="${INTROAWS_FRAMEWORK_BIN:-/opt/pytorch/bin}:$HOME/.local/bin:$PATH"; '

JUPYTER_START_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class UpRequest:
    key: str | None = None
    instance_type: str | None = None
    ssh_from: str | None = None
    ami: str | None = None
    idle_stop: int | None = None

    def as_ec2(self) -> ec2.UpRequest:
        return ec2.UpRequest(self.key, self.instance_type, self.ssh_from)

    @property
    def given(self) -> bool:
        return self.as_ec2().given or self.ami is not None or self.idle_stop is not None


def instance_type(request: UpRequest) -> str:
    return request.instance_type or DEFAULT_INSTANCE_TYPE


def check_quota(target: Target, instance_type_name: str, report: Reporter = silent) -> dict[str, Any]:
    """Refuse before deploying when the account may not run the instance's vCPUs (AWS only).

    New accounts often have 0 vCPUs for G instances, and the stack would then fail minutes in."""
    report(Event("step", _("checking your vCPU quota for the instance type")))
    code = quotas.on_demand_code(instance_type_name)
    info = target.client("ec2").describe_instance_types(InstanceTypes=[instance_type_name])["InstanceTypes"]
    if not info:
        raise UsageError(
            _("unknown instance type {instance_type_name}").format(instance_type_name=instance_type_name),
            _("see 'aws ec2 describe-instance-types'"),
        )
    needed = int(info[0]["VCpuInfo"]["DefaultVCpus"])
    allowed, quota_name = quotas.current(target, "ec2", code)
    if needed > allowed:
        raise UsageError(
            _(
                "{instance_type_name} needs {needed} vCPUs but your quota '{quota_name}' in {region} is {allowed:g}"
            ).format(
                instance_type_name=instance_type_name,
                needed=needed,
                quota_name=quota_name,
                region=target.region,
                allowed=allowed,
            ),
            _("request more at {url} (it can take a day), or pick another --instance-type").format(
                url=quotas.request_url(code)
            ),
        )
    return {"quota_code": code, "vcpus_needed": needed, "vcpus_allowed": allowed}


def params(target: Target, request: UpRequest, report: Reporter = silent) -> dict[str, Any]:
    """The stack's parameters: key, SSH range, type, a zone that offers the type, the image
    (``--ami``, else the region's newest PyTorch DLAMI parameter), idle stop."""
    chosen = ec2.params(target, request.as_ec2(), report)
    chosen.pop("ttl_minutes", None)
    chosen["instance_type"] = instance_type(request)
    chosen["zone"] = placement.zone_for(target, chosen["instance_type"], report)
    if request.ami:
        if not request.ami.startswith("ami-"):
            raise UsageError(
                _("--ami '{ami}' is not an AMI id").format(ami=request.ami), _("give an id like ami-0123456789abcdef0")
            )
        chosen["ami"] = request.ami
    elif parameter := dlami.newest_parameter(target, report):
        chosen["ami_parameter"] = parameter
    default_idle = 0 if target.kind.runs_here else AWS_IDLE_STOP_MINUTES
    idle = request.idle_stop if request.idle_stop is not None else default_idle
    if idle < 0:
        raise UsageError(_("--idle-stop {idle} is negative").format(idle=idle), _("give minutes, or 0 to never stop"))
    if idle and target.kind.runs_here:
        report(Event("warning", _("--idle-stop is not enforced on the local cloud: its box is this machine")))
    elif idle:
        chosen["idle_stop_minutes"] = idle
    return chosen


def hourly_cost(target: Target, request: UpRequest) -> float | None:
    """The box per hour in the target's region: instance, its 100 GiB disk, its public address."""
    return pricing.idle_hourly(target, NAME, instance_type(request))


def up(
    target: Target, request: UpRequest, *, dry_run: bool = False, wait: bool = True, report: Reporter = silent
) -> engine.DeployResult:
    result = None if dry_run or request.given else ec2.already_up(target, request.as_ec2(), NAME)
    if result is None:
        chosen = params(target, request, report)
        if not dry_run:
            target.kind.check_account(check_quota, chosen["instance_type"], report)
        result = lifecycle.up(target, NAME, chosen, dry_run=dry_run, wait=wait, report=report)
    if result.status.endswith("_COMPLETE"):
        prepare_box(target, report)
    return result


def prepare_box(target: Target, report: Reporter = silent) -> None:
    """Put the hands-on's MNIST notebook in the box's home (never over one already there: it
    may hold the reader's work), and the course's MNIST code and this machine's MNIST files
    where the notebook looks. A box SSH cannot reach yet is a warning: the stack is up, and
    ``up`` again finishes the job."""
    from importlib import resources

    from introaws.tasks.mnist import data
    from introaws.workflows.data import mnist_dir

    folder = mnist_dir()
    files = _package_files("introaws.tasks.mnist")
    if not data.missing_files(folder):
        files.update(_mnist_files(folder))
    else:
        report(
            Event(
                "info",
                _("no MNIST in {folder} yet: run 'introaws data mnist', then 'introaws dnn up' copies it").format(
                    folder=folder
                ),
            )
        )
    report(Event("step", _("putting the MNIST notebook in the box's home (~/{notebook})").format(notebook=NOTEBOOK)))
    notebook = resources.files("introaws.data").joinpath("notebooks", "mnist.ipynb")
    try:
        with session(target, report) as client, resources.as_file(notebook) as local:
            _upload(client, files)
            _upload(client, {NOTEBOOK: local}, under="", keep_existing=True)
    except IntroawsError as exc:
        report(Event("warning", _("could not reach the box to put the notebook there: {why}").format(why=exc.message)))


def status(target: Target) -> dict[str, Any]:
    return ec2.status(target, NAME)


@contextlib.contextmanager
def session(target: Target, report: Reporter = silent) -> Iterator[Any]:
    """An SSH connection to the box, closed afterwards."""
    from introaws import ssh

    client = ssh.connect(ec2.endpoint(target, name=NAME), report=report)
    try:
        yield client
    finally:
        client.close()


def remote(client: Any, script: str) -> tuple[int, str, str]:
    """Run a shell script on the box; (exit code, stdout, stderr)."""
    from introaws import ssh

    out: list[bytes] = []
    err: list[bytes] = []
    code = ssh.run(client, PRELUDE + script, out.append, err.append)
    return code, b"".join(out).decode(errors="replace"), b"".join(err).decode(errors="replace")


# --- Jupyter through a tunnel --------------------------------------------------------------


def _local_port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a just-closed tunnel is free
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def running_jupyter(client: Any, remote_port: int) -> dict[str, Any] | None:
    """The Jupyter server listening on ``remote_port`` on the box, as ``jupyter … list`` tells."""
    code, out, _errors = remote(
        client, "jupyter server list --json 2>/dev/null || jupyter notebook list --json 2>/dev/null"
    )
    for line in out.splitlines():
        with contextlib.suppress(ValueError):
            server = json.loads(line)
            if int(server.get("port", -1)) == remote_port:
                return server
    return None


def jupyter_flavour(client: Any) -> str | None:
    """``lab``, ``notebook`` or ``server``: the richest Jupyter the box has (None: none)."""
    code, flavour, _errors = remote(
        client,
        "for c in jupyter-lab jupyter-notebook jupyter-server; do "
        "command -v $c >/dev/null && { echo ${c#jupyter-}; exit 0; }; done; exit 1",
    )
    return flavour.strip() if code == 0 else None


def start_jupyter(client: Any, remote_port: int, report: Reporter = silent) -> dict[str, Any]:
    """Start Jupyter in the home directory in the background, whichever flavour the box has."""
    flavour = jupyter_flavour(client)
    if flavour is None:
        raise NotFound(
            _("Jupyter is not installed on the box"),
            _("use the Deep Learning AMI (the default), or install it there: pip install jupyterlab"),
        )
    report(
        Event(
            "step",
            _("starting jupyter {flavour} on the box (the first start can take a minute)").format(flavour=flavour),
        )
    )
    root = '$([ "$(id -u)" = 0 ] && echo --allow-root)'
    remote(
        client,
        f"cd ~ && nohup jupyter {flavour} --no-browser --ip 127.0.0.1 --port {remote_port} "
        f"--port-retries 0 {root} > ~/{WORKDIR}-jupyter.log 2>&1 < /dev/null &",
    )
    deadline = time.monotonic() + JUPYTER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        server = running_jupyter(client, remote_port)
        if server:
            return server
        time.sleep(1.0)
    _code, log, _errors = remote(client, f"tail -n 5 ~/{WORKDIR}-jupyter.log")
    raise IntroawsError(
        _("Jupyter did not start on port {remote_port} within {timeout:.0f} s: {log}").format(
            remote_port=remote_port, timeout=JUPYTER_START_TIMEOUT_S, log=" ".join(log.split())[-300:]
        ),
        _("try another --remote-port, or log in with 'introaws dnn ssh'"),
    )


@dataclass(frozen=True)
class Tunnel:
    url: str  # Jupyter's start page, with its token
    notebook_url: str | None  # the hands-on's MNIST notebook, when the box has it and a UI for it


# Where each flavour's UI opens a notebook (jupyter-server alone has no UI).
_NOTEBOOK_PATHS = {"lab": "lab/tree/", "notebook": "notebooks/"}


@contextlib.contextmanager
def tunnel(
    target: Target, local_port: int = 8931, remote_port: int = 8888, report: Reporter = silent
) -> Iterator[Tunnel]:
    """Jupyter on the box reached at ``http://localhost:local_port`` while the block runs;
    yields its URL and the hands-on notebook's, with the token."""
    from introaws import ssh

    if not _local_port_free(local_port):
        raise Conflict(
            _("local port {local_port} is already in use").format(local_port=local_port),
            _("choose another with --local-port {port}, or stop what listens there").format(port=local_port + 1),
        )
    with session(target, report) as client:
        server = running_jupyter(client, remote_port) or start_jupyter(client, remote_port, report)
        has_notebook = remote(client, f"test -f ~/{NOTEBOOK}")[0] == 0
        where = _NOTEBOOK_PATHS.get(jupyter_flavour(client) or "") if has_notebook else None
        with ssh.forward_local_port(client, "127.0.0.1", remote_port, local_port) as port:
            token = server.get("token") or ""
            query = f"?token={token}" if token else ""
            yield Tunnel(
                f"http://localhost:{port}/{query}",
                f"http://localhost:{port}/{where}{NOTEBOOK}{query}" if where else None,
            )


def stop_jupyter(target: Target, remote_port: int = 8888) -> None:
    """Best effort before ``down``: on the local cloud the box is this machine, so a Jupyter
    started there would outlive the instance (on AWS it ends with the instance)."""
    if not target.kind.runs_here:
        return
    with contextlib.suppress(Exception), session(target) as client:  # an unreachable box has nothing to stop
        remote(
            client,
            f"jupyter server stop {remote_port} >/dev/null 2>&1 || "
            f"jupyter notebook stop {remote_port} >/dev/null 2>&1; true",
        )


# --- payloads on the box -----------------------------------------------------------------


def _upload(client: Any, files: dict[str, Path], under: str = WORKDIR, keep_existing: bool = False) -> None:
    """Copy ``{remote path under ``under`` in the home: local file}``, skipping files already
    there at that size (or at all, with ``keep_existing``)."""
    _code, home, _errors = remote(client, 'printf %s "$HOME"')  # where SFTP starts may differ (a local box)
    sftp = client.open_sftp()
    try:
        for relative, local in files.items():
            destination = "/".join(part for part in (home, under, relative) if part)
            with contextlib.suppress(OSError):
                size = sftp.stat(destination).st_size
                if keep_existing or (size == local.stat().st_size and not relative.endswith(".py")):
                    continue
            _makedirs(sftp, destination.rsplit("/", 1)[0])
            sftp.put(str(local), destination)
    finally:
        sftp.close()


def _makedirs(sftp: Any, folder: str) -> None:
    path = ""
    for part in folder.strip("/").split("/"):
        path += "/" + part
        with contextlib.suppress(OSError):
            sftp.mkdir(path)


def _mnist_files(folder: Path) -> dict[str, Path]:
    """The IDX files of ``folder`` (plain or gzipped), as paths relative to WORKDIR."""
    return {f"{MNIST_DATA}/{p.name}": p for p in sorted(folder.iterdir()) if p.is_file() and "-ubyte" in p.name}


def _package_files(module: str) -> dict[str, Path]:
    """The payload's sources with the packages above it, as paths relative to WORKDIR."""
    import importlib.util

    import introaws

    root = Path(introaws.__file__).parent.parent
    spec = importlib.util.find_spec(module)
    assert spec and spec.origin, module
    origin = Path(spec.origin)
    sources = sorted(origin.parent.glob("*.py")) if origin.name == "__init__.py" else [origin]
    files = {str(p.relative_to(root)): p for p in sources}
    parts = module.split(".")
    for depth in range(1, len(parts)):
        init = root.joinpath(*parts[:depth], "__init__.py")
        if init.exists():
            files[str(init.relative_to(root))] = init
    return files


def run_payload(
    target: Target,
    module: str,
    arguments: list[str],
    on_line: Callable[[str], None],
    extra_files: dict[str, Path] | None = None,
    report: Reporter = silent,
) -> tuple[int, str]:
    """Copy ``module`` to the box and run ``python3 -m module ARGS`` there, line by line."""
    from introaws import ssh

    with session(target, report) as client:
        report(Event("step", _("copying the payload to the box")))
        _upload(client, {**_package_files(module), **(extra_files or {})})
        pending = b""
        errors: list[bytes] = []

        def take(chunk: bytes) -> None:
            nonlocal pending
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                on_line(line.decode(errors="replace"))

        command = f"cd ~/{WORKDIR} && python3 -m {module} {' '.join(shlex.quote(a) for a in arguments)}"
        code = ssh.run(client, PRELUDE + command, take, errors.append)
        if pending:
            on_line(pending.decode(errors="replace"))
        return code, b"".join(errors).decode(errors="replace").strip()


def bench(target: Target, size: int, report: Reporter = silent) -> dict[str, Any]:
    """Time a SIZE x SIZE float32 matmul on the box's CPU, and on its GPU when it has one."""
    if not 1 <= size <= 40000:
        raise UsageError(
            _("--size {size} is out of range").format(size=size),
            _("give between 1 and 40000 (the textbook uses 10000)"),
        )
    lines: list[str] = []
    code, errors = run_payload(target, "introaws.tasks.matmul", ["--size", str(size)], lines.append, report=report)
    if code != 0:
        raise IntroawsError(
            _("the benchmark failed on the box (exit {code}): {error}").format(
                code=code, error=errors.splitlines()[-1:] or ""
            ),
            _("log in with 'introaws dnn ssh' to look"),
        )
    result = json.loads(lines[-1])
    result["speedup"] = round(result["cpu_s"] / result["gpu_s"], 1) if result.get("gpu_s") else None
    return result


def train(
    target: Target,
    *,
    epochs: int,
    lr: float = 0.01,
    momentum: float = 0.5,
    batch_size: int = 64,
    data_dir: str | None = None,
    on_line: Callable[[str], None] = lambda line: None,
    report: Reporter = silent,
) -> dict[str, Any]:
    """Train the textbook's MNIST CNN on the box (GPU when it has one); lines stream to ``on_line``."""
    if epochs < 1 or batch_size < 1 or lr <= 0 or not 0 <= momentum < 1:
        raise UsageError(
            _("epochs and batch size must be positive, lr > 0 and 0 <= momentum < 1"),
            _("the textbook trains with --epochs 5 --lr 0.01 --momentum 0.5"),
        )
    from introaws.tasks.mnist import data
    from introaws.workflows.data import mnist_dir

    folder = mnist_dir(data_dir)
    missing = data.missing_files(folder)
    if missing:
        raise NotFound(
            _("MNIST files missing in {folder}: {missing}").format(folder=folder, missing=", ".join(missing)),
            _("run 'introaws data mnist', or pass --data-dir with the four IDX files"),
        )
    files = _mnist_files(folder)
    arguments = [
        "--lr",
        str(lr),
        "--momentum",
        str(momentum),
        "--epochs",
        str(epochs),
        "--batch-size",
        str(batch_size),
        "--patience",
        str(epochs),
        "--data-dir",
        MNIST_DATA,
        "--out-dir",
        "runs",
    ]
    lines: list[str] = []

    def keep(line: str) -> None:
        lines.append(line)
        on_line(line)

    code, errors = run_payload(target, "introaws.tasks.mnist", arguments, keep, files, report)
    if code != 0:
        raise IntroawsError(
            _("training failed on the box (exit {code}): {error}").format(
                code=code, error=(errors.splitlines() or [""])[-1]
            ),
            _("log in with 'introaws dnn ssh' and look in ~/{folder}").format(folder=WORKDIR),
        )
    final = next((line for line in reversed(lines) if "test accuracy" in line), "")
    accuracy = None
    with contextlib.suppress(ValueError, IndexError):
        accuracy = float(final.split("test accuracy", 1)[1].split("%", 1)[0])
    return {"epochs": epochs, "lr": lr, "momentum": momentum, "test_accuracy": accuracy, "summary": final}
