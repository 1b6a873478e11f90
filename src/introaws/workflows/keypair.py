"""Key pairs (textbook §4.4.3): made on the target, private key written once, 0600, never shown.

Where a private key made with ``--dir`` was written is remembered per target (``keypairs.json``
in introaws's data folder), so ``list``, ``delete`` and ``ec2 ssh`` find it without ``--dir``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from introaws import paths
from introaws.errors import Conflict, NotFound, UsageError
from introaws.i18n import _
from introaws.stacks import TAG_KEY
from introaws.target import Target

KEY_TYPES = ("ed25519", "rsa")
# Stricter than EC2 (any 255 ASCII characters): the name is also a file name and an ssh
# config value, where spaces, slashes and brackets break things.
KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")


KNOWN_KEYS_FILE = "keypairs.json"


def key_path(target: Target, name: str, directory: str | None = None) -> Path:
    """The private key of ``name``: in ``directory`` when given, else where it was written."""
    if directory is None:
        remembered = _known_keys().get(_scope(target), {}).get(name)
        if remembered:
            return Path(remembered)
    return paths.ssh_dir(directory) / f"{name}.pem"


def create(target: Target, name: str, key_type: str = "ed25519", directory: str | None = None) -> dict[str, Any]:
    if key_type not in KEY_TYPES:
        raise UsageError(
            _("unknown key type '{key_type}'").format(key_type=key_type), _("use --type ed25519 or --type rsa")
        )
    _check_name(name)
    path = paths.ssh_dir(directory).absolute() / f"{name}.pem"
    _check_writable(path)
    ec2 = target.client("ec2")
    if _exists(target, name):
        raise Conflict(
            _("key pair '{name}' already exists on the {cloud} cloud").format(name=name, cloud=target.cloud),
            _("choose another name, or remove it with 'introaws keypair delete {name}'").format(name=name),
        )
    created = ec2.create_key_pair(
        KeyName=name,
        KeyType=key_type,
        KeyFormat="pem",
        TagSpecifications=[{"ResourceType": "key-pair", "Tags": [{"Key": TAG_KEY, "Value": "keypair"}]}],
    )
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(created["KeyMaterial"])
    except OSError as exc:
        ec2.delete_key_pair(KeyName=name)  # no remote pair without its private key
        raise UsageError(
            _("cannot write {path}: {strerror}").format(path=path, strerror=exc.strerror), _("choose a writable --dir")
        ) from exc
    if directory is not None:  # the default folder is found again by default
        _remember(target, name, path)
    return {
        "name": name,
        "key_pair_id": created.get("KeyPairId"),
        "type": key_type,
        "fingerprint": created.get("KeyFingerprint"),
        "private_key": str(path),
    }


def import_public(target: Target, name: str, public_key_file: Path) -> dict[str, Any]:
    _check_name(name)
    if not public_key_file.is_file():
        raise UsageError(
            _("no such file: {public_key_file}").format(public_key_file=public_key_file),
            _("give the path of a public key, e.g. ~/.ssh/id_ed25519.pub"),
        )
    material = public_key_file.read_bytes()
    if b"PRIVATE KEY" in material:
        raise UsageError(
            _("{public_key_file} is a private key").format(public_key_file=public_key_file),
            _("give the .pub file; private keys never leave this machine"),
        )
    if _exists(target, name):
        raise Conflict(
            _("key pair '{name}' already exists on the {cloud} cloud").format(name=name, cloud=target.cloud),
            _("choose another name, or remove it with 'introaws keypair delete {name}'").format(name=name),
        )
    imported = target.client("ec2").import_key_pair(
        KeyName=name,
        PublicKeyMaterial=material,
        TagSpecifications=[{"ResourceType": "key-pair", "Tags": [{"Key": TAG_KEY, "Value": "keypair"}]}],
    )
    return {"name": name, "key_pair_id": imported.get("KeyPairId"), "fingerprint": imported.get("KeyFingerprint")}


def list_pairs(target: Target, directory: str | None = None) -> list[dict[str, Any]]:
    pairs = target.client("ec2").describe_key_pairs().get("KeyPairs", [])
    result = []
    for pair in sorted(pairs, key=lambda p: p["KeyName"]):
        path = key_path(target, pair["KeyName"], directory)
        tags = {t["Key"]: t["Value"] for t in pair.get("Tags", [])}
        result.append(
            {
                "name": pair["KeyName"],
                "key_pair_id": pair.get("KeyPairId"),
                "type": pair.get("KeyType"),
                "fingerprint": pair.get("KeyFingerprint"),
                "private_key": str(path) if path.exists() else None,
                "created_by_introaws": TAG_KEY in tags,
            }
        )
    return result


def delete(target: Target, name: str, directory: str | None = None) -> dict[str, Any]:
    if not _exists(target, name):
        raise NotFound(
            _("no key pair '{name}' on the {cloud} cloud").format(name=name, cloud=target.cloud),
            _("see 'introaws keypair list'"),
        )
    path = key_path(target, name, directory)
    target.client("ec2").delete_key_pair(KeyName=name)
    removed = path.exists()
    if removed:
        path.unlink()
    _remember(target, name, None)
    return {"name": name, "private_key_removed": str(path) if removed else None}


def _exists(target: Target, name: str) -> bool:
    ec2 = target.client("ec2")
    try:
        return bool(ec2.describe_key_pairs(KeyNames=[name]).get("KeyPairs"))
    except ec2.exceptions.ClientError as exc:
        if "NotFound" in exc.response["Error"]["Code"]:
            return False
        raise


def _check_name(name: str) -> None:
    if not KEY_NAME.match(name):
        raise UsageError(
            _("'{name}' cannot name a key pair").format(name=name),
            _("use letters, digits, '.', '-' and '_' (it becomes the file name NAME.pem)"),
        )


def _check_writable(path: Path) -> None:
    """Refuse before anything is created: an existing key file, or a folder we cannot write."""
    if path.exists():
        raise Conflict(
            _("{path} already exists").format(path=path),
            _("introaws never overwrites a private key; choose another name or --dir"),
        )
    folder = path.parent
    if not folder.exists():
        try:
            folder.mkdir(mode=0o700, parents=True)
        except OSError as exc:
            raise UsageError(
                _("cannot create {folder}: {strerror}").format(folder=folder, strerror=exc.strerror),
                _("choose a writable --dir"),
            ) from exc
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(_("cannot write to {folder}").format(folder=folder), _("choose a writable --dir"))


def _scope(target: Target) -> str:
    """Key pair names are unique per account and region."""
    return f"{target.cloud}/{target.account_id}/{target.region}"


def _known_keys() -> dict[str, dict[str, str]]:
    try:
        known = json.loads((paths.data_dir() / KNOWN_KEYS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def _remember(target: Target, name: str, path: Path | None) -> None:
    """Record (or forget, with ``None``) where ``name``'s private key lives; written atomically."""
    known = _known_keys()
    keys = known.setdefault(_scope(target), {})
    if path is None:
        keys.pop(name, None)
    else:
        keys[name] = str(path)
    record = paths.data_dir() / KNOWN_KEYS_FILE
    staging = record.with_suffix(".tmp")
    staging.write_text(json.dumps(known, indent=1, sort_keys=True))
    staging.replace(record)
