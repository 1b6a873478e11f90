"""The deploy engine against the real local cloud: dry runs, failures, large templates, lint."""

from __future__ import annotations

import json

import pytest

import lint
from introaws.deploy import engine, synth
from introaws.errors import DeployFailed
from introaws.stacks import HANDS_ONS, HandsOn

BROKEN = HandsOn("testbroken", "IntroawsTestBroken", "stacks_for_tests:broken", "fails")
LARGE = HandsOn("testlarge", "IntroawsTestLarge", "stacks_for_tests:large", "large")


def test_dry_run_shows_changes_and_deploys_nothing(cli):
    result = cli("s3", "up", "--dry-run")
    assert result.code == 0, result.err
    assert "Add" in result.out and "AWS::S3::Bucket" in result.out
    assert cli("s3", "status", "--json").json()["status"] is None
    data = cli("s3", "up", "--dry-run", "--json").json()
    assert {c["resource_type"] for c in data["changes"]} >= {"AWS::S3::Bucket"}


def test_failure_names_the_first_failed_resource(target, home, monkeypatch):
    monkeypatch.setenv("INTROAWS_HOME", str(home))
    seen = []
    with pytest.raises(DeployFailed) as failure:
        engine.deploy(target, BROKEN, report=seen.append)
    assert "BadTable" in str(failure.value) or "missing" in str(failure.value)
    engine.destroy(target, BROKEN)
    assert engine.describe(target, BROKEN.stack_name) is None


def test_large_template_goes_through_the_assets_bucket(target, home, monkeypatch):
    monkeypatch.setenv("INTROAWS_HOME", str(home))
    body = json.dumps(synth.synthesize(LARGE).template, sort_keys=True)
    assert len(body) > engine.TEMPLATE_BODY_LIMIT
    result = engine.deploy(target, LARGE)
    assert result.outputs == {"Count": "120"}
    bucket = f"introaws-assets-{target.account_id}-{target.region}"
    keys = [o["Key"] for o in target.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert any(k.startswith("templates/IntroawsTestLarge-") for k in keys)
    assert engine.deploy(target, LARGE).up_to_date
    assert engine.destroy(target, LARGE)


@pytest.mark.parametrize("name", sorted(HANDS_ONS))
def test_every_template_passes_cfn_lint(name, home, monkeypatch, cfn_lint):
    monkeypatch.setenv("INTROAWS_HOME", str(home))
    params = next(params for hands_on, params in lint.CASES if hands_on == name)
    assert cfn_lint(synth.synthesize(HANDS_ONS[name], params).template, ignore=lint.CDK_HABITS) == []


def test_cfn_lint_catches_a_broken_template(home, monkeypatch, cfn_lint):
    monkeypatch.setenv("INTROAWS_HOME", str(home))
    problems = cfn_lint(synth.synthesize(BROKEN).template, ignore=lint.CDK_HABITS)
    assert problems and any("BadTable" in line for line in problems), problems


def test_cache_key_changes_with_parameters():
    ddb = HANDS_ONS["ddb"]
    assert synth.cache_key(ddb, {}) == synth.cache_key(ddb, {})
    assert synth.cache_key(ddb, {}) != synth.cache_key(ddb, {"x": 1})
