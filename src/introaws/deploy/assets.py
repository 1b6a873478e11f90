"""Publish a stack's file assets to introaws's own bucket (what ``cdk bootstrap`` would own).

Keys are content hashes chosen by CDK, so an object already present is never uploaded again.
Directories are zipped deterministically (sorted names, fixed timestamps), so the same
content always gives the same bytes. Every request names this account as the bucket's expected
owner, so a same-named bucket of another account is refused, never written to.
"""

from __future__ import annotations

import io
import mimetypes
import zipfile
from pathlib import Path

from introaws.deploy.synth import FileAsset
from introaws.errors import Conflict
from introaws.i18n import _
from introaws.progress import Event, Reporter, silent
from introaws.target import Target


def bucket_name(target: Target, template_name: str) -> str:
    return template_name.replace("${AWS::AccountId}", target.account_id).replace("${AWS::Region}", target.region)


def owned(target: Target) -> dict[str, str]:
    """The argument that makes S3 refuse a request to a bucket of another account: bucket names
    are global, so a bucket named like ours may be someone else's (and would receive our code)."""
    return {"ExpectedBucketOwner": target.account_id}


def ensure_bucket(target: Target, name: str) -> None:
    s3 = target.client("s3")
    try:
        s3.head_bucket(Bucket=name, **owned(target))
        return
    except s3.exceptions.ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code in ("403", "AccessDenied", "Forbidden"):
            raise _not_ours(target, name) from None
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise
    kwargs: dict[str, object] = {"Bucket": name}
    if target.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": target.region}
    try:
        s3.create_bucket(**kwargs)
    except s3.exceptions.BucketAlreadyExists:  # taken by another account since the check
        raise _not_ours(target, name) from None
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
        **owned(target),
    )


def _not_ours(target: Target, name: str) -> Conflict:
    return Conflict(
        _("the assets bucket {name} exists but is not account {account_id}'s (or you may not read it)").format(
            name=name, account_id=target.account_id
        ),
        _(
            "introaws publishes Lambda code and templates only to a bucket of your own account: delete "
            "that bucket if it is yours in another account, or check your IAM permissions for S3"
        ),
    )


def publish(target: Target, assets: list[FileAsset], report: Reporter = silent) -> None:
    s3 = target.client("s3")
    for asset in assets:
        bucket = bucket_name(target, asset.bucket)
        ensure_bucket(target, bucket)
        try:
            s3.head_object(Bucket=bucket, Key=asset.key, **owned(target))
            continue
        except s3.exceptions.ClientError:
            pass
        body = zip_directory(asset.source) if asset.packaging == "zip" else asset.source.read_bytes()
        report(
            Event(
                "step", _("publishing asset {key} ({body_count:,} bytes)").format(key=asset.key, body_count=len(body))
            )
        )
        s3.put_object(Bucket=bucket, Key=asset.key, Body=body, **owned(target))


def upload_directory(target: Target, bucket: str, directory: Path, extra: dict[str, bytes] | None = None) -> list[str]:
    """Put every file of ``directory`` (and ``extra`` generated files) into ``bucket`` with its
    content type, as a website needs; returns the keys written."""
    s3 = target.client("s3")
    files = {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }
    files.update(extra or {})
    for key, body in files.items():
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in ("application/json", "application/javascript"):
            content_type += "; charset=utf-8"
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, **owned(target))
    return list(files)


def upload_template(target: Target, bucket_template: str, key: str, body: bytes) -> str:
    """Put a large template in the assets bucket; returns the URL CloudFormation reads."""
    bucket = bucket_name(target, bucket_template)
    ensure_bucket(target, bucket)
    target.client("s3").put_object(Bucket=bucket, Key=key, Body=body, **owned(target))
    return f"https://{bucket}.s3.{target.region}.amazonaws.com/{key}"  # the local cloud reads its own S3


def zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(str(path.relative_to(directory)), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()
