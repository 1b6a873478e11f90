"""The newest PyTorch Deep Learning AMI of a region, named by AWS's public SSM parameters.

AWS publishes one parameter per DLAMI flavour and framework version
(``.../oss-nvidia-driver-gpu-pytorch-2.7-amazon-linux-2023/latest/ami-id``); a name pinned in
the stack goes stale as versions are retired. ``dnn up`` lists the parameters under the path
and picks the highest PyTorch version; when that fails (no permission, a region without them,
the local cloud) the stack's pinned name is the fall-back.
"""

from __future__ import annotations

import re

from introaws.i18n import _
from introaws.progress import Event, Reporter, silent
from introaws.target import Target

PATH = "/aws/service/deeplearning/ami/x86_64"
_NAME = re.compile(re.escape(PATH) + r"/oss-nvidia-driver-gpu-pytorch-(\d+(?:\.\d+)*)-amazon-linux-2023/latest/ami-id")


def newest_parameter(target: Target, report: Reporter = silent) -> str | None:
    """The SSM parameter of the newest PyTorch DLAMI on Amazon Linux 2023, or None."""
    ssm = target.client("ssm")
    try:
        names = [
            parameter["Name"]
            for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=PATH, Recursive=True)
            for parameter in page["Parameters"]
        ]
    except ssm.exceptions.ClientError as exc:
        report(
            Event(
                "info",
                _("could not list the Deep Learning AMIs ({code})").format(code=exc.response["Error"].get("Code")),
            )
        )
        return None
    versions = {
        name: tuple(int(n) for n in match.group(1).split(".")) for name in names if (match := _NAME.fullmatch(name))
    }
    if not versions:
        return None
    newest = max(versions, key=lambda name: versions[name])
    report(Event("info", _("Deep Learning AMI: {newest}").format(newest=newest)))
    return newest
