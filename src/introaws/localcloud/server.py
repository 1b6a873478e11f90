"""The local cloud daemon: ``python -m introaws.localcloud.server --state-dir DIR --port P``.

Replays the journal into a fresh moto, then serves moto behind :class:`Front` on
127.0.0.1. ``daemon.json`` (pid, port) is written only once the port is bound and the
state is back, so a client that sees it can use the cloud at once.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path

from introaws import platform
from introaws.localcloud.daemon import JOURNAL_FILE, REFUSED, STATE_FILE
from introaws.localcloud.identity.mode import BadMode, mode_from
from introaws.localcloud.journal import Journal, JournalMismatch
from introaws.localcloud.settings import BadSetting

_MODE_NOTES = {
    "enforce": "workloads' requests are held against their roles' policies",
    "soft": "workloads' requests their roles do not allow are logged and let through",
    "off": "workloads' requests are not evaluated",
}


def build_front(state_dir: Path):  # -> Front; imports moto, so kept out of module import
    # moto must not try to reach a Docker engine: our runtime hooks run things instead.
    os.environ.setdefault("MOTO_DOCKER_NETWORK_MODE", "none")
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from introaws.localcloud import adapt, speedups
    from introaws.localcloud.front import Front

    adapt.install()
    speedups.install()
    moto_app = DomainDispatcherApplication(create_backend_app)
    return Front(moto_app=moto_app, journal=Journal(state_dir / JOURNAL_FILE), home=str(state_dir))


def serve(state_dir: Path, port: int) -> None:
    from introaws.localcloud import speedups

    Journal(state_dir / JOURNAL_FILE).check()  # refused at once, before moto is imported
    speedups.skip_unused_slow_imports()  # before anything below imports moto
    from introaws.localcloud.compaction import COMPACT_AFTER, compact
    from introaws.localcloud.identity import admin
    from introaws.localcloud.identity.gate import Gate
    from introaws.localcloud.identity.policies import RolePolicies
    from introaws.localcloud.identity.principals import Principals
    from introaws.localcloud.listener import Listener
    from introaws.localcloud.runtime import RuntimeContext, build_hooks

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    log = logging.getLogger("introaws.localcloud")
    iam_mode = mode_from(os.environ)
    front = build_front(state_dir)
    replayed = front.replay()
    log.info("replayed %d journaled requests", replayed)
    if replayed >= COMPACT_AFTER:
        compact(front)
    server = Listener(port, front.respond)
    # After replay: issued keys that outlived the last run go back into moto's STS.
    principals = Principals(state_dir, admin.credentials(state_dir), front.moto_lock)
    front.gate = Gate(principals, RolePolicies(front.moto_lock), iam_mode)
    log.info("IAM: %s (%s)", iam_mode, _MODE_NOTES[iam_mode])
    front.hooks = list(build_hooks(RuntimeContext(state_dir, server.endpoint, front.forward, principals)))
    me = platform.process_ref(os.getpid())
    state = {"pid": os.getpid(), "port": server.server_port, "started": me.started if me else None}
    tmp = state_dir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(state_dir / STATE_FILE)
    log.info("serving on http://127.0.0.1:%d", server.server_port)

    def _stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    finally:
        for hook in front.hooks:
            hook.stop()
        if front.journal.appended >= COMPACT_AFTER:
            compact(front)
        front.journal.close()
        _remove_state_file(state_dir)
        log.info("stopped")


def _remove_state_file(state_dir: Path) -> None:
    path = state_dir / STATE_FILE
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="introaws.localcloud.server")
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    args.state_dir.mkdir(parents=True, exist_ok=True)
    try:
        serve(args.state_dir, args.port)
    except OSError as exc:
        print(f"local cloud failed to start: {exc}", file=sys.stderr)
        sys.exit(1)
    except (JournalMismatch, BadMode, BadSetting) as exc:
        print(exc, file=sys.stderr)
        sys.exit(REFUSED)
    except SystemExit:  # SIGTERM: serve() has stopped every workload and saved the state
        pass
    # A thread still waiting on a workload that was just stopped (an API Gateway call whose
    # Lambda worker was killed, a pool thread) must not keep the process up: 'cloud stop'
    # waits for it to exit, and killed it after 15 s when one did.
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    main()
