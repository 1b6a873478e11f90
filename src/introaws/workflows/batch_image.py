"""``batch push``: build ``containers/mnist`` and push it to the stack's ECR repository.

The build context is assembled in a temporary folder by :func:`introaws.containers.build_context`:
the Dockerfile, the introaws package (the payload imports ``introaws.tasks.mnist``) and the MNIST
files, which the image bakes in.
On the local cloud there is nothing to push: jobs run the installed introaws directly.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path
from typing import Any

from introaws.containers import CONTAINERS_DIR, build_context
from introaws.errors import MissingTool, NotFound
from introaws.progress import Event, Reporter, silent
from introaws.target import Target

DOCKERFILE = CONTAINERS_DIR / "mnist" / "Dockerfile"


def docker_client() -> Any:
    """A Docker SDK client that answers, or a MissingTool error saying what to do."""
    try:
        import docker

        client = docker.from_env()
        client.ping()
        return client
    except Exception as exc:  # docker raises DockerException, requests errors, FileNotFoundError...
        raise MissingTool(
            f"Docker is not available ({type(exc).__name__})",
            "install and start Docker to build the image for AWS; the local cloud needs no image",
        ) from None


def push(target: Target, report: Reporter = silent) -> dict[str, Any]:
    if target.is_local:
        return {"skipped": "the local cloud runs jobs with the installed introaws; there is no image to push"}
    client = docker_client()
    from introaws.tasks.mnist import data
    from introaws.workflows.batch import Stack

    stack = Stack.of(target)
    mnist_dir = data.resolve_dir()
    if data.missing_files(mnist_dir):
        raise NotFound(f"MNIST is not in {mnist_dir}; the image bakes it in", "run 'introaws data mnist' first")
    if not DOCKERFILE.is_file():
        raise NotFound(f"{DOCKERFILE} is missing", "run 'batch push' from a clone of introaws")
    image = f"{stack.repository_uri}:latest"
    with tempfile.TemporaryDirectory() as work:
        context = build_context("mnist", Path(work), {"mnist": mnist_dir})
        report(Event("step", f"building {image}"))
        for chunk in client.api.build(path=str(context), tag=image, decode=True, rm=True):
            if "error" in chunk:
                raise MissingTool(f"docker build failed: {chunk['error'].strip()}", "fix the build error above")
            if chunk.get("stream", "").strip():
                report(Event("info", chunk["stream"].strip()))
    token = target.client("ecr").get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    report(Event("step", f"pushing {image}"))
    for chunk in client.api.push(image, auth_config={"username": user, "password": password}, stream=True, decode=True):
        if "error" in chunk:
            raise MissingTool(f"docker push failed: {chunk['error']}", "check the ECR repository and your permissions")
        if chunk.get("status") and not chunk.get("progressDetail"):
            report(Event("info", f"{chunk.get('id', '')} {chunk['status']}".strip()))
    return {"image": image}
