"""The error tree. Every error a user can cause or fix carries a hint and an exit code.

The CLI's one error boundary (``cli.app.main``) prints ``error: <message>`` and the hint in
one line and exits with ``exit_code``; anything else is a bug and shows a traceback only
with ``--debug``.
"""

from __future__ import annotations

from enum import IntEnum

from introaws.i18n import _


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    CONFLICT = 4
    ABORTED = 5
    DEPLOY_FAILED = 6
    MISSING_TOOL = 7
    INTERRUPTED = 130


class IntroawsError(Exception):
    """An error the user can act on: what went wrong, and what to do."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return _("{message} ({hint})").format(message=self.message, hint=self.hint) if self.hint else self.message


class UsageError(IntroawsError):
    exit_code = ExitCode.USAGE


class NotFound(IntroawsError):
    exit_code = ExitCode.NOT_FOUND


class Conflict(IntroawsError):
    exit_code = ExitCode.CONFLICT


class Aborted(IntroawsError):
    exit_code = ExitCode.ABORTED


class DeployFailed(IntroawsError):
    exit_code = ExitCode.DEPLOY_FAILED


class MissingTool(IntroawsError):
    exit_code = ExitCode.MISSING_TOOL


class ImageError(IntroawsError):
    """A container image could not be built or pushed."""

    exit_code = ExitCode.DEPLOY_FAILED


class DockerUnavailable(ImageError):
    """No Docker engine answers (or its SDK is missing): nothing was built."""

    exit_code = ExitCode.MISSING_TOOL


class LocalCloudError(IntroawsError):
    """The local cloud daemon could not be started or reached."""
