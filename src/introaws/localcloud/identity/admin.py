"""The local cloud's administrator credentials: random for each ``INTROAWS_HOME``, kept in a
file only its owner can read (mode 0600), created the first time anything needs them.

They are what introaws signs with, and what ``introaws cloud env`` gives other clients (the
AWS CLI, the textbook's scripts). The daemon refuses every key it does not know, so another
user of the machine cannot use the local cloud — it runs the code it is given. They survive
``cloud reset``: a reset empties the cloud, and shells that exported them keep working.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "admin-credentials.json"
_KEY_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # what AWS's key ids are made of


@dataclass(frozen=True)
class AdminCredentials:
    access_key_id: str
    secret_access_key: str

    def boto3_kwargs(self) -> dict[str, str]:
        return {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key}


def path(state_dir: Path) -> Path:
    return state_dir / FILE_NAME


def credentials(state_dir: Path) -> AdminCredentials:
    """This home's administrator credentials, created (mode 0600) when there are none yet."""
    file = path(state_dir)
    try:
        return _read(file)
    except FileNotFoundError:
        pass
    fresh = AdminCredentials(
        "AKIA" + "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(16)),
        base64.b64encode(secrets.token_bytes(30)).decode(),
    )
    staging = file.with_name(f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"AccessKeyId": fresh.access_key_id, "SecretAccessKey": fresh.secret_access_key}, handle)
    try:
        os.link(staging, file)  # never replaces: two first starts at once agree on one pair
    except FileExistsError:
        pass
    finally:
        staging.unlink()
    return _read(file)


def _read(file: Path) -> AdminCredentials:
    data = json.loads(file.read_text())
    return AdminCredentials(data["AccessKeyId"], data["SecretAccessKey"])
