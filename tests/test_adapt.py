"""Each adaptation to moto's gaps (introaws/localcloud/adapt.py), checked on the real local cloud
with plain boto3 calls: what a CloudFormation client sees must match AWS's behaviour."""

from __future__ import annotations

import json
import time

import pytest

from cfn_helpers import TABLE


def run_change_set(cfn, stack: str, template: dict) -> None:
    name = f"cs{int(time.time() * 1000)}"
    cfn.create_change_set(
        StackName=stack, ChangeSetName=name, ChangeSetType="CREATE", TemplateBody=json.dumps(template)
    )
    cfn.get_waiter("change_set_create_complete").wait(StackName=stack, ChangeSetName=name)
    try:
        cfn.execute_change_set(StackName=stack, ChangeSetName=name)
    except cfn.exceptions.ClientError:
        pass  # a failing execution is judged by the stack's state below


@pytest.fixture
def cfn(target):
    client = target.client("cloudformation")
    created = []
    yield client, created
    for stack in created:
        client.delete_stack(StackName=stack)


def test_change_set_gives_outputs_and_resource_events(cfn):
    client, created = cfn
    created.append("AdaptOutputs")
    run_change_set(client, "AdaptOutputs", {"Resources": {"T": TABLE}, "Outputs": {"Name": {"Value": {"Ref": "T"}}}})
    stack = client.describe_stacks(StackName="AdaptOutputs")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Outputs"][0]["OutputKey"] == "Name"
    assert stack["Outputs"][0]["OutputValue"].startswith("AdaptOutputs-T-")
    events = client.describe_stack_events(StackName="AdaptOutputs")["StackEvents"]
    assert any(e["LogicalResourceId"] == "T" and e["ResourceStatus"] == "CREATE_COMPLETE" for e in events)


def test_failed_change_set_rolls_back_with_a_reason(cfn):
    client, created = cfn
    created.append("AdaptFails")
    bad = json.loads(json.dumps(TABLE))
    bad["Properties"]["KeySchema"][0]["AttributeName"] = "missing"
    run_change_set(
        client, "AdaptFails", {"Resources": {"Good": TABLE, "Bad": bad}, "Outputs": {"Name": {"Value": {"Ref": "Bad"}}}}
    )
    stack = client.describe_stacks(StackName="AdaptFails")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [
        e
        for e in client.describe_stack_events(StackName="AdaptFails")["StackEvents"]
        if e["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert [e["LogicalResourceId"] for e in failed] == ["Bad"]
    assert failed[0]["ResourceStatusReason"]
    # The stack stays describable and deletable, as on AWS.
    client.delete_stack(StackName="AdaptFails")
    created.remove("AdaptFails")
