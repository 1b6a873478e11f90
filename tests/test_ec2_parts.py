"""The EC2 hands-on's pieces that need no cloud: option parsing and the template adaptation."""

from __future__ import annotations

import ipaddress

import pytest

from introaws.errors import UsageError
from introaws.localcloud.adapt import adapt_template
from introaws.target import Target
from introaws.workflows import ec2


@pytest.mark.parametrize(("text", "minutes"), [("45m", 45), ("2h", 120), ("1h30m", 90), ("1d", 1440), (" 3H ", 180)])
def test_ttl_is_read_in_minutes(text, minutes):
    assert ec2.parse_ttl(text) == minutes


@pytest.mark.parametrize("text", ["", "soon", "2", "0m", "8d", "h"])
def test_bad_ttl_says_how_to_write_it(text):
    with pytest.raises(UsageError) as caught:
        ec2.parse_ttl(text)
    assert caught.value.hint


def test_ssh_from_is_an_ipv4_range():
    assert ec2.check_cidr("203.0.113.7/32") == "203.0.113.7/32"
    assert ec2.check_cidr("203.0.113.7") == "203.0.113.7/32"
    with pytest.raises(UsageError, match="--ssh-from"):
        ec2.check_cidr("my-laptop")


def test_local_ssh_comes_from_loopback():
    assert ec2.caller_cidr(Target("local", "ap-northeast-1", endpoint_url="http://127.0.0.1:1")) == "127.0.0.1/32"


def test_aws_caller_address_or_a_hint_to_pass_it():
    """Offline (as here) the look-up fails with a hint; online it is one address."""
    try:
        cidr = ec2.caller_cidr(Target("aws", "ap-northeast-1"))
    except UsageError as exc:
        assert "--ssh-from" in str(exc)
    else:
        assert ipaddress.IPv4Network(cidr).prefixlen == 32


def test_get_azs_names_the_deploy_regions_zones():
    select = {"Fn::Select": [0, {"Fn::GetAZs": ""}]}
    template = {
        "Resources": {"Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {"AvailabilityZone": select}}},
        "Outputs": {"Zone": {"Value": {"Fn::Select": [1, {"Fn::GetAZs": {"Ref": "AWS::Region"}}]}}},
    }
    adapted = adapt_template(template)
    zones = [{"Fn::Sub": "${AWS::Region}a"}, {"Fn::Sub": "${AWS::Region}c"}, {"Fn::Sub": "${AWS::Region}d"}]
    assert adapted["Resources"]["Subnet"]["Properties"]["AvailabilityZone"] == {"Fn::Select": [0, zones]}
    assert adapted["Outputs"]["Zone"]["Value"] == {"Fn::Select": [1, zones]}
    assert template["Resources"]["Subnet"]["Properties"]["AvailabilityZone"] == select  # original untouched
