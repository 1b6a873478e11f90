"""The S3 hands-on: bytes in, the same bytes out; down empties the bucket first."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import run_cli, target_for
from test_errors import one_error_line


def test_upload_download_and_down_with_objects(home, tmp_path: Path):
    """On the session's cloud: nothing else there uses the S3 hands-on."""
    assert run_cli(home, "s3", "up").code == 0
    bucket = run_cli(home, "s3", "status", "--json").json()["outputs"]["BucketName"]
    payload = os.urandom(5 * 1024 * 1024)
    source = tmp_path / "big.bin"
    source.write_bytes(payload)
    up = run_cli(home, "s3", "upload", str(source), "--key", "data/big.bin")
    assert up.code == 0, up.err
    assert run_cli(home, "s3", "upload", str(source)).code == 0
    listed = {o["key"]: o for o in run_cli(home, "s3", "ls", "--json").json()}
    assert listed["data/big.bin"]["size"] == len(payload)
    back = tmp_path / "back.bin"
    down = run_cli(home, "s3", "download", "data/big.bin", "--to", str(back), "--json")
    assert down.code == 0, down.err
    assert back.read_bytes() == payload
    assert down.json()["size"] == len(payload)  # HEAD's Content-Length survives the local cloud

    assert "no such file" in one_error_line(run_cli(home, "s3", "upload", str(tmp_path / "nope")))
    missing = run_cli(home, "s3", "download", "nope.txt", "--to", str(tmp_path / "x"))
    assert "nope.txt" in one_error_line(missing)
    assert not (tmp_path / "x").exists()

    assert run_cli(home, "s3", "down", "--yes").code == 0
    buckets = [b["Name"] for b in target_for(home).client("s3").list_buckets()["Buckets"]]
    assert bucket not in buckets
    assert "s3" not in {row["hands_on"] for row in run_cli(home, "status", "--json").json()}
