"""Every CloudFormation state meets its row of the engine's table (deploy/states.py).

States the local cloud really produces (a failed create, a failed update, a create never
executed, change sets an interrupted run left) are walked through on it; states only AWS
produces (a failed delete, a failed rollback, an operation still running) are answered by
botocore's Stubber on the real CloudFormation client.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import botocore.session
import pytest
from botocore.stub import ANY, Stubber

from introaws.deploy import engine, states, synth
from introaws.deploy.events import EventCursor
from introaws.deploy.stackinfo import describe
from introaws.errors import Conflict, DeployFailed
from introaws.stacks import HandsOn
from introaws.target import Target

STATES_STACK = HandsOn("teststates", "IntroawsTestStates", "stacks_for_tests:states", "walks through states")
STACK_ID = "arn:aws:cloudformation:ap-northeast-1:123456789012:stack/IntroawsTestStates/1"


def test_the_table_has_a_row_for_every_state_cloudformation_knows():
    known = botocore.session.get_session().get_service_model("cloudformation").shape_for("StackStatus").enum
    assert set(states.STATES) == set(known)
    assert all(
        states.STATES[s].up is states.Action.FOLLOW for s in known if s.endswith("_IN_PROGRESS") and "REVIEW" not in s
    )
    with pytest.raises(Conflict):
        states.row("SOMETHING_NEW", "X")


# --- on the local cloud ---------------------------------------------------------------------


@pytest.fixture
def local(target, home, monkeypatch):
    monkeypatch.setenv("INTROAWS_HOME", str(home))
    yield target
    engine.destroy(target, STATES_STACK)


def _steps(events) -> list[str]:
    return [e.message for e in events]


def test_rollback_complete_is_deleted_then_created(local):
    with pytest.raises(DeployFailed) as failed:
        engine.deploy(local, STATES_STACK, {"bad": "BadTableOne"})
    assert "BadTableOne" in failed.value.message
    before = describe(local, STATES_STACK.stack_name)
    assert before and before.status == "ROLLBACK_COMPLETE"
    dry = engine.deploy(local, STATES_STACK, {}, dry_run=True)
    assert dry.status == "DRY_RUN" and {c.action for c in dry.changes} == {"Add"}
    assert describe(local, STATES_STACK.stack_name).stack_id == before.stack_id  # a dry run deletes nothing
    seen = []
    result = engine.deploy(local, STATES_STACK, {}, report=seen.append)
    assert result.status == "CREATE_COMPLETE"
    assert any("before creating it again" in m for m in _steps(seen))
    assert describe(local, STATES_STACK.stack_name).stack_id != before.stack_id


def test_update_rollback_complete_takes_a_normal_update_and_failures_name_this_deploys(local):
    created = engine.deploy(local, STATES_STACK, {})
    assert created.status == "CREATE_COMPLETE"
    stack_id = describe(local, STATES_STACK.stack_name).stack_id
    with pytest.raises(DeployFailed) as first:
        engine.deploy(local, STATES_STACK, {"bad": "BadTableOne"})
    assert "BadTableOne" in first.value.message
    assert describe(local, STATES_STACK.stack_name).status == "UPDATE_ROLLBACK_COMPLETE"
    with pytest.raises(DeployFailed) as second:  # the older failure is in the same stack's events
        engine.deploy(local, STATES_STACK, {"bad": "BadTableTwo"})
    assert "BadTableTwo" in second.value.message and "BadTableOne" not in second.value.message
    updated = engine.deploy(local, STATES_STACK, {"extra": "Extra"})
    assert updated.status == "UPDATE_COMPLETE" and updated.executed
    assert any(c.logical_id.startswith("Extra") and c.action == "Add" for c in updated.changes)
    assert describe(local, STATES_STACK.stack_name).stack_id == stack_id  # updated, not re-created


def test_an_unexecuted_create_is_replaced_and_stale_change_sets_removed(local):
    cfn = local.client("cloudformation")
    template = synth.synthesize(STATES_STACK, {}).template
    cfn.create_change_set(
        StackName=STATES_STACK.stack_name,
        ChangeSetName="introaws-1",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps(template),
    )
    assert describe(local, STATES_STACK.stack_name).status == "REVIEW_IN_PROGRESS"
    seen = []
    assert engine.deploy(local, STATES_STACK, {}, report=seen.append).status == "CREATE_COMPLETE"
    assert any("removing IntroawsTestStates (REVIEW_IN_PROGRESS)" in m for m in _steps(seen))
    cfn.create_change_set(
        StackName=STATES_STACK.stack_name,
        ChangeSetName="introaws-2",
        ChangeSetType="UPDATE",
        TemplateBody=json.dumps(template),
    )
    seen.clear()
    assert engine.deploy(local, STATES_STACK, {"extra": "Extra"}, report=seen.append).executed
    assert "removed change set introaws-2, left by an interrupted run" in _steps(seen)
    names = [s["ChangeSetName"] for s in cfn.list_change_sets(StackName=STATES_STACK.stack_name)["Summaries"]]
    assert "introaws-2" not in names


@pytest.mark.parametrize("first", [None, {}])
def test_down_deletes_a_stack_whose_create_or_update_rolled_back(local, first):
    if first is not None:
        engine.deploy(local, STATES_STACK, first)
    with pytest.raises(DeployFailed):
        engine.deploy(local, STATES_STACK, {"bad": "BadTableOne"})
    status = describe(local, STATES_STACK.stack_name).status
    assert status == ("ROLLBACK_COMPLETE" if first is None else "UPDATE_ROLLBACK_COMPLETE")
    assert engine.destroy(local, STATES_STACK)
    assert describe(local, STATES_STACK.stack_name) is None


def test_down_streams_the_delete_events(local):
    engine.deploy(local, STATES_STACK, {})
    seen = []
    assert engine.destroy(local, STATES_STACK, seen.append)
    resource_events = [e.data["status"] for e in seen if e.kind == "resource"]
    assert resource_events[-1] == "DELETE_COMPLETE" and "DELETE_IN_PROGRESS" in resource_events
    assert describe(local, STATES_STACK.stack_name) is None
    assert not engine.destroy(local, STATES_STACK)


# --- what only AWS answers: botocore's Stubber on the real client ---------------------------


@pytest.fixture
def aws(monkeypatch, home):
    monkeypatch.setenv("INTROAWS_HOME", str(home))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    target = Target("aws", "ap-northeast-1", poll_s=0)
    with Stubber(target.client("cloudformation")) as stub:
        yield target, stub
        stub.assert_no_pending_responses()


NOW = datetime(2030, 1, 1, tzinfo=UTC)
NEW_ID = STACK_ID.replace("/1", "/2")
CHANGE_SET_ARN = "arn:aws:cloudformation:ap-northeast-1:123456789012:changeSet/introaws-1/3"


def _stack(status: str, stack_id: str = STACK_ID) -> dict:
    return {
        "Stacks": [
            {"StackName": STATES_STACK.stack_name, "StackId": stack_id, "StackStatus": status, "CreationTime": NOW}
        ]
    }


def _event(event_id: str, logical: str, status: str, kind: str = "AWS::EC2::Subnet", reason: str = "") -> dict:
    event = {
        "StackId": STACK_ID,
        "EventId": event_id,
        "StackName": STATES_STACK.stack_name,
        "LogicalResourceId": logical,
        "ResourceType": kind,
        "Timestamp": NOW,
        "ResourceStatus": status,
    }
    if reason:
        event["ResourceStatusReason"] = reason
    return event


def _stack_event(event_id: str, status: str) -> dict:
    return _event(event_id, STATES_STACK.stack_name, status, "AWS::CloudFormation::Stack")


def _events(stub, *events, stack_id=STACK_ID, token=None, next_token=None) -> None:
    response: dict = {"StackEvents": list(events)}
    if next_token:
        response["NextToken"] = next_token
    params = {"StackName": stack_id, **({"NextToken": token} if token else {})}
    stub.add_response("describe_stack_events", response, params)


def _describe(stub, status: str, by: str = STATES_STACK.stack_name, stack_id: str = STACK_ID) -> None:
    stub.add_response("describe_stacks", _stack(status, stack_id), {"StackName": by})


def _resources(stub, *resources) -> None:
    summaries = [
        {
            "LogicalResourceId": logical,
            "ResourceType": kind,
            "LastUpdatedTimestamp": NOW,
            "ResourceStatus": status,
            **({"ResourceStatusReason": reason} if reason else {}),
        }
        for logical, kind, status, reason in resources
    ]
    stub.add_response("list_stack_resources", {"StackResourceSummaries": summaries}, {"StackName": STACK_ID})


def _delete(stub, final: str, *during) -> None:
    """delete_stack, then the follow: its events (newest first, down to e1), the final state."""
    _events(stub, _stack_event("e1", "DELETE_FAILED"))
    stub.add_response("delete_stack", {}, {"StackName": STACK_ID})
    _events(stub, *during, _stack_event("e2", "DELETE_IN_PROGRESS"), _stack_event("e1", "DELETE_FAILED"))
    _describe(stub, final, STACK_ID)
    _events(stub, *(during or [_stack_event("e2", "DELETE_IN_PROGRESS")]))


def _unchanged(stub, template: dict) -> None:
    """What an update finds when the deployed template is the new one: up to date."""
    stub.add_response("list_change_sets", {"Summaries": []}, {"StackName": STACK_ID})
    stub.add_response("get_template", {"TemplateBody": json.dumps(template)}, {"StackName": STACK_ID})


ENI_REASON = "The subnet 'subnet-0abc' has dependencies and cannot be deleted (network interface eni-0123 is in use)"


def test_cursor_reads_back_across_pages_to_its_mark(aws):
    target, stub = aws
    _events(stub, _stack_event("e2", "UPDATE_COMPLETE"), _stack_event("e1", "CREATE_COMPLETE"))
    cursor = EventCursor.from_now(target.client("cloudformation"), STACK_ID)
    _events(
        stub,
        _stack_event("e6", "UPDATE_ROLLBACK_COMPLETE"),
        _event("e5", "Fn", "UPDATE_FAILED", "AWS::Lambda::Function", "this deploy's cause"),
        next_token="page2",
    )
    _events(stub, _stack_event("e3", "UPDATE_IN_PROGRESS"), _stack_event("e2", "UPDATE_COMPLETE"), token="page2")
    assert [e["EventId"] for e in cursor.read()] == ["e3", "e5", "e6"]
    assert cursor.first_failure()["ResourceStatusReason"] == "this deploy's cause"
    _events(stub, _stack_event("e6", "UPDATE_ROLLBACK_COMPLETE"))
    assert cursor.read() == []


def test_down_retries_a_failed_delete_and_names_what_it_left(aws):
    target, stub = aws
    _describe(stub, "DELETE_FAILED")
    _resources(stub, ("Subnet", "AWS::EC2::Subnet", "DELETE_FAILED", ENI_REASON))  # said before retrying
    _resources(stub, ("Subnet", "AWS::EC2::Subnet", "DELETE_FAILED", ENI_REASON))  # pre-delete hooks
    _delete(stub, "DELETE_FAILED", _event("e3", "Subnet", "DELETE_FAILED", reason=ENI_REASON))
    _resources(stub, ("Subnet", "AWS::EC2::Subnet", "DELETE_FAILED", ENI_REASON))
    seen = []
    with pytest.raises(DeployFailed) as failed:
        engine.destroy(target, STATES_STACK, seen.append)
    assert "Subnet (AWS::EC2::Subnet)" in failed.value.message and "eni-0123" in failed.value.message
    assert "network interface" in failed.value.hint and "down' again" in failed.value.hint
    assert any(e.kind == "warning" and "earlier delete" in e.message for e in seen)
    assert [e.data["status"] for e in seen if e.kind == "resource"] == ["DELETE_IN_PROGRESS", "DELETE_FAILED"]


def test_down_of_a_failed_delete_succeeds_when_the_retry_does(aws):
    target, stub = aws
    _describe(stub, "DELETE_FAILED")
    _resources(stub, ("Bucket", "AWS::S3::Bucket", "DELETE_FAILED", "The bucket you tried to delete is not empty"))
    _resources(stub)
    _delete(stub, "DELETE_COMPLETE")
    assert engine.destroy(target, STATES_STACK)


def test_down_times_out_naming_the_resource_it_waits_on(aws):
    target, stub = aws
    _describe(stub, "CREATE_COMPLETE")
    _resources(stub)
    _events(stub, _stack_event("e1", "CREATE_COMPLETE"))
    stub.add_response("delete_stack", {}, {"StackName": STACK_ID})
    _events(
        stub,
        _event("e3", "SecurityGroup", "DELETE_IN_PROGRESS", "AWS::EC2::SecurityGroup"),
        _stack_event("e2", "DELETE_IN_PROGRESS"),
        _stack_event("e1", "CREATE_COMPLETE"),
    )
    _describe(stub, "DELETE_IN_PROGRESS", STACK_ID)
    with pytest.raises(DeployFailed) as late:
        engine.destroy(target, STATES_STACK, timeout_s=0)
    assert "still being deleted" in late.value.message
    assert "SecurityGroup (AWS::EC2::SecurityGroup)" in late.value.message
    assert "status" in late.value.hint and "down' again" in late.value.hint


def test_up_on_a_failed_delete_deletes_again_then_creates(aws):
    target, stub = aws
    _describe(stub, "DELETE_FAILED")
    _resources(stub)
    _delete(stub, "DELETE_COMPLETE")
    stub.add_response(
        "create_change_set",
        {"Id": CHANGE_SET_ARN, "StackId": NEW_ID},
        {
            "StackName": STATES_STACK.stack_name,
            "ChangeSetName": ANY,
            "ChangeSetType": "CREATE",
            "Capabilities": ANY,
            "Tags": ANY,
            "TemplateBody": ANY,
        },
    )
    add = {
        "Type": "Resource",
        "ResourceChange": {"Action": "Add", "LogicalResourceId": "Base", "ResourceType": "AWS::Logs::LogGroup"},
    }
    stub.add_response(
        "describe_change_set",
        {"Status": "CREATE_COMPLETE", "Changes": [add]},
        {"StackName": NEW_ID, "ChangeSetName": CHANGE_SET_ARN},  # by ARN: a name is unique only in its stack
    )
    _events(stub, _stack_event("r1", "REVIEW_IN_PROGRESS"), stack_id=NEW_ID)
    stub.add_response("execute_change_set", {}, {"StackName": NEW_ID, "ChangeSetName": CHANGE_SET_ARN})
    _events(stub, _stack_event("c2", "CREATE_COMPLETE"), _stack_event("r1", "REVIEW_IN_PROGRESS"), stack_id=NEW_ID)
    _describe(stub, "CREATE_COMPLETE", NEW_ID, NEW_ID)
    _events(stub, _stack_event("c2", "CREATE_COMPLETE"), stack_id=NEW_ID)
    seen = []
    result = engine.deploy(target, STATES_STACK, {}, report=seen.append)
    assert result.status == "CREATE_COMPLETE" and result.executed and not result.up_to_date
    assert any("removing IntroawsTestStates (DELETE_FAILED)" in m for m in _steps(seen))


def test_up_continues_a_failed_rollback_then_updates(aws):
    target, stub = aws
    template = synth.synthesize(STATES_STACK, {}).template
    _describe(stub, "UPDATE_ROLLBACK_FAILED")
    _events(stub, _stack_event("e1", "UPDATE_ROLLBACK_FAILED"))
    stub.add_response("continue_update_rollback", {}, {"StackName": STACK_ID})
    _events(stub, _stack_event("e2", "UPDATE_ROLLBACK_COMPLETE"), _stack_event("e1", "UPDATE_ROLLBACK_FAILED"))
    _describe(stub, "UPDATE_ROLLBACK_COMPLETE", STACK_ID)
    _events(stub, _stack_event("e2", "UPDATE_ROLLBACK_COMPLETE"))
    _unchanged(stub, template)
    seen = []
    result = engine.deploy(target, STATES_STACK, {}, report=seen.append)
    assert result.up_to_date and result.status == "UPDATE_ROLLBACK_COMPLETE"
    assert any("continuing its rollback" in m for m in _steps(seen))


def test_a_rollback_that_fails_again_is_explained(aws):
    target, stub = aws
    _describe(stub, "UPDATE_ROLLBACK_FAILED")
    _events(stub, _stack_event("e1", "UPDATE_ROLLBACK_FAILED"))
    stub.add_response("continue_update_rollback", {}, {"StackName": STACK_ID})
    _events(
        stub,
        _stack_event("e3", "UPDATE_ROLLBACK_FAILED"),
        _event("e2", "Fn", "UPDATE_FAILED", "AWS::Lambda::Function", "Resource handler returned message: [#/Role]"),
        _stack_event("e1", "UPDATE_ROLLBACK_FAILED"),
    )
    _describe(stub, "UPDATE_ROLLBACK_FAILED", STACK_ID)
    _events(stub, _stack_event("e3", "UPDATE_ROLLBACK_FAILED"))
    with pytest.raises(DeployFailed) as failed:
        engine.deploy(target, STATES_STACK, {})
    assert "failed again" in failed.value.message and "Fn (AWS::Lambda::Function)" in failed.value.message
    assert "--resources-to-skip Fn" in failed.value.hint and "down" in failed.value.hint


def test_a_failed_rollback_is_not_continued_by_a_dry_run(aws):
    target, stub = aws
    _describe(stub, "UPDATE_ROLLBACK_FAILED")
    with pytest.raises(Conflict):
        engine.deploy(target, STATES_STACK, {}, dry_run=True)


def test_up_follows_a_running_operation_to_its_end(aws):
    target, stub = aws
    template = synth.synthesize(STATES_STACK, {}).template
    _describe(stub, "UPDATE_IN_PROGRESS")
    _events(stub, _stack_event("e1", "UPDATE_IN_PROGRESS"))
    _events(
        stub,
        _stack_event("e3", "UPDATE_COMPLETE"),
        _event("e2", "Queue", "UPDATE_COMPLETE", "AWS::SQS::Queue"),
        _stack_event("e1", "UPDATE_IN_PROGRESS"),
    )
    _describe(stub, "UPDATE_COMPLETE", STACK_ID)
    _events(stub, _stack_event("e3", "UPDATE_COMPLETE"))
    _unchanged(stub, template)
    seen = []
    assert engine.deploy(target, STATES_STACK, {}, report=seen.append).up_to_date
    assert "following it to its end" in " ".join(_steps(seen))
    assert [e.message for e in seen if e.kind == "resource"] == [
        "Queue UPDATE_COMPLETE",
        f"{STATES_STACK.stack_name} UPDATE_COMPLETE",
    ]


@pytest.mark.parametrize("operation", ["up", "down"])
def test_no_wait_refuses_a_busy_stack_saying_what_runs(aws, operation):
    target, stub = aws
    _describe(stub, "UPDATE_ROLLBACK_IN_PROGRESS")
    _events(stub, _event("e1", "Queue", "UPDATE_IN_PROGRESS", "AWS::SQS::Queue"))
    _events(stub, _event("e1", "Queue", "UPDATE_IN_PROGRESS", "AWS::SQS::Queue"))
    with pytest.raises(Conflict) as busy:
        if operation == "up":
            engine.deploy(target, STATES_STACK, {}, wait=False)
        else:
            engine.destroy(target, STATES_STACK, wait=False)
    assert "UPDATE_ROLLBACK_IN_PROGRESS" in busy.value.message and "Queue UPDATE_IN_PROGRESS" in busy.value.message
