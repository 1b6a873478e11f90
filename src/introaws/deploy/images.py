"""Container images for AWS: ``containers/<name>`` built for ``linux/amd64`` and pushed to ECR.

One builder serves ``qa up`` (the QA bot's task image) and ``batch push`` (the MNIST job image).
No CDK CLI and no ``docker`` command line: it talks to the Docker engine through the SDK, which
finds the engine as the ``docker`` CLI does (``DOCKER_HOST``, else the current Docker context:
Docker Desktop, Colima and OrbStack put their socket elsewhere), and it logs in to ECR with the
target's own credentials. Images are always ``linux/amd64``, whatever this machine is: Fargate
tasks and the Batch hands-on's g4dn hosts are x86_64, and an arm64 image built on Apple Silicon
dies there with ``exec format error``.

The build context holds the Dockerfile, the task payloads (``introaws/__init__.py`` and
``introaws/tasks``, which stand alone) and, per image, baked-in data; nothing else of introaws.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import introaws
from introaws.errors import DockerUnavailable, ImageError
from introaws.progress import Event, Reporter, silent
from introaws.target import Target

CONTAINERS_DIR = Path(introaws.__file__).resolve().parents[2] / "containers"
PLATFORM = "linux/amd64"
TAG = "latest"
ERROR_TAIL_LINES = 5  # Docker output lines quoted in a failed build's error


@dataclass(frozen=True)
class ImageSpec:
    """What one image is built from: ``containers/<name>/Dockerfile``, its build arguments, and
    folders baked into the context under the given names (the MNIST files)."""

    name: str
    build_args: Mapping[str, str] = field(default_factory=dict)
    baked: Mapping[str, Path] = field(default_factory=dict)

    @property
    def dockerfile(self) -> Path:
        return CONTAINERS_DIR / self.name / "Dockerfile"


def assemble_context(spec: ImageSpec, into: Path) -> Path:
    """Lay out the build context in ``into``: Dockerfile, the payload package, baked folders."""
    if not spec.dockerfile.is_file():
        raise ImageError(
            f"containers/{spec.name}/Dockerfile is not here (introaws was not installed from a checkout)",
            "build from a clone of introaws",
        )
    shutil.copy(spec.dockerfile, into / "Dockerfile")
    package = Path(introaws.__file__).resolve().parent
    (into / "introaws").mkdir()
    shutil.copy(package / "__init__.py", into / "introaws" / "__init__.py")
    shutil.copytree(package / "tasks", into / "introaws" / "tasks", ignore=shutil.ignore_patterns("__pycache__"))
    for name, folder in spec.baked.items():
        shutil.copytree(folder, into / name)
    return into


def docker_client() -> Any:
    """A Docker SDK client whose engine answers, or DockerUnavailable saying what to do."""
    try:
        import docker
    except ImportError:
        raise DockerUnavailable(
            "the Docker SDK for Python is not installed", "pip install docker, then start Docker"
        ) from None
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # DockerException, requests' connection errors, a missing socket file
        raise DockerUnavailable(
            f"no Docker engine answers at {_engine_address()} ({type(exc).__name__})",
            "start Docker (Docker Desktop, Colima or the docker service) and try again",
        ) from None
    return client


def engine_summary() -> str:
    """The engine the builds would use, for ``doctor``: its address and version."""
    client = docker_client()
    return f"engine {client.version().get('Version', '?')} at {_engine_address()}"


def _engine_address() -> str:
    """Where the SDK looks for the engine, as the docker CLI would: DOCKER_HOST or the context."""
    from docker.context import ContextAPI

    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    try:
        return str(ContextAPI.kwargs_from_context().get("base_url") or "the default socket")
    except Exception:  # a broken ~/.docker/config.json
        return "the default socket"


def build_and_push(
    target: Target, spec: ImageSpec, repository_uri: str, client: Any = None, report: Reporter = silent
) -> str:
    """Build ``spec`` for linux/amd64, tag it ``repository_uri:latest`` and push it; returns the
    image reference. ``client`` is a Docker SDK client (one that answered, from
    :func:`docker_client`, so a missing engine is reported before anything is deployed)."""
    client = client or docker_client()
    reference = f"{repository_uri}:{TAG}"
    with tempfile.TemporaryDirectory(prefix="introaws-image-") as work:
        context = assemble_context(spec, Path(work))
        report(Event("step", f"building {reference} ({PLATFORM})"))
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
    report(Event("step", f"pushing {reference}"))
    for chunk in client.api.push(
        repository_uri, tag=TAG, auth_config={"username": user, "password": password}, stream=True, decode=True
    ):
        if "error" in chunk:
            raise ImageError(
                f"pushing {reference} failed: {str(chunk['error']).strip()}",
                "check that the stack's ECR repository exists and that you may push to it",
            )
        if chunk.get("status") and not chunk.get("progressDetail"):
            report(Event("info", f"{chunk.get('id', '')} {chunk['status']}".strip()))
    return reference


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
                    f"building the {name} image failed: {' | '.join(tail)}",
                    f"fix the cause in containers/{name}/Dockerfile or its context, then run the command again",
                )
    except ImageError:
        raise
    except Exception as exc:  # the engine went away mid-build (APIError, a broken connection)
        raise ImageError(
            f"building the {name} image failed: {type(exc).__name__}: {exc}", "check that Docker is running"
        ) from None
