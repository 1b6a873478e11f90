"""One warm Lambda worker: ``python lambda_worker.py CODE_DIR HANDLER`` (run as a script).

Imports the handler once (the init phase), then answers invocations one at a time, one JSON
line in and one JSON line out on the pipes it was started with. Whatever the handler prints
or logs is captured per invocation and returned with the result (the runtime ships it to
CloudWatch Logs). Standard library only, so the function's own dependencies win.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import sys
import time
import traceback
from typing import Any


class _Context:
    """The subset of Lambda's context object handlers use."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.aws_request_id = request["request_id"]
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = request.get("function_arn", "")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self._deadline = request["deadline"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


class _Capture(io.TextIOBase):
    """stdout/stderr of the handler, kept for the current invocation."""

    def __init__(self) -> None:
        self.buffer_: list[str] = []

    def write(self, text: str) -> int:
        self.buffer_.append(text)
        return len(text)

    def take(self) -> str:
        text = "".join(self.buffer_)
        self.buffer_.clear()
        return text


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__)[1:],
    }


def main() -> None:
    code_dir, handler_name = sys.argv[1], sys.argv[2]
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    requests = sys.stdin
    os.dup2(2, 1)  # stray writes to fd 1 must not corrupt the channel
    capture = _Capture()
    sys.stdout = sys.stderr = capture
    logging.basicConfig(
        level=logging.INFO, stream=capture, force=True, format="[%(levelname)s]\t%(asctime)s\t%(message)s"
    )
    # Run as a script: the function's code, not this directory, comes first on the path.
    sys.path[0] = code_dir

    def send(message: dict[str, Any]) -> None:
        message["logs"] = capture.take()
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    started = time.monotonic()
    module_name, _, function_name = handler_name.rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:  # the init phase failed: report and exit, as Lambda does
        kind = "Runtime.ImportModuleError" if isinstance(exc, ImportError) else "Runtime.HandlerNotFound"
        send({"ready": False, "error": _error(exc, kind)})
        return
    send({"ready": True, "init_ms": (time.monotonic() - started) * 1000})

    for line in requests:
        request = json.loads(line)
        try:
            result = handler(json.loads(request["payload"] or "null"), _Context(request))
            try:
                payload = json.dumps(result)
            except (TypeError, ValueError) as exc:
                send({"error": _error(exc, "Runtime.MarshalError")})
                continue
            send({"payload": payload})
        except Exception as exc:
            traceback.print_exc()
            send({"error": _error(exc)})


if __name__ == "__main__":
    main()
