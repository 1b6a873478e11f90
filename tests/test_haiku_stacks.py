"""Bashoutter's and SimpleLambda's templates (valid for AWS, least privilege) and the moto
adaptations the local cloud needs for them, each checked on its own."""

from __future__ import annotations

import pytest

import lint
from introaws.localcloud import adapt

# What each handler calls on the table (tasks/haiku/api.py): all its role may do.
NEEDED = {
    "GetHaiku": {"dynamodb:Scan"},
    "PostHaiku": {"dynamodb:PutItem"},
    "PatchHaiku": {"dynamodb:UpdateItem"},
    "DeleteHaiku": {"dynamodb:DeleteItem"},
}


@pytest.fixture(scope="module")
def templates(home):
    """Synthesized through the engine's cache (shared with the session's CLI runs)."""
    import os

    from introaws.deploy import synth
    from introaws.stacks import HANDS_ONS

    previous = os.environ.get("INTROAWS_HOME")
    os.environ["INTROAWS_HOME"] = str(home)
    try:
        return {name: synth.synthesize(HANDS_ONS[name]) for name in ("haiku", "lambda")}
    finally:
        if previous is None:
            os.environ.pop("INTROAWS_HOME")
        else:
            os.environ["INTROAWS_HOME"] = previous


@pytest.mark.parametrize("name", ["haiku", "lambda"])
def test_template_passes_cfn_lint(templates, cfn_lint, name):
    assert cfn_lint(templates[name].template, ignore=lint.CDK_HABITS) == []


def test_each_function_may_only_do_what_its_handler_does_on_its_table(templates):
    """The GET function only reads; no function reaches anything but the table."""
    resources = templates["haiku"].template["Resources"]
    table = next(t for t, res in resources.items() if res["Type"] == "AWS::DynamoDB::Table")
    roles = {
        fn_id: res["Properties"]["Role"]["Fn::GetAtt"][0]
        for fn_id, res in resources.items()
        if res["Type"] == "AWS::Lambda::Function"
    }
    actions: dict[str, set[str]] = {}
    for res in resources.values():
        if res["Type"] == "AWS::IAM::Policy":
            role = res["Properties"]["Roles"][0]["Ref"]
            for statement in res["Properties"]["PolicyDocument"]["Statement"]:
                wanted = statement["Action"]
                actions.setdefault(role, set()).update([wanted] if isinstance(wanted, str) else wanted)
                targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                assert all(t == {"Fn::GetAtt": [table, "Arn"]} for t in targets), targets
    for fn_id, role in roles.items():
        kind = next(k for k in NEEDED if fn_id.startswith(k))
        assert actions[role] == NEEDED[kind], fn_id


def test_handlers_ship_as_a_published_asset(templates):
    synthesized = templates["haiku"]
    assert len(synthesized.assets) == 1 and synthesized.assets[0].packaging == "zip"
    assert (synthesized.assets[0].source / "api.py").exists()
    functions = [r for r in synthesized.template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert {f["Properties"]["Runtime"] for f in functions} == {"python3.12"}
    assert {f["Properties"]["Code"]["S3Key"] for f in functions} == {synthesized.assets[0].key}


def test_mock_integrations_are_completed_for_moto():
    template = {
        "Resources": {
            "Options": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {"HttpMethod": "OPTIONS", "Integration": {"Type": "MOCK"}},
            }
        }
    }
    adapted = adapt.adapt_template(template)
    integration = adapted["Resources"]["Options"]["Properties"]["Integration"]
    assert integration["IntegrationHttpMethod"] == "OPTIONS" and integration["Uri"] == ""
    assert "IntegrationHttpMethod" not in template["Resources"]["Options"]["Properties"]["Integration"]


def test_dependencies_come_from_depends_on_refs_and_getatts():
    resource = {
        "DependsOn": ["A"],
        "Properties": {"X": {"Ref": "B"}, "Y": [{"Fn::GetAtt": ["C", "Arn"]}], "Z": {"Ref": "AWS::Region"}},
    }
    assert adapt._dependencies(resource) == {"A", "B", "C", "AWS::Region"}


@pytest.fixture(scope="module")
def deployed(haiku_site):
    return haiku_site


def _api_id(deployed):
    return deployed["api_endpoint"].split("/_introaws/execute-api/")[1].split("/")[0]


def test_stage_created_after_deploy(deployed, target):
    stages = target.client("apigateway").get_stages(restApiId=_api_id(deployed))["item"]
    assert [s["stageName"] for s in stages] == ["prod"]
    assert deployed["outputs"]["ApiEndpoint"].endswith("/prod/")


def test_gateway_responses_and_preflight_responses_applied(deployed, target):
    apigw = target.client("apigateway")
    api_id = _api_id(deployed)
    kinds = {r["responseType"] for r in apigw.get_gateway_responses(restApiId=api_id)["items"]}
    assert {"DEFAULT_4XX", "DEFAULT_5XX"} <= kinds
    haiku = next(r for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/haiku")
    integration = apigw.get_integration(restApiId=api_id, resourceId=haiku["id"], httpMethod="OPTIONS")
    parameters = integration["integrationResponses"]["204"]["responseParameters"]
    assert parameters["method.response.header.Access-Control-Allow-Origin"] == "'*'"


def test_website_configuration_applied(deployed, target):
    website = target.client("s3").get_bucket_website(Bucket=deployed["outputs"]["BucketName"])
    assert website["IndexDocument"]["Suffix"] == "index.html"
