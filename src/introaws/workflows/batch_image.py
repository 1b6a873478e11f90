"""``batch push``: build ``containers/mnist`` (with the MNIST files baked in) and push it to the
stack's ECR repository. On the local cloud there is nothing to push: jobs run the installed
introaws directly."""

from __future__ import annotations

from typing import Any

from introaws.deploy import images
from introaws.errors import NotFound
from introaws.i18n import N_, _
from introaws.progress import Reporter, silent
from introaws.target import Target
from introaws.workflows.data import mnist_dir


def push(target: Target, report: Reporter = silent) -> dict[str, Any]:
    if target.kind.runs_here:
        return {"skipped": N_("the local cloud runs jobs with the installed introaws; there is no image to push")}
    from introaws.tasks.mnist import data
    from introaws.workflows.batch import Stack

    client = images.docker_client()
    folder = mnist_dir()
    if data.missing_files(folder):
        raise NotFound(
            _("MNIST is not in {folder}; the image bakes it in").format(folder=folder),
            _("run 'introaws data mnist' first"),
        )
    stack = Stack.of(target)
    spec = images.ImageSpec("mnist", baked={"mnist": folder})
    return {"image": images.build_and_push(target, spec, stack.repository_uri, client, report)}
