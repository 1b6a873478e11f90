"""Pre-delete hooks: empty what CloudFormation refuses to delete while it holds data."""

from __future__ import annotations

from introaws.i18n import _
from introaws.progress import Event, Reporter, silent
from introaws.target import Target


def empty_bucket(target: Target, bucket: str, report: Reporter = silent) -> int:
    """Delete every object and object version; returns how many were deleted."""
    s3 = target.client("s3")
    deleted = 0
    try:
        pages = list(s3.get_paginator("list_object_versions").paginate(Bucket=bucket))
    except s3.exceptions.NoSuchBucket:
        return 0
    for page in pages:
        keys = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
            deleted += len(chunk)
    if deleted:
        report(Event("step", _("emptied bucket {bucket} ({deleted} objects)").format(bucket=bucket, deleted=deleted)))
    return deleted


def empty_repository(target: Target, repository: str, report: Reporter = silent) -> int:
    ecr = target.client("ecr")
    try:
        images = [
            image
            for page in ecr.get_paginator("list_images").paginate(repositoryName=repository)
            for image in page["imageIds"]
        ]
    except ecr.exceptions.RepositoryNotFoundException:
        return 0
    for start in range(0, len(images), 100):
        ecr.batch_delete_image(repositoryName=repository, imageIds=images[start : start + 100])
    if images:
        report(
            Event(
                "step",
                _("deleted {images_count} images from {repository}").format(
                    images_count=len(images), repository=repository
                ),
            )
        )
    return len(images)


PRE_DELETE = {
    "AWS::S3::Bucket": empty_bucket,
    "AWS::ECR::Repository": empty_repository,
}
