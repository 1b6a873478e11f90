"""The Batch and ECR template adaptations for moto, each on its own, plus cfn-lint on the stack."""

from __future__ import annotations

import json

from introaws.localcloud import adapt


def _template() -> dict:
    return {
        "Resources": {
            "Env": {"Type": "AWS::Batch::ComputeEnvironment", "Properties": {"Type": "managed"}},
            "Queue": {
                "Type": "AWS::Batch::JobQueue",
                "Properties": {
                    "ComputeEnvironmentOrder": [
                        {"ComputeEnvironment": {"Fn::GetAtt": ["Env", "ComputeEnvironmentArn"]}}
                    ]
                },
            },
            "Repo": {"Type": "AWS::ECR::Repository", "Properties": {}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
            "Uses": {"Type": "AWS::IAM::Policy", "Properties": {"Arn": {"Fn::GetAtt": ["Role", "Arn"]}}},
        },
        "Outputs": {"Queue": {"Value": {"Fn::GetAtt": ["Queue", "JobQueueArn"]}}},
    }


def test_environment_type_upper_cased():
    template = _template()
    adapt.upper_case_batch_environment_type(template)
    assert template["Resources"]["Env"]["Properties"]["Type"] == "MANAGED"


def test_explicit_service_role_added_once():
    template = _template()
    adapt.explicit_batch_service_role(template)
    adapt.explicit_batch_service_role(template)
    role = template["Resources"][adapt.BATCH_SERVICE_ROLE_ID]
    assert role["Type"] == "AWS::IAM::Role"
    assert "batch.amazonaws.com" in json.dumps(role)
    assert template["Resources"]["Env"]["Properties"]["ServiceRole"] == {
        "Fn::GetAtt": [adapt.BATCH_SERVICE_ROLE_ID, "Arn"]
    }


def test_batch_get_att_becomes_ref_and_others_stay():
    template = _template()
    adapt.ref_instead_of_batch_get_att(template)
    order = template["Resources"]["Queue"]["Properties"]["ComputeEnvironmentOrder"][0]
    assert order["ComputeEnvironment"] == {"Ref": "Env"}
    assert template["Outputs"]["Queue"]["Value"] == {"Ref": "Queue"}
    assert template["Resources"]["Uses"]["Properties"]["Arn"] == {"Fn::GetAtt": ["Role", "Arn"]}


def test_ecr_repository_gets_a_lower_case_name():
    template = _template()
    adapt.lower_case_ecr_repository_name(template)
    assert template["Resources"]["Repo"]["Properties"]["RepositoryName"] == "introaws-repo"


def test_adapt_template_leaves_the_original_alone():
    template = _template()
    adapted = adapt.adapt_template(template)
    assert template == _template() and adapted != template


def test_simplebatch_template_passes_cfn_lint(home, monkeypatch, cfn_lint):
    from introaws.deploy import synth
    from introaws.stacks import HANDS_ONS

    monkeypatch.setenv("INTROAWS_HOME", str(home))  # share the CLI's template cache
    for params in ({}, {"instance_type": "p3.2xlarge", "spot": True}):
        template = synth.synthesize(HANDS_ONS["batch"], params).template
        assert cfn_lint(template) == []
        env = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Batch::ComputeEnvironment")
        resources = env["Properties"]["ComputeResources"]
        assert resources["MaxvCpus"] == 64 and resources["MinvCpus"] == 0
        assert resources["InstanceTypes"] == [params.get("instance_type", "g4dn.xlarge")]
        assert resources["Type"] == ("SPOT" if params else "EC2")
