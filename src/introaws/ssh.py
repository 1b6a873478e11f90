"""SSH to instances with paramiko: connect (waiting until SSH answers), run a command with
its output streamed and its exit code kept, an interactive shell on a pty, local port
forwarding.

Host keys are pinned on first use in introaws's own known-hosts file under a *host key
alias* (the instance id on AWS), not under the address: addresses change with every deploy,
an instance's host key must not. ``ssh-config``'s block for plain ``ssh`` reaches the instance
through ``introaws ec2 ssh --stdio`` (:func:`relay`), which checks the host key against that
pinning first and hands OpenSSH the current instance's key.
"""

from __future__ import annotations

import contextlib
import os
import select
import shlex
import signal
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko

from introaws import paths
from introaws.errors import Conflict, IntroawsError, NotFound, UsageError
from introaws.i18n import _
from introaws.progress import Event, Reporter, silent

# How long to wait for SSH to answer: a booting EC2 instance takes a minute or two.
# INTROAWS_SSH_TIMEOUT_S shortens it where nothing will answer (the AWS path's tests at the
# local cloud, whose instances' public addresses are stand-ins).
CONNECT_TIMEOUT_S = 180.0
TIMEOUT_ENV = "INTROAWS_SSH_TIMEOUT_S"
Sink = Callable[[bytes], Any]


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom to log in, with which private key."""

    host: str
    port: int
    user: str
    key_file: Path
    key_name: str
    host_key_alias: str  # the name the host key is pinned under


def load_key(endpoint: Endpoint) -> paramiko.PKey:
    path = endpoint.key_file
    if not path.is_file():
        raise NotFound(
            _("the private key of key pair {key_name} is not at {path}").format(key_name=endpoint.key_name, path=path),
            _(
                "put it there (or set INTROAWS_SSH_DIR), or make a new pair with 'introaws keypair create' "
                "and 'introaws ec2 up --key NAME'"
            ),
        )
    try:
        return paramiko.PKey.from_path(path)
    except (paramiko.SSHException, ValueError, OSError) as exc:
        raise UsageError(
            _("cannot read private key {path}: {error}").format(path=path, error=exc),
            _("it must be the unencrypted .pem written by 'introaws keypair create'"),
        ) from exc


def connect(endpoint: Endpoint, *, timeout_s: float | None = None, report: Reporter = silent) -> paramiko.SSHClient:
    """An authenticated client; retries until SSH answers (a booting instance), up to ``timeout_s``
    (default: $INTROAWS_SSH_TIMEOUT_S, else CONNECT_TIMEOUT_S)."""
    key = load_key(endpoint)
    if timeout_s is None:
        timeout_s = float(os.environ.get(TIMEOUT_ENV) or CONNECT_TIMEOUT_S)
    deadline = time.monotonic() + timeout_s
    attempt = 0
    while True:
        attempt += 1
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(_PinnedHostKey(endpoint.host_key_alias))
        try:
            client.connect(
                endpoint.host,
                endpoint.port,
                username=endpoint.user,
                pkey=key,
                timeout=10,
                banner_timeout=15,
                auth_timeout=15,
                allow_agent=False,
                look_for_keys=False,
            )
            return client
        except paramiko.AuthenticationException as exc:
            client.close()
            raise IntroawsError(
                _("{user}@{host}:{port} refused key {key_file} (key pair {key_name}): {error}").format(
                    user=endpoint.user,
                    host=endpoint.host,
                    port=endpoint.port,
                    key_file=endpoint.key_file,
                    key_name=endpoint.key_name,
                    error=exc,
                ),
                _(
                    "the file must be the private key of the instance's key pair; recreate the instance with "
                    "'introaws ec2 down' and 'introaws ec2 up --key NAME'"
                ),
            ) from exc
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise Conflict(
                _("the host key of {host_key_alias} changed: refusing to connect").format(
                    host_key_alias=endpoint.host_key_alias
                ),
                _("if you know why, remove the line for {host_key_alias} from {known_hosts}").format(
                    host_key_alias=endpoint.host_key_alias, known_hosts=paths.known_hosts_file()
                ),
            ) from exc
        except (OSError, paramiko.SSHException, EOFError) as exc:
            client.close()
            if time.monotonic() >= deadline:
                raise IntroawsError(
                    _("SSH on {host}:{port} did not answer within {timeout_s:.0f} s ({error})").format(
                        host=endpoint.host, port=endpoint.port, timeout_s=timeout_s, error=exc
                    ),
                    _("check 'introaws ec2 status' and that --ssh-from allows your address"),
                ) from exc
            report(
                Event(
                    "info",
                    _("waiting for SSH on {host}:{port} (attempt {attempt}: {name})").format(
                        host=endpoint.host, port=endpoint.port, attempt=attempt, name=type(exc).__name__
                    ),
                )
            )
            time.sleep(min(3.0, max(0.0, deadline - time.monotonic())))


class _PinnedHostKey(paramiko.MissingHostKeyPolicy):
    """Trust a host key on first use under ``alias``; refuse a different one later."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        path = paths.known_hosts_file()
        known = paramiko.HostKeys()
        if path.exists():
            known.load(str(path))
        entries = known.lookup(self.alias)
        if entries:
            pinned = entries.get(key.get_name())
            if pinned == key:
                return
            raise paramiko.BadHostKeyException(hostname, key, pinned or next(iter(entries.values())))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            handle.write(f"{self.alias} {key.get_name()} {key.get_base64()}\n")


def command_line(words: Sequence[str]) -> str:
    """One word is a shell command line as typed (``'ls | wc -l'``); several are quoted words."""
    return words[0] if len(words) == 1 else shlex.join(words)


def _transport(client: paramiko.SSHClient) -> paramiko.Transport:
    transport = client.get_transport()
    if transport is None:  # connect() succeeded, so only a dropped connection gets here
        raise paramiko.SSHException("the SSH connection is closed")
    return transport


def run(client: paramiko.SSHClient, command: str, stdout: Sink, stderr: Sink) -> int:
    """Run ``command``, passing output on as it comes; returns the remote exit code."""
    channel = _transport(client).open_session()
    channel.exec_command(command)
    channel.shutdown_write()
    while True:
        select.select([channel], [], [], 1.0)
        while channel.recv_ready():
            stdout(channel.recv(32768))
        while channel.recv_stderr_ready():
            stderr(channel.recv_stderr(32768))
        if channel.exit_status_ready() and not channel.recv_ready() and not channel.recv_stderr_ready():
            break
    code = channel.recv_exit_status()
    channel.close()
    return 255 if code < 0 else code


def shell(client: paramiko.SSHClient, stdin_fd: int, stdout_fd: int) -> int:
    """An interactive login shell on a pty sized like this terminal; returns its exit code."""
    import termios
    import tty

    if not os.isatty(stdin_fd):
        raise UsageError(
            _("an interactive shell needs a terminal"),
            _("run it in a terminal, or give a command: introaws ec2 ssh -- COMMAND"),
        )
    columns, lines = os.get_terminal_size(stdout_fd if os.isatty(stdout_fd) else stdin_fd)
    channel = client.invoke_shell(term=os.environ.get("TERM", "xterm"), width=columns, height=lines)

    def resize(signum: int, frame: object) -> None:
        with contextlib.suppress(OSError):
            channel.resize_pty(*os.get_terminal_size(stdin_fd))

    saved = termios.tcgetattr(stdin_fd)
    previous_handler = signal.signal(signal.SIGWINCH, resize)
    try:
        tty.setraw(stdin_fd)
        while True:
            readable, _writable, _errored = select.select([channel.fileno(), stdin_fd], [], [], 1.0)
            if channel.fileno() in readable:
                data = channel.recv(32768)
                if not data:
                    break
                os.write(stdout_fd, data)
            if stdin_fd in readable:
                data = os.read(stdin_fd, 4096)
                if not data:
                    break
                channel.sendall(data)
            if channel.exit_status_ready() and not channel.recv_ready():
                break
    finally:
        termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, previous_handler)
    code = channel.recv_exit_status()  # waits for the status; -1 when the channel closed without one
    channel.close()
    return 255 if code < 0 else code


def host_key(endpoint: Endpoint, report: Reporter = silent) -> paramiko.PKey:
    """The instance's host key, after a login that checked it against the one pinned under its
    alias (or pinned it, the first time)."""
    client = connect(endpoint, report=report)
    try:
        return _transport(client).get_remote_server_key()
    finally:
        client.close()


def relay(host: str, port: int, stdin_fd: int, stdout_fd: int) -> None:
    """Bytes between ``host:port`` and this process's stdin and stdout until the connection
    closes: what OpenSSH runs as a ``ProxyCommand``."""
    sock = socket.create_connection((host, port), timeout=30)
    sock.settimeout(None)

    def upstream() -> None:
        try:
            while data := os.read(stdin_fd, 65536):
                sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the connection closed first
            pass

    threading.Thread(target=upstream, name="ssh-relay", daemon=True).start()
    try:
        while data := sock.recv(65536):
            view = memoryview(data)
            while view:
                view = view[os.write(stdout_fd, view) :]
    except OSError:
        pass
    finally:
        sock.close()


@contextlib.contextmanager
def forward_local_port(
    client: paramiko.SSHClient, remote_host: str, remote_port: int, local_port: int = 0
) -> Iterator[int]:
    """Forward ``127.0.0.1:local_port`` to ``remote_host:remote_port`` as seen from the instance
    (like ``ssh -L``) while the block runs; yields the local port (a free one when 0)."""
    transport = _transport(client)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            try:
                channel = transport.open_channel("direct-tcpip", (remote_host, remote_port), self.request.getpeername())
            except paramiko.SSHException:
                return
            _pump(self.request, channel)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    try:
        server = Server(("127.0.0.1", local_port), Handler)
    except OSError as exc:
        raise Conflict(
            _("cannot listen on 127.0.0.1:{local_port}: {strerror}").format(
                local_port=local_port, strerror=exc.strerror
            ),
            _("choose another local port"),
        ) from exc
    thread = threading.Thread(target=server.serve_forever, name="ssh-forward", daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _pump(sock: socket.socket, channel: paramiko.Channel) -> None:
    try:
        while True:
            readable, _writable, _errored = select.select([sock.fileno(), channel.fileno()], [], [], 5.0)
            if sock.fileno() in readable:
                data = sock.recv(32768)
                if not data:
                    break
                channel.sendall(data)
            if channel.fileno() in readable:
                data = channel.recv(32768)
                if not data:
                    break
                sock.sendall(data)
    except OSError:
        pass
    finally:
        channel.close()
        sock.close()
