"""Container images for AWS: build ``containers/<name>`` with the Docker SDK and push to ECR.

No CDK CLI, no ``docker`` command line: the engine talks to the Docker engine through the
SDK and logs in to ECR with the target's own credentials. The build context is assembled by
:func:`introaws.containers.build_context` (the Dockerfile and the task payload package), so the
image holds what runs in it, and the contract tests run exactly that.
"""

from __future__ import annotations

import base64
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from introaws.containers import CONTAINERS_DIR, build_context
from introaws.errors import DeployFailed, MissingTool
from introaws.progress import Event, Reporter, silent
from introaws.target import Target

TAG = "latest"


@dataclass
class ImageBuilder:
    name: str  # containers/<name>
    build_args: dict[str, str] = field(default_factory=dict)
    _client: Any = None

    @classmethod
    def for_qa(cls, model: str) -> ImageBuilder:
        """The QA bot's image, with ``model`` baked in; checks Docker is there first."""
        builder = cls("qa", {"QA_MODEL": model})
        builder._client = _docker()
        if not (CONTAINERS_DIR / "qa" / "Dockerfile").is_file():
            raise MissingTool(
                "containers/qa/Dockerfile is not here (introaws was not installed from a checkout)",
                "build from a clone of introaws, or pass --image URI of an image you pushed",
            )
        return builder

    def build_and_push(self, target: Target, repository_uri: str, report: Reporter = silent) -> str:
        """Build, tag ``repository_uri:latest``, push; returns the image reference."""
        reference = f"{repository_uri}:{TAG}"
        with tempfile.TemporaryDirectory(prefix="introaws-image-") as work:
            context = build_context(self.name, Path(work))
            report(Event("step", f"building image {reference}"))
            try:
                self._client.images.build(path=str(context), tag=reference, buildargs=self.build_args, rm=True)
            except Exception as exc:  # docker.errors.BuildError / APIError
                raise DeployFailed(
                    f"building the {self.name} image failed: {exc}", "fix the cause shown, or pass --image URI"
                ) from exc
        token = target.client("ecr").get_authorization_token()["authorizationData"][0]
        user, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
        report(Event("step", f"pushing {reference}"))
        for line in self._client.images.push(
            repository_uri, tag=TAG, stream=True, decode=True, auth_config={"username": user, "password": password}
        ):
            if "error" in line:
                raise DeployFailed(f"pushing {reference} failed: {line['error']}", "check ECR access and retry")
        return reference


def _docker() -> Any:
    try:
        import docker
    except ImportError:
        raise MissingTool(
            "the Docker SDK for Python is not installed", "pip install docker and start Docker, or pass --image URI"
        ) from None
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        raise MissingTool(
            f"no Docker engine answers ({exc.__class__.__name__})",
            "start Docker to build the image, or pass --image URI of an image you pushed",
        ) from None
    return client
