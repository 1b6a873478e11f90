"""cfn-lint over every template the tests check, in one run per test worker (it spends
seconds loading its schemas, so one run per template added a minute to the suite).

``LintSession`` synthesizes the templates in ``CASES`` through the session's template cache
and lints them together the first time any test asks; a test then looks its template up by
content. A template that is not among them is linted on its own, so no check is ever skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# The course's region and CloudFormation's default one; both must accept every template.
REGIONS = ("ap-northeast-1", "us-east-1")
# W3005 (DependsOn beside a GetAtt) is how CDK writes some stacks on purpose; harmless on AWS.
CDK_HABITS = ("W3005",)

EC2_PARAMS = {"key_name": "HirakeGoma", "ssh_from": "127.0.0.1/32", "instance_type": "t2.micro"}
DNN_PARAMS = {"key_name": "DnnKey", "ssh_from": "203.0.113.7/32"}
# (hands-on, parameters) of every template a test lints: each hands-on as the engine's tests
# synthesize it, and the variants that the hands-ons' own tests check.
CASES: list[tuple[str, dict[str, Any]]] = [
    ("s3", {}),
    ("ddb", {}),
    ("lambda", {}),
    ("haiku", {}),
    ("ec2", {"key_name": "HirakeGoma", "ssh_from": "203.0.113.7/32"}),
    ("ec2", EC2_PARAMS),
    ("ec2", {**EC2_PARAMS, "ttl_minutes": 120}),
    ("ec2", {**EC2_PARAMS, "ssh_from": "0.0.0.0/0"}),
    ("dnn", {"key_name": "HirakeGoma", "ssh_from": "203.0.113.7/32"}),
    ("dnn", DNN_PARAMS),
    (
        "dnn",
        {**DNN_PARAMS, "ami": "ami-0123456789abcdef0", "idle_stop_minutes": 60, "instance_type": "g5.xlarge"},
    ),
    ("qa", {"model": "distilbert-base-cased-distilled-squad"}),
    ("batch", {}),
    ("batch", {"instance_type": "p3.2xlarge", "spot": True}),
]


def digest(template: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()


class LintSession:
    def __init__(self, home: Path, folder: Path) -> None:
        self.home, self.folder = home, folder
        self.found: dict[str, list[dict[str, Any]]] | None = None  # digest -> cfn-lint's matches

    def problems(self, template: dict[str, Any], ignore: tuple[str, ...] = ()) -> list[str]:
        """cfn-lint's findings on ``template`` (rules in ``ignore`` left out), one line each."""
        if self.found is None:
            self.found = self._lint([self._synthesize(name, params) for name, params in CASES])
        key = digest(template)
        if key not in self.found:
            self.found.update(self._lint([template]))
        return [
            f"{m['Rule']['Id']} {m['Message']} ({m['Location']['Path']})"
            for m in self.found[key]
            if m["Rule"]["Id"] not in ignore
        ]

    def _synthesize(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        from introaws.deploy import synth
        from introaws.stacks import HANDS_ONS

        previous = os.environ.get("INTROAWS_HOME")
        os.environ["INTROAWS_HOME"] = str(self.home)  # the session's template cache
        try:
            return synth.synthesize(HANDS_ONS[name], params).template
        finally:
            if previous is None:
                os.environ.pop("INTROAWS_HOME")
            else:
                os.environ["INTROAWS_HOME"] = previous

    def _lint(self, templates: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        files = {}
        for template in templates:
            key = digest(template)
            path = self.folder / f"{key}.json"
            path.write_text(json.dumps(template))
            files[str(path.resolve())] = key
        lint = subprocess.run(
            [str(Path(sys.executable).parent / "cfn-lint"), "--format", "json", "--regions", *REGIONS, "--", *files],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if lint.returncode and not lint.stdout.strip():
            raise RuntimeError(f"cfn-lint failed to run: {lint.stderr}")
        found: dict[str, list[dict[str, Any]]] = {key: [] for key in files.values()}
        for match in json.loads(lint.stdout or "[]"):
            found[files[str(Path(match["Filename"]).resolve())]].append(match)
        return found
