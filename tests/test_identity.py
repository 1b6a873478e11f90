"""Identity on the local cloud: only the owner of an INTROAWS_HOME gets in (random keys in a
file only they can read, every request's SigV4 checked), and every workload runs as its role,
with each request held against the role's policies and denied as AWS denies it."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile

import boto3
import botocore.exceptions
import pytest

from conftest import cli_env, instance_ssh, run_cli, run_exe, target_for

ACCOUNT = "123456789012"
# A function that makes the calls it is given with its own credentials and says how each went.
PROBE = """\
import boto3

def handler(event, context):
    outcomes = []
    for service, method, kwargs in event["calls"]:
        try:
            answer = getattr(boto3.client(service), method)(**kwargs)
            outcomes.append({"ok": True, "arn": answer.get("Arn")})
        except Exception as exc:
            answer = getattr(exc, "response", {})
            error, status = answer.get("Error", {}), answer.get("ResponseMetadata", {}).get("HTTPStatusCode")
            outcomes.append(
                {"ok": False, "code": error.get("Code"), "message": error.get("Message", str(exc)), "status": status}
            )
    return outcomes
"""


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def make_table(target, name: str) -> str:
    target.client("dynamodb").create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return f"arn:aws:dynamodb:ap-northeast-1:{ACCOUNT}:table/{name}"


def make_probe(target, role: str) -> str:
    """A probe function running as a new role ``role`` (no policies yet); returns its name."""
    arn = target.client("iam").create_role(
        RoleName=role,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    name = f"probe-{uuid.uuid4().hex[:6]}"
    target.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=arn,
        Handler="app.handler",
        Code={"ZipFile": zipped({"app.py": PROBE})},
    )
    return name


def probe(target, function: str, *calls: tuple[str, str, dict]) -> list[dict]:
    reply = target.client("lambda").invoke(FunctionName=function, Payload=json.dumps({"calls": calls}).encode())
    answer = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, answer
    return answer


def put(table: str) -> tuple[str, str, dict]:
    return ("dynamodb", "put_item", {"TableName": table, "Item": {"id": {"S": "x"}}})


def allow(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# --- only the owner gets in ---------------------------------------------------------------------


def test_each_home_has_its_own_admin_keys_only_its_owner_reads(fresh_home, home):
    keys = run_cli(fresh_home, "cloud", "env", "--json").json()
    state = fresh_home / "data" / "localcloud"
    secret_file = state / "admin-credentials.json"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700  # the journal and issued keys too
    assert json.loads(secret_file.read_text()) == {
        "AccessKeyId": keys["AWS_ACCESS_KEY_ID"],
        "SecretAccessKey": keys["AWS_SECRET_ACCESS_KEY"],
    }
    assert keys["AWS_ENDPOINT_URL"] == run_cli(fresh_home, "cloud", "status", "--json").json()["endpoint"]
    assert keys["AWS_DEFAULT_REGION"] == "ap-northeast-1"
    sts = boto3.client(
        "sts",
        endpoint_url=keys["AWS_ENDPOINT_URL"],
        region_name=keys["AWS_DEFAULT_REGION"],
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
    )
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"  # the keys work as printed
    assert keys["AWS_ACCESS_KEY_ID"] != run_cli(home, "cloud", "env", "--json").json()["AWS_ACCESS_KEY_ID"]
    assert run_cli(fresh_home, "cloud", "reset", "--yes").code == 0
    assert (
        run_cli(fresh_home, "cloud", "env", "--json").json()["AWS_SECRET_ACCESS_KEY"] == keys["AWS_SECRET_ACCESS_KEY"]
    )
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600


def test_cloud_env_lines_point_a_shell_at_the_local_cloud_as_its_administrator(home, tmp_path):
    """``eval "$(introaws cloud env)"`` before another client: the AWS SDK's own variables."""
    nowhere = tmp_path / "none"
    shell = (
        f'eval "$({sys.executable} -m introaws cloud env)" && '
        f"{sys.executable} -c \"import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])\""
    )
    env = cli_env(
        home, AWS_SESSION_TOKEN="stale", AWS_CONFIG_FILE=str(nowhere), AWS_SHARED_CREDENTIALS_FILE=str(nowhere)
    )
    done = subprocess.run(["bash", "-c", shell], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"arn:aws:iam::{ACCOUNT}:root"  # the administrator, not a role


def test_made_up_keys_and_a_wrong_secret_are_refused_and_run_no_code(target, home, tmp_path):
    marker = tmp_path / "ran"
    code = zipped({"app.py": f"open({str(marker)!r}, 'w').close()\n\ndef handler(event, context):\n    return 1\n"})
    role = target.client("iam").create_role(RoleName="intruder", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    name = f"intruder-{uuid.uuid4().hex[:6]}"
    keys = target.kind.credentials()

    def as_(key_id: str, secret: str, service: str = "lambda"):
        return boto3.client(
            service,
            endpoint_url=target.endpoint_url,
            region_name="ap-northeast-1",
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
        )

    for client, code_ in (
        (as_("AKIAIOSFODNN7EXAMPLE", "made-up"), "UnrecognizedClientException"),
        (as_(keys["aws_access_key_id"], "wrong-secret"), "InvalidSignatureException"),
    ):
        for call in (
            lambda c=client: c.create_function(
                FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": code}
            ),
            lambda c=client: c.invoke(FunctionName=name, Payload=b"{}"),
        ):
            with pytest.raises(botocore.exceptions.ClientError) as refused:
                call()
            assert refused.value.response["Error"]["Code"] == code_
            assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(target.client("lambda").exceptions.ResourceNotFoundException):
        target.client("lambda").get_function(FunctionName=name)
    assert not marker.exists()
    journal = (home / "data" / "localcloud" / "journal.jsonl").read_text()
    assert name not in journal  # refused before moto and the journal
    # Each protocol's own error, so every SDK parses it (DynamoDB's JSON, S3's and STS's XML).
    for service, call, expected in (
        ("dynamodb", lambda c: c.list_tables(), ("UnrecognizedClientException", 400)),
        ("s3", lambda c: c.list_buckets(), ("InvalidAccessKeyId", 403)),
        ("sts", lambda c: c.get_caller_identity(), ("InvalidClientTokenId", 403)),
        ("ec2", lambda c: c.describe_instances(), ("AuthFailure", 401)),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            call(as_("AKIAIOSFODNN7EXAMPLE", "made-up", service))
        error = refused.value.response
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == expected, service


def test_unsigned_requests_are_refused_and_the_public_faces_stay_open(target):
    endpoint = target.endpoint_url
    request = urllib.request.Request(
        endpoint + "/",
        data=b"{}",
        headers={"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert json.loads(refused.value.read())["__type"] == "MissingAuthenticationTokenException"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(endpoint + "/moto-api/data.json", timeout=10)  # moto's dump of everything
    assert refused.value.code == 403
    with urllib.request.urlopen(endpoint + "/_introaws/health", timeout=10) as answer:
        assert json.load(answer)["iam"] == "enforce"


# --- every workload runs as its role ------------------------------------------------------------


def test_a_function_runs_as_its_role_and_may_do_only_what_its_policies_allow(target, cli):
    table, other = make_table(target, "allowed-table"), make_table(target, "other-table")
    role = f"probe-role-{uuid.uuid4().hex[:6]}"
    function = make_probe(target, role)
    iam = target.client("iam")
    identity, denied = probe(target, function, ("sts", "get_caller_identity", {}), put("allowed-table"))
    assert identity["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{function}"
    assert denied["code"] == "AccessDeniedException"
    assert denied["message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{function} is not authorized to perform: "
        f"dynamodb:PutItem on resource: {table} because no identity-based policy allows the dynamodb:PutItem action"
    )
    iam.put_role_policy(
        RoleName=role,
        PolicyName="write-one-table",
        PolicyDocument=allow({"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": table}),
    )
    allowed, elsewhere, listing, clusters, groups, bucket = probe(
        target,
        function,
        put("allowed-table"),
        put("other-table"),
        ("lambda", "list_functions", {}),
        ("ecs", "list_clusters", {}),
        ("logs", "describe_log_groups", {}),
        ("s3", "list_objects_v2", {"Bucket": "any-bucket"}),
    )
    assert allowed["ok"] and not elsewhere["ok"] and other in elsewhere["message"]
    # Each in its protocol's shape, or the SDK could not read the code: JSON (DynamoDB above, ECS,
    # Logs), REST-JSON (Lambda), S3's XML.
    assert [(o["code"], o["status"]) for o in (elsewhere, listing, clusters, groups, bucket)] == [
        ("AccessDeniedException", 400),
        ("AccessDeniedException", 403),
        ("AccessDeniedException", 400),
        ("AccessDeniedException", 400),
        ("AccessDenied", 403),
    ]
    assert "ecs:ListClusters" in clusters["message"] and "logs:DescribeLogGroups" in groups["message"]
    iam.put_role_policy(
        RoleName=role, PolicyName="deny-all", PolicyDocument=allow({"Effect": "Deny", "Action": "*", "Resource": "*"})
    )
    denied, identity = probe(target, function, put("allowed-table"), ("sts", "get_caller_identity", {}))
    assert "with an explicit deny in an identity-based policy" in denied["message"]
    assert identity["ok"]  # GetCallerIdentity needs no permission, as on AWS
    log = "\n".join(cli("cloud", "logs", "--lines", "200").out.splitlines()[-200:])
    assert f"dynamodb:PutItem on resource: {other}" in log
    assert f"policies evaluated for role {role}: inline deny-all, inline write-one-table" in log


def test_soft_mode_logs_denials_and_lets_them_through_and_off_skips_them(fresh_home):
    def start(mode: str):
        run_cli(fresh_home, "cloud", "stop")
        started = run_cli(fresh_home, "cloud", "start", env=cli_env(fresh_home, INTROAWS_IAM=mode))
        assert started.code == 0, started.err
        return target_for(fresh_home)

    target = start("soft")
    make_table(target, "t")
    function = make_probe(target, "soft-role")
    assert probe(target, function, put("t"))[0]["ok"]
    assert run_cli(fresh_home, "cloud", "status", "--json").json()["iam"] == "soft"
    assert "IAM: soft" in run_cli(fresh_home, "doctor", "--json").out
    log = run_cli(fresh_home, "cloud", "logs", "--lines", "100").out
    assert "would deny (INTROAWS_IAM=soft, let through): User: arn:aws:sts::" in log
    target = start("off")
    assert probe(target, function, put("t"))[0]["ok"]
    assert "IAM: off" in run_cli(fresh_home, "cloud", "logs", "--lines", "100").out
    with pytest.raises(botocore.exceptions.ClientError):  # callers are still authenticated
        boto3.client(
            "sts",
            endpoint_url=target.endpoint_url,
            region_name="ap-northeast-1",
            aws_access_key_id="AKIAX",
            aws_secret_access_key="y",
        ).get_caller_identity()
    run_cli(fresh_home, "cloud", "stop")
    bad = run_cli(fresh_home, "cloud", "start", env=cli_env(fresh_home, INTROAWS_IAM="loose"))
    assert bad.code == 2 and bad.err.startswith("error: INTROAWS_IAM='loose' is not a mode")


def test_instance_sessions_keep_their_role_keys_across_a_killed_daemon_and_lose_them_with_the_instance(fresh_home):
    assert run_cli(fresh_home, "keypair", "create", "IdKey").code == 0
    target = target_for(fresh_home)
    iam, ec2 = target.client("iam"), target.client("ec2")
    iam.create_role(RoleName="box-role", AssumeRolePolicyDocument="{}")
    iam.create_instance_profile(InstanceProfileName="box-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="box-profile", RoleName="box-role")
    instance = ec2.run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, KeyName="IdKey", IamInstanceProfile={"Name": "box-profile"}
    )["Instances"][0]["InstanceId"]
    ssh = instance_ssh(fresh_home, "IdKey", instance)
    whoami = "\"$INTROAWS_FRAMEWORK_BIN/python\" -c \"import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])\""

    def identity() -> subprocess.CompletedProcess:
        return subprocess.run([*ssh, whoami], capture_output=True, text=True, timeout=60)

    assert identity().stdout.strip() == f"arn:aws:sts::{ACCOUNT}:assumed-role/box-role/{instance}"
    issued = fresh_home / "data" / "localcloud" / "issued-credentials.json"  # what outlives the daemon
    assert stat.S_IMODE(issued.stat().st_mode) == 0o600
    env = subprocess.run([*ssh, "env"], capture_output=True, text=True, timeout=60).stdout
    session_keys = dict(line.split("=", 1) for line in env.splitlines() if line.startswith("AWS_"))
    os.kill(run_cli(fresh_home, "cloud", "status", "--json").json()["pid"], signal.SIGKILL)
    time.sleep(0.2)
    target = target_for(fresh_home)  # a new daemon; the instance's sshd lived on
    assert identity().stdout.strip() == f"arn:aws:sts::{ACCOUNT}:assumed-role/box-role/{instance}"
    target.client("ec2").terminate_instances(InstanceIds=[instance])
    leftover = boto3.client(
        "sts",
        endpoint_url=target.endpoint_url,
        region_name="ap-northeast-1",
        aws_access_key_id=session_keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=session_keys["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=session_keys["AWS_SESSION_TOKEN"],
    )
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        leftover.get_caller_identity()
    assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_the_cli_runs_as_the_administrator(home):
    done = run_exe(home, "doctor", "--json")
    identity = next(c for c in json.loads(done.out) if c["check"] == "identity")
    assert identity["detail"].startswith(f"arn:aws:iam::{ACCOUNT}:root") and identity["ok"]
