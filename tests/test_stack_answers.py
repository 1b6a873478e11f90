"""CloudFormation answers as complete and usable as AWS's (introaws/localcloud/answers.py): every
resource with its ids and type, outputs that are URLs answering here, GetTemplate giving back what
the client sent, change sets that say what they replace — the same after a restart."""

from __future__ import annotations

import json
import urllib.request

from cfn_helpers import ROLE, deploy_template, slow_api_resources
from conftest import run_cli, target_for


def _outputs(cfn, stack: str) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.status, answer.headers.get("Content-Type", ""), answer.read()


def test_every_bashoutter_resource_has_its_ids_and_type(haiku_site, target):
    cfn = target.client("cloudformation")
    declared = cfn.get_template(StackName="Bashoutter")["TemplateBody"]["Resources"]
    described = cfn.describe_stack_resources(StackName="Bashoutter")["StackResources"]
    listed = cfn.list_stack_resources(StackName="Bashoutter")["StackResourceSummaries"]
    for answer in (described, listed):
        assert sorted(r["LogicalResourceId"] for r in answer) == sorted(declared)
        for resource in answer:
            assert resource["PhysicalResourceId"], resource
            assert resource["ResourceType"] == declared[resource["LogicalResourceId"]]["Type"]
    by_type = {}
    for resource in described:
        by_type.setdefault(resource["ResourceType"], []).append(resource["PhysicalResourceId"])
    bucket = haiku_site["outputs"]["BucketName"]
    assert by_type["AWS::S3::BucketPolicy"] == [bucket]  # a bucket policy is known by its bucket
    assert by_type["AWS::ApiGateway::Stage"] == ["prod"]
    api_id = by_type["AWS::ApiGateway::RestApi"][0]
    deployments = target.client("apigateway").get_deployments(restApiId=api_id)["items"]
    assert by_type["AWS::ApiGateway::Deployment"][0] in {d["id"] for d in deployments}
    assert len(set(by_type["AWS::Lambda::Permission"])) == 8 and len(set(by_type["AWS::ApiGateway::Method"])) == 7


def test_url_outputs_answer_on_the_local_cloud(haiku_site, target, cli):
    """The textbook's flow: read the stack's outputs, then call them (``curl``, ``client.py``)."""
    outputs = _outputs(target.client("cloudformation"), "Bashoutter")
    cdk_output = next(key for key in outputs if key.startswith("BashoutterApiEndpoint"))
    assert outputs["ApiEndpoint"] == outputs[cdk_output]
    assert outputs["ApiEndpoint"].startswith(target.endpoint_url)
    status, kind, body = _get(outputs["ApiEndpoint"] + "haiku")
    assert status == 200 and kind.startswith("application/json") and isinstance(json.loads(body), list)
    status, kind, body = _get(outputs["WebsiteUrl"])
    assert status == 200 and kind.startswith("text/html") and b"<html" in body
    # What introaws shows is what the cloud answers: no client-side mapping.
    shown = cli("haiku", "status", "--json").json()["outputs"]
    assert shown["ApiEndpoint"] == outputs["ApiEndpoint"] and shown["WebsiteUrl"] == outputs["WebsiteUrl"]


ZONE_OUTPUT = {"Value": {"Fn::Select": [0, {"Fn::GetAZs": ""}]}}


def test_get_template_returns_what_the_client_sent(target):
    """The daemon adapts templates for moto (here: zones of the deploy region), but a client
    reading the template back gets its own, from a TemplateURL in this cloud's S3 too."""
    cfn, s3 = target.client("cloudformation"), target.client("s3")
    template = {"Resources": {"Role": ROLE}, "Outputs": {"Zone": ZONE_OUTPUT}}
    s3.create_bucket(Bucket="answers-templates", CreateBucketConfiguration={"LocationConstraint": target.region})
    s3.put_object(Bucket="answers-templates", Key="t.json", Body=json.dumps(template).encode())
    url = f"https://answers-templates.s3.{target.region}.amazonaws.com/t.json"
    try:
        cfn.create_change_set(
            StackName="AnswersTemplate",
            ChangeSetName="first",
            ChangeSetType="CREATE",
            TemplateURL=url,
            Capabilities=["CAPABILITY_IAM"],
        )
        cfn.get_waiter("change_set_create_complete").wait(StackName="AnswersTemplate", ChangeSetName="first")
        pending = cfn.get_template(StackName="AnswersTemplate", ChangeSetName="first")["TemplateBody"]
        assert json.loads(json.dumps(pending)) == template
        cfn.execute_change_set(StackName="AnswersTemplate", ChangeSetName="first")
        assert _outputs(cfn, "AnswersTemplate") == {"Zone": f"{target.region}a"}
        body = cfn.get_template(StackName="AnswersTemplate")["TemplateBody"]
        assert json.loads(json.dumps(body)) == template
    finally:
        cfn.delete_stack(StackName="AnswersTemplate")
        s3.delete_object(Bucket="answers-templates", Key="t.json")
        s3.delete_bucket(Bucket="answers-templates")


def _table(name: str, billing: str = "PAY_PER_REQUEST", tags: list | None = None) -> dict:
    properties = {
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        properties["ProvisionedThroughput"] = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
    if tags:
        properties["Tags"] = tags
    return {"Type": "AWS::DynamoDB::Table", "Properties": properties}


def test_change_set_says_what_it_replaces(target):
    cfn = target.client("cloudformation")
    deploy_template(cfn, "AnswersReplace", {"Renamed": _table("answers-a"), "Resized": _table("answers-b")})
    try:
        changed = {
            "Renamed": _table("answers-c", tags=[{"Key": "k", "Value": "v"}]),
            "Resized": _table("answers-b", billing="PROVISIONED"),
        }
        cfn.create_change_set(
            StackName="AnswersReplace",
            ChangeSetName="update",
            ChangeSetType="UPDATE",
            TemplateBody=json.dumps({"Resources": changed}),
        )
        cfn.get_waiter("change_set_create_complete").wait(StackName="AnswersReplace", ChangeSetName="update")
        changes = {
            c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]
            for c in cfn.describe_change_set(StackName="AnswersReplace", ChangeSetName="update")["Changes"]
        }
        renamed, resized = changes["Renamed"], changes["Resized"]
        assert (renamed["Action"], renamed["Replacement"], renamed["Scope"]) == (
            "Modify",
            "True",
            ["Properties", "Tags"],
        )
        assert {"Attribute": "Properties", "Name": "TableName", "RequiresRecreation": "Always"} in [
            d["Target"] for d in renamed["Details"]
        ]
        assert renamed["PhysicalResourceId"] == "answers-a"
        assert (resized["Replacement"], resized["Scope"]) == ("False", ["Properties"])
        assert {d["Target"]["Name"] for d in resized["Details"]} == {"BillingMode", "ProvisionedThroughput"}
    finally:
        cfn.delete_stack(StackName="AnswersReplace")


def test_answers_are_the_same_after_a_restart(fresh_home):
    """Everything above is rebuilt from the journal: ids, types, outputs and templates."""
    assert run_cli(fresh_home, "cloud", "start").code == 0
    cfn = target_for(fresh_home).client("cloudformation")
    url = {"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/prod/"}
    deploy_template(cfn, "AnswersReplay", slow_api_resources(), {"Url": {"Value": url}, "Zone": ZONE_OUTPUT})

    def answers() -> dict:
        cfn = target_for(fresh_home).client("cloudformation")
        return {
            "resources": sorted(
                (r["LogicalResourceId"], r["PhysicalResourceId"], r["ResourceType"])
                for r in cfn.describe_stack_resources(StackName="AnswersReplay")["StackResources"]
            ),
            "outputs": _outputs(cfn, "AnswersReplay"),
            "template": json.loads(json.dumps(cfn.get_template(StackName="AnswersReplay")["TemplateBody"])),
        }

    before = answers()
    assert all(physical for _, physical, _ in before["resources"])
    assert run_cli(fresh_home, "cloud", "stop").code == 0
    assert answers() == before
    assert _get(before["outputs"]["Url"] + "slow")[0] == 200
