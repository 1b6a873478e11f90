"""EC2 instances that accept SSH: one real OpenSSH ``sshd`` per running instance.

Each running instance with a key pair gets an sshd on a loopback port, run as the daemon's
user with a host key and config of its own (no PAM, nothing Linux-only: the same config runs
macOS's ``/usr/sbin/sshd``) and the key pair's public key authorized; logging in reaches a
shell on this machine. The runtime follows every request that can start or end instances
(RunInstances, TerminateInstances, Stop/StartInstances, CloudFormation change sets and stack
deletes) by reconciling that region: sshds for running instances, none for the rest. It does
the same once the daemon starts; an sshd outlives a daemon that was killed (as an instance
outlives its control plane) and is found again by its pid and command line. An instance whose
``introaws:ttl-minutes`` tag says its time is up is terminated (also after a restart); a minute
lasts ``INTROAWS_TTL_MINUTE_S`` seconds (60 unless set on the daemon: the tests see an instance
end in seconds).

Each instance has a home folder of its own (``HOME``, made with start-up files that begin
sessions there), removed when it is terminated, as an instance's disk is: what a hands-on
puts on the box stays out of the user's own home. Sessions carry ``INTROAWS_INSTANCE`` in
their environment, so stopping an instance also ends what its sessions left running after
they closed (a ``nohup jupyter … &``), and find introaws's own Python environment first on
``PATH``, as the Deep Learning AMI's sessions find its PyTorch environment. An instance with
an instance profile gets its role's credentials in its sessions' environment.

Per instance, ``runtime/ec2/<instance-id>/`` keeps the sshd config, host key, authorized
key, port, pid and the home folder; ``GET /_introaws/ec2/instances/<id>/ssh`` tells clients where to connect.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from introaws import platform
from introaws.localcloud import settings
from introaws.localcloud.front import Reply
from introaws.localcloud.requests import Recorded
from introaws.localcloud.runtime import Removed, RuntimeContext
from introaws.stacks import TTL_TAG

log = logging.getLogger("introaws.localcloud.ec2")

_WATCHED = {
    ("ec2", "RunInstances"),
    ("ec2", "TerminateInstances"),
    ("ec2", "StartInstances"),
    ("ec2", "StopInstances"),
    ("cloudformation", "ExecuteChangeSet"),
    ("cloudformation", "CreateStack"),
    ("cloudformation", "UpdateStack"),
    ("cloudformation", "DeleteStack"),
}
_QUERY_PREFIX = "/_introaws/ec2/instances/"
_DEFAULT_REGION = "ap-northeast-1"
_SSHD_PATHS = ("/usr/sbin/sshd", "/usr/local/sbin/sshd")
_SSHD_CONFIG = """\
# Written by introaws for EC2 instance {instance_id}; runs as {user}.
Port {port}
ListenAddress 127.0.0.1
HostKey "{dir}/ssh_host_ed25519_key"
PidFile "{dir}/sshd.pid"
AuthorizedKeysFile "{dir}/authorized_keys"
AllowUsers {user}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
# The key files live in introaws's state folder, not in ~/.ssh; do not judge their owners.
StrictModes no
UsePAM no
PrintMotd no
AllowTcpForwarding yes
Subsystem sftp internal-sftp
# The local "image": introaws's own Python environment (PyTorch, JupyterLab) is its framework
# environment, first on PATH, as /opt/pytorch is the Deep Learning AMI's (see workflows/dnn.py).
SetEnv {environment}
"""


def find_sshd() -> str | None:
    """``$INTROAWS_SSHD`` when set (an sshd outside the usual places), else PATH, else sbin."""
    chosen = os.environ.get("INTROAWS_SSHD")
    if chosen:
        return chosen if os.access(chosen, os.X_OK) else None
    return shutil.which("sshd") or next((p for p in _SSHD_PATHS if os.access(p, os.X_OK)), None)


class Ec2Runtime:
    def __init__(self, ctx: RuntimeContext) -> None:
        self.ctx = ctx
        self.root = ctx.runtime_dir("ec2")
        self.user = getpass.getuser()
        self._lock = threading.RLock()
        self._ready = threading.Event()
        self._timers: dict[str, threading.Timer] = {}
        self._stopped = False
        # A fresh local cloud (after 'cloud reset') gets a new id, so host keys pinned for
        # an instance id of a wiped cloud are not mistaken for a changed host key.
        id_file = self.root / "cloud-id"
        if not id_file.exists():
            id_file.write_text(secrets.token_hex(6))
        self.cloud_id = id_file.read_text().strip()
        # The daemon serves requests only after hooks are built: reconcile from a thread.
        threading.Thread(target=self._reconcile_known_regions, name="ec2-start", daemon=True).start()

    # --- the hook ---------------------------------------------------------------------

    def handle(self, request: Recorded, forward: Callable[[Recorded], Reply]) -> Reply | None:
        if request.path.startswith(_QUERY_PREFIX):
            return self._ssh_endpoint(request.path[len(_QUERY_PREFIX) :].split("/")[0])
        return None

    def follow_up(self, request: Recorded, removed: Removed) -> None:
        if (request.service, request.action) in _WATCHED:
            self.reconcile(request.region)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            for timer in self._timers.values():
                timer.cancel()
            for directory in self._instance_dirs():
                self._stop_sshd(directory)

    # --- what clients ask ----------------------------------------------------------------

    def _ssh_endpoint(self, instance_id: str) -> Reply:
        self._ready.wait(30)
        directory = self.root / instance_id
        with self._lock:
            port = _running_port(directory)
            error = _read(directory / "error")
        if port is None:
            message = error or f"instance {instance_id} has no SSH server (is it running?)"
            return Reply.json({"message": message, "missing_sshd": find_sshd() is None}, 404)
        return Reply.json(
            {
                "host": "127.0.0.1",
                "port": port,
                "user": self.user,
                "host_key_alias": f"{instance_id}.local-{self.cloud_id}",
            }
        )

    # --- reconciling ---------------------------------------------------------------------

    def _reconcile_known_regions(self) -> None:
        try:
            regions = {_DEFAULT_REGION} | {
                json.loads((d / "instance.json").read_text())["region"]
                for d in self._instance_dirs()
                if (d / "instance.json").exists()
            }
            for region in sorted(regions):
                self.reconcile(region)
        except Exception:  # the daemon must keep serving; the log says what went wrong
            log.exception("could not bring back the EC2 instances' sshds")
        finally:
            self._ready.set()

    def reconcile(self, region: str) -> None:
        """sshds for the running instances of ``region``, none for the others."""
        instances = self._instances(region)
        with self._lock:
            if self._stopped:
                return
            for instance in instances:
                instance_id, state = instance["InstanceId"], instance["State"]["Name"]
                directory = self.root / instance_id
                if state == "running" and instance.get("KeyName"):
                    self._ensure_sshd(directory, instance, region)
                    self._schedule_ttl(instance, region)
                elif state in ("stopping", "stopped"):
                    self._stop_sshd(directory)
                elif directory.exists():  # terminated or shutting down: gone for good
                    self._forget(directory)
            present = {i["InstanceId"] for i in instances}
            for directory in self._instance_dirs():
                info = _read(directory / "instance.json")
                if info and json.loads(info)["region"] == region and directory.name not in present:
                    self._forget(directory)

    def _instances(self, region: str) -> list[dict[str, Any]]:
        ec2 = self.ctx.client("ec2", region)
        return [
            instance
            for page in ec2.get_paginator("describe_instances").paginate()
            for reservation in page["Reservations"]
            for instance in reservation["Instances"]
        ]

    def _ensure_sshd(self, directory: Path, instance: dict[str, Any], region: str) -> None:
        if _running_port(directory) is not None:
            return
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "error").unlink(missing_ok=True)
        (directory / "instance.json").write_text(json.dumps({"region": region, "key_name": instance["KeyName"]}))
        sshd = find_sshd()
        if sshd is None:
            (directory / "error").write_text(
                "OpenSSH's sshd is not installed, so local instances cannot accept SSH "
                "(Debian/Ubuntu: apt-get install openssh-server)"
            )
            return
        try:
            self._authorize(directory, instance["KeyName"], region)
            _host_key(directory)
            framework = str(Path(sys.executable).parent)
            environment = {
                "HOME": str(_box_home(directory)),
                "INTROAWS_FRAMEWORK_BIN": framework,
                # 'python' in a session is the framework's, as on the Deep Learning AMI.
                "PATH": os.pathsep.join([framework, os.environ.get("PATH") or os.defpath]),
                "INTROAWS_INSTANCE": self._marker(instance["InstanceId"]),
                **self._role_environment(instance, region),
            }
            _start_sshd(sshd, directory, instance["InstanceId"], self.user, environment)
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            (directory / "error").write_text(f"the SSH server of {instance['InstanceId']} failed: {exc}")
            log.error("sshd for %s failed: %s", instance["InstanceId"], exc)

    def _marker(self, instance_id: str) -> str:
        return f"{instance_id}.local-{self.cloud_id}"

    def _role_environment(self, instance: dict[str, Any], region: str) -> dict[str, str]:
        """Environment that gives the instance's sessions its instance profile's role (none
        without a profile, as on AWS). The environment, not a token: an sshd outlives a daemon."""
        profile = (instance.get("IamInstanceProfile") or {}).get("Arn")
        if not profile:
            return {}
        found = self.ctx.client("iam", region).get_instance_profile(InstanceProfileName=profile.rsplit("/", 1)[-1])
        roles = found["InstanceProfile"].get("Roles") or []
        env, _ = self.ctx.credentials.hand_over(
            "environment",
            roles[0]["Arn"] if roles else None,
            instance["InstanceId"],
            owner=_grant(instance["InstanceId"]),
        )
        return {**env, "AWS_ENDPOINT_URL": self.ctx.endpoint, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}

    def _authorize(self, directory: Path, key_name: str, region: str) -> None:
        keys = self.ctx.client("ec2", region).describe_key_pairs(KeyNames=[key_name], IncludePublicKey=True)["KeyPairs"]
        public = keys[0].get("PublicKey", "").strip() if keys else ""
        if public:
            (directory / "authorized_keys").write_text(public + "\n")
        elif not (directory / "authorized_keys").exists():
            raise RuntimeError(f"key pair {key_name} has no public key")

    def _schedule_ttl(self, instance: dict[str, Any], region: str) -> None:
        tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
        instance_id = instance["InstanceId"]
        if TTL_TAG not in tags or instance_id in self._timers:
            return
        launched = instance["LaunchTime"]
        if launched.tzinfo is None:
            launched = launched.replace(tzinfo=UTC)
        due = launched.timestamp() + int(tags[TTL_TAG]) * settings.seconds("INTROAWS_TTL_MINUTE_S")
        delay = max(0.0, due - datetime.now(UTC).timestamp())
        timer = threading.Timer(delay, self._expire, args=(instance_id, region))
        timer.daemon = True
        self._timers[instance_id] = timer
        timer.start()

    def _expire(self, instance_id: str, region: str) -> None:
        """The instance's time to live is over: terminate it, as 'shutdown' would on AWS."""
        log.info("terminating %s: its time to live is over", instance_id)
        try:  # journaled like any request; then the sshd goes
            self.ctx.client("ec2", region).terminate_instances(InstanceIds=[instance_id])
            self.reconcile(region)
        except Exception:  # the daemon may be stopping; the next start reconciles again
            log.exception("could not terminate %s", instance_id)

    def _forget(self, directory: Path) -> None:
        self._stop_sshd(directory)
        timer = self._timers.pop(directory.name, None)
        if timer:
            timer.cancel()
        shutil.rmtree(directory, ignore_errors=True)

    def _stop_sshd(self, directory: Path) -> None:
        """End this instance's sshd, every session it started, and what they left running."""
        pid = _sshd_pid(directory)
        doomed = [pid, *platform.descendants(pid)] if pid is not None else []
        doomed += platform.processes_with_env("INTROAWS_INSTANCE", self._marker(directory.name))
        platform.end_processes(sorted(set(doomed)))
        (directory / "sshd.pid").unlink(missing_ok=True)
        self.ctx.credentials.revoke(_grant(directory.name))  # its sessions' role keys end with them

    def _instance_dirs(self) -> list[Path]:
        return sorted(p for p in self.root.glob("i-*") if p.is_dir())


# --- one sshd ---------------------------------------------------------------------------


def _grant(instance_id: str) -> str:
    """The grant of an instance's sessions' credentials: kept across daemon restarts, as the
    sshd that holds them in its environment outlives a killed daemon."""
    return f"ec2-sessions-{instance_id}"


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


# The box's skeleton start-up files (sh and bash, zsh): sessions start in the box's home, with
# the framework first on PATH even after a system profile that resets or reorders it (Debian's
# /etc/profile, macOS's path_helper).
_START_UP = """\
# Written by introaws: the start-up file of a local EC2 instance's home.
cd "$HOME" 2>/dev/null
PATH="$INTROAWS_FRAMEWORK_BIN:$PATH"
export PATH
"""
_START_UP_FILES = (".profile", ".bashrc", ".zshenv", ".zprofile")


def _box_home(directory: Path) -> Path:
    """The instance's home, made on first start; it goes with the instance, as its disk would."""
    home = directory / "home"
    if not home.is_dir():
        home.mkdir(mode=0o700)
        for name in _START_UP_FILES:
            (home / name).write_text(_START_UP)
    return home


def _host_key(directory: Path) -> None:
    key = directory / "ssh_host_ed25519_key"
    if not key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", directory.name, "-f", str(key)],
            check=True,
            capture_output=True,
            timeout=30,
        )


def _sshd_pid(directory: Path) -> int | None:
    """The pid of this instance's sshd when it runs (checked by its command line)."""
    text = _read(directory / "sshd.pid")
    if not text or not text.strip().isdigit():
        return None
    pid = int(text)
    return pid if platform.is_our_process(pid, str(directory / "sshd_config")) else None


def _running_port(directory: Path) -> int | None:
    port = _read(directory / "port")
    return int(port) if port and _sshd_pid(directory) is not None else None


def _free_port(preferred: int | None) -> int:
    for candidate in ([preferred] if preferred else []) + [0]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise RuntimeError("no free port")


def _start_sshd(sshd: str, directory: Path, instance_id: str, user: str, environment: dict[str, str]) -> None:
    previous = _read(directory / "port")
    port = _free_port(int(previous) if previous and previous.strip().isdigit() else None)
    config = directory / "sshd_config"
    config.write_text(
        _SSHD_CONFIG.format(
            instance_id=instance_id,
            user=user,
            port=port,
            dir=directory,
            environment=" ".join(f'"{k}={v}"' for k, v in environment.items()),
        )
    )
    if os.geteuid() == 0 and Path("/run").is_dir():  # Linux's sshd run by root wants its privsep folder
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    with (directory / "sshd.log").open("ab") as log_file:
        process = subprocess.Popen(
            [sshd, "-D", "-e", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (directory / "sshd.pid").write_text(str(process.pid))
    (directory / "port").write_text(str(port))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = (_read(directory / "sshd.log") or "").strip().splitlines()[-1:]
            raise RuntimeError(f"sshd exited with code {process.returncode}: {' '.join(tail)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            threading.Thread(target=process.wait, daemon=True).start()  # reap it when it ends
            return
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"sshd did not listen on port {port} within 10 s")
