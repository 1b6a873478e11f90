"""Container images for AWS: ``containers/<name>`` built for ``linux/amd64`` and pushed to ECR.

One builder serves ``qa up`` (the QA bot's task image) and ``batch push`` (the MNIST job image).
No CDK CLI and no ``docker`` command line: it talks to the Docker engine through the SDK, which
finds the engine as the ``docker`` CLI does (``DOCKER_HOST``, else the current Docker context:
Docker Desktop, Colima and OrbStack put their socket elsewhere), and it logs in to ECR with the
target's own credentials. Images are always ``linux/amd64``, whatever this machine is: Fargate
tasks and the Batch hands-on's g4dn hosts are x86_64, and an arm64 image built on Apple Silicon
dies there with ``exec format error``.

The build context is :func:`introaws.containers.build_context`'s (the Dockerfile, the task
payloads, baked-in data), the one the image contract tests run.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from introaws import containers
from introaws.errors import DockerUnavailable, ImageError
from introaws.i18n import _
from introaws.progress import Event, Reporter, silent
from introaws.target import Target

PLATFORM = "linux/amd64"
TAG = "latest"
ERROR_TAIL_LINES = 5  # Docker output lines quoted in a failed build's error


@dataclass(frozen=True)
class ImageSpec:
    """What one image is built from: ``containers/<name>/Dockerfile``, its build arguments, and
    the folders it bakes in by the name its Dockerfile copies them under (the MNIST files)."""

    name: str
    build_args: Mapping[str, str] = field(default_factory=dict)
    baked: Mapping[str, Path] = field(default_factory=dict)


def docker_client() -> Any:
    """A Docker SDK client whose engine answers, or DockerUnavailable saying what to do."""
    try:
        import docker
    except ImportError:
        raise DockerUnavailable(
            _("the Docker SDK for Python is not installed"), _("pip install docker, then start Docker")
        ) from None
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # DockerException, requests' connection errors, a missing socket file
        raise DockerUnavailable(
            _("no Docker engine answers at {address} ({name})").format(
                address=_engine_address(), name=type(exc).__name__
            ),
            _("start Docker (Docker Desktop, Colima or the docker service) and try again"),
        ) from None
    return client


def engine_summary() -> str:
    """The engine the builds would use, for ``doctor``: its address and version."""
    client = docker_client()
    return _("engine {version} at {address}").format(
        version=client.version().get("Version", "?"), address=_engine_address()
    )


def _engine_address() -> str:
    """Where the SDK looks for the engine, as the docker CLI would: DOCKER_HOST or the context."""
    from docker.context import ContextAPI

    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    try:
        return str(ContextAPI.kwargs_from_context().get("base_url") or _("the default socket"))
    except Exception:  # a broken ~/.docker/config.json
        return _("the default socket")


def build_and_push(
    target: Target, spec: ImageSpec, repository_uri: str, client: Any = None, report: Reporter = silent
) -> str:
    """Build ``spec`` for linux/amd64, tag it ``repository_uri:latest`` and push it; returns the
    image reference. ``client`` is a Docker SDK client (one that answered, from
    :func:`docker_client`, so a missing engine is reported before anything is deployed)."""
    client = client or docker_client()
    reference = f"{repository_uri}:{TAG}"
    with tempfile.TemporaryDirectory(prefix="introaws-image-") as work:
        context = _context(spec, Path(work))
        report(Event("step", _("building {reference} ({platform})").format(reference=reference, platform=PLATFORM)))
        _follow_build(
            client.api.build(
                path=str(context),
                tag=reference,
                buildargs=dict(spec.build_args),
                platform=PLATFORM,
                rm=True,
                decode=True,
            ),
            spec.name,
            report,
        )
    token = target.client("ecr").get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    report(Event("step", _("pushing {reference}").format(reference=reference)))
    for chunk in client.api.push(
        repository_uri, tag=TAG, auth_config={"username": user, "password": password}, stream=True, decode=True
    ):
        if "error" in chunk:
            raise ImageError(
                _("pushing {reference} failed: {error}").format(reference=reference, error=str(chunk["error"]).strip()),
                _("check that the stack's ECR repository exists and that you may push to it"),
            )
        if chunk.get("status") and not chunk.get("progressDetail"):
            report(Event("info", f"{chunk.get('id', '')} {chunk['status']}".strip()))
    return reference


def _context(spec: ImageSpec, work: Path) -> Path:
    try:
        return containers.build_context(spec.name, work, spec.baked)
    except FileNotFoundError as exc:  # no containers/ here, or the Dockerfile copies what we lack
        raise ImageError(
            _("cannot assemble the {name} image: {error}").format(name=spec.name, error=exc),
            _("build from a clone of introaws (it holds containers/)"),
        ) from None


def _follow_build(chunks: Iterable[dict[str, Any]], name: str, report: Reporter) -> None:
    """Stream the build's output as progress; a failure quotes its last lines in one error."""
    tail: deque[str] = deque(maxlen=ERROR_TAIL_LINES)
    try:
        for chunk in chunks:
            text = str(chunk.get("stream") or chunk.get("status") or "").strip()
            for line in text.splitlines():
                if line.strip():
                    tail.append(line.strip())
                    report(Event("info", line.strip()))
            if "error" in chunk:
                tail.append(str(chunk["error"]).strip())
                raise ImageError(
                    _("building the {name} image failed: {output}").format(name=name, output=" | ".join(tail)),
                    _(
                        "fix the cause in containers/{name}/Dockerfile or its context, then run the command again"
                    ).format(name=name),
                )
    except ImageError:
        raise
    except Exception as exc:  # the engine went away mid-build (APIError, a broken connection)
        raise ImageError(
            _("building the {name} image failed: {error_type}: {error}").format(
                name=name, error_type=type(exc).__name__, error=exc
            ),
            _("check that Docker is running"),
        ) from None
