"""The S3 hands-on (textbook §3.5.3): one bucket to upload to, list and download from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from introaws.errors import NotFound, UsageError
from introaws.i18n import _
from introaws.target import Target
from introaws.workflows import lifecycle


def bucket(target: Target) -> str:
    return lifecycle.output(target, "s3", "BucketName")


def upload(target: Target, file: Path, key: str | None = None) -> dict[str, Any]:
    if not file.is_file():
        raise UsageError(_("no such file: {file}").format(file=file), _("give the path of an existing file"))
    name = bucket(target)
    key = key or file.name
    target.client("s3").upload_file(str(file), name, key)
    return {"bucket": name, "key": key, "size": file.stat().st_size}


def download(target: Target, key: str, to: Path | None = None) -> dict[str, Any]:
    name = bucket(target)
    s3 = target.client("s3")
    try:
        head = s3.head_object(Bucket=name, Key=key)
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            raise NotFound(
                _("no object '{key}' in bucket {name}").format(key=key, name=name), _("list keys with 'introaws s3 ls'")
            ) from None
        raise
    destination = to or Path(Path(key).name)
    if destination.is_dir():
        destination = destination / Path(key).name
    if not destination.parent.exists():
        raise UsageError(
            _("folder {parent} does not exist").format(parent=destination.parent), _("create it or choose another --to")
        )
    partial = destination.with_name(destination.name + ".part")
    s3.download_file(name, key, str(partial))
    partial.replace(destination)
    return {"bucket": name, "key": key, "path": str(destination), "size": head["ContentLength"]}


def ls(target: Target) -> list[dict[str, Any]]:
    name = bucket(target)
    objects = []
    for page in target.client("s3").get_paginator("list_objects_v2").paginate(Bucket=name):
        for obj in page.get("Contents", []):
            objects.append({"key": obj["Key"], "size": obj["Size"], "last_modified": obj["LastModified"]})
    return objects
