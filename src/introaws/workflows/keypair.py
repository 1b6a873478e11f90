"""Key pairs (textbook 4.4.3): made on the target, private key written once, 0600, never shown."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from introaws import paths
from introaws.errors import Conflict, NotFound, UsageError
from introaws.stacks import TAG_KEY
from introaws.target import Target

KEY_TYPES = ("ed25519", "rsa")


def key_path(name: str, directory: str | None = None) -> Path:
    return paths.ssh_dir(directory) / f"{name}.pem"


def create(target: Target, name: str, key_type: str = "ed25519", directory: str | None = None) -> dict[str, Any]:
    if key_type not in KEY_TYPES:
        raise UsageError(f"unknown key type '{key_type}'", "use --type ed25519 or --type rsa")
    path = key_path(name, directory)
    _check_writable(path)
    ec2 = target.client("ec2")
    if _exists(target, name):
        raise Conflict(
            f"key pair '{name}' already exists on the {target.cloud} cloud",
            f"choose another name, or remove it with 'introaws keypair delete {name}'",
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
        raise UsageError(f"cannot write {path}: {exc.strerror}", "choose a writable --dir") from exc
    return {
        "name": name,
        "key_pair_id": created.get("KeyPairId"),
        "type": key_type,
        "fingerprint": created.get("KeyFingerprint"),
        "private_key": str(path),
    }


def import_public(target: Target, name: str, public_key_file: Path) -> dict[str, Any]:
    if not public_key_file.is_file():
        raise UsageError(
            f"no such file: {public_key_file}", "give the path of a public key, e.g. ~/.ssh/id_ed25519.pub"
        )
    material = public_key_file.read_bytes()
    if b"PRIVATE KEY" in material:
        raise UsageError(
            f"{public_key_file} is a private key", "give the .pub file; private keys never leave this machine"
        )
    if _exists(target, name):
        raise Conflict(
            f"key pair '{name}' already exists on the {target.cloud} cloud",
            f"choose another name, or remove it with 'introaws keypair delete {name}'",
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
        path = key_path(pair["KeyName"], directory)
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
        raise NotFound(f"no key pair '{name}' on the {target.cloud} cloud", "see 'introaws keypair list'")
    target.client("ec2").delete_key_pair(KeyName=name)
    path = key_path(name, directory)
    removed = path.exists()
    if removed:
        path.unlink()
    return {"name": name, "private_key_removed": str(path) if removed else None}


def _exists(target: Target, name: str) -> bool:
    ec2 = target.client("ec2")
    try:
        return bool(ec2.describe_key_pairs(KeyNames=[name]).get("KeyPairs"))
    except ec2.exceptions.ClientError as exc:
        if "NotFound" in exc.response["Error"]["Code"]:
            return False
        raise


def _check_writable(path: Path) -> None:
    """Refuse before anything is created: an existing key file, or a folder we cannot write."""
    if path.exists():
        raise Conflict(
            f"{path} already exists", "introaws never overwrites a private key; choose another name or --dir"
        )
    folder = path.parent
    if not folder.exists():
        try:
            folder.mkdir(mode=0o700, parents=True)
        except OSError as exc:
            raise UsageError(f"cannot create {folder}: {exc.strerror}", "choose a writable --dir") from exc
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write to {folder}", "choose a writable --dir")
