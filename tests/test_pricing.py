"""Prices of the region in use: the built-in table's shape, regions that differ, the Pricing API
(botocore's Stubber on the real client) with its cache, and the fall-back when it cannot answer.

No test takes one region's number as "the" price: they compare regions, check the table's
shape, or check that what the API said is what introaws uses.
"""

from __future__ import annotations

import json

import pytest
from botocore.stub import Stubber

from introaws import pricing
from introaws.deploy.stackinfo import StackInfo
from introaws.pricing import api, table
from introaws.stacks import TAG_KEY
from introaws.target import Target
from introaws.workflows import dnn, ec2, overview

REGIONS = ("ap-northeast-1", "us-east-1")
# The types the hands-ons default to and the ones the textbook has readers choose.
TYPES = {ec2.DEFAULT_INSTANCE_TYPE, dnn.DEFAULT_INSTANCE_TYPE, "t2.small", "t2.medium", "t3.micro", "p3.2xlarge"}


@pytest.fixture
def aws(monkeypatch, tmp_path):
    """An AWS target with its own cache directory, credentials that go nowhere."""
    monkeypatch.setenv("INTROAWS_HOME", str(tmp_path))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("INTROAWS_PRICES", raising=False)

    def make(region: str = "ap-northeast-1") -> tuple[Target, Stubber]:
        target = Target("aws", region)
        return target, Stubber(target.client("pricing", region=api.PRICING_REGION, optional=True))

    return make


def test_the_table_knows_the_courses_regions_with_the_same_rates_each():
    assert set(REGIONS) <= set(table.PRICES)
    keys = {key for rates in table.PRICES.values() for key in rates}
    for region, rates in table.PRICES.items():
        assert set(rates) == keys, region
        assert all(value > 0 for value in rates.values()), region
    assert {f"ec2:{t}" for t in TYPES} <= keys
    assert {"fargate:vcpu-hour", "fargate:gb-hour", "ebs:gp3-gb-month", "ipv4:hour"} <= keys
    assert {key.partition(":")[0] for key in keys} <= {unit.partition(":")[0] for unit in table.UNITS}


def test_the_region_changes_the_answer(monkeypatch):
    monkeypatch.setenv("INTROAWS_PRICES", "table")
    tokyo, virginia = Target("aws", "ap-northeast-1"), Target("aws", "us-east-1")
    for instance_type in TYPES:
        assert pricing.ec2_hourly(tokyo, instance_type) > pricing.ec2_hourly(virginia, instance_type)
    assert pricing.fargate_hourly(tokyo, 1, 4) > pricing.fargate_hourly(virginia, 1, 4)
    assert pricing.idle_hourly(tokyo, "dnn", "g4dn.xlarge") > pricing.idle_hourly(virginia, "dnn", "g4dn.xlarge")
    assert pricing.ec2_hourly(Target("aws", "eu-west-3"), "t2.micro") is None  # unknown, not guessed


def test_idle_costs_add_the_disk_and_address_and_serverless_costs_nothing(monkeypatch):
    monkeypatch.setenv("INTROAWS_PRICES", "table")
    for region in REGIONS:
        target = Target("aws", region)
        box = pricing.idle_hourly(target, "dnn", "g4dn.xlarge")
        disk = pricing.DNN_ROOT_VOLUME_GIB * pricing.rate(target, "ebs:gp3-gb-month") / api.HOURS_PER_MONTH
        assert box == pytest.approx(
            pricing.ec2_hourly(target, "g4dn.xlarge") + disk + pricing.rate(target, "ipv4:hour")
        )
        assert pricing.idle_hourly(target, "ec2", "t2.micro") < box
        for hands_on in ("ddb", "s3", "lambda", "haiku", "qa", "batch"):
            assert pricing.idle_hourly(target, hands_on) == 0.0
        cpu, memory = pricing.rate(target, "fargate:vcpu-hour"), pricing.rate(target, "fargate:gb-hour")
        assert pricing.fargate_hourly(target, 1, 4) == pytest.approx(cpu + 4 * memory)


def _product(usd: str, **attributes: str) -> str:
    return json.dumps(
        {
            "product": {"attributes": attributes},
            "terms": {
                "OnDemand": {
                    "SKU.TERM": {"priceDimensions": {"SKU.TERM.DIM": {"unit": "Hrs", "pricePerUnit": {"USD": usd}}}}
                }
            },
        }
    )


def test_the_pricing_api_answers_and_is_cached_with_its_age(aws):
    target, stub = aws()
    stub.add_response("get_products", {"PriceList": [_product("0.0000000000"), _product("0.7340000000")]})
    with stub:
        assert pricing.ec2_hourly(target, "g4dn.xlarge") == pytest.approx(0.734)
        assert pricing.ec2_hourly(target, "g4dn.xlarge") == pytest.approx(0.734)  # from the cache: no request
    entry = json.loads(api.cache_file().read_text())["ap-northeast-1|ec2:g4dn.xlarge"]
    assert entry["usd"] == pytest.approx(0.734) and entry["fetched"] > 0
    entry["fetched"] -= api.MAX_AGE_S + 1
    api.cache_file().write_text(json.dumps({"ap-northeast-1|ec2:g4dn.xlarge": entry}))
    target, stub = aws()
    stub.add_response("get_products", {"PriceList": [_product("0.7400000000")]})
    with stub:
        assert pricing.ec2_hourly(target, "g4dn.xlarge") == pytest.approx(0.74)  # too old: asked again
    stub.assert_no_pending_responses()


def test_the_pricing_api_request_names_the_region_and_the_type(aws):
    target, stub = aws("us-east-1")
    expected = {
        "ServiceCode": "AmazonEC2",
        "Filters": [
            {"Type": "TERM_MATCH", "Field": field, "Value": value}
            for field, value in (
                ("regionCode", "us-east-1"),
                ("instanceType", "t3.micro"),
                ("operatingSystem", "Linux"),
                ("tenancy", "Shared"),
                ("preInstalledSw", "NA"),
                ("capacitystatus", "Used"),
            )
        ],
    }
    stub.add_response("get_products", {"PriceList": [_product("0.0105000000")]}, expected)
    with stub:
        assert pricing.ec2_hourly(target, "t3.micro") == pytest.approx(0.0105)


def test_fargate_rates_come_from_the_x86_linux_usage_types(aws):
    target, stub = aws()
    products = [
        _product("0.04045", usagetype="APN1-Fargate-ARM-vCPU-Hours:perCPU"),
        _product("0.05056", usagetype="APN1-Fargate-vCPU-Hours:perCPU"),
        _product("0.00553", usagetype="APN1-Fargate-GB-Hours"),
    ]
    for _ in range(2):
        stub.add_response("get_products", {"PriceList": products})
    with stub:
        assert pricing.rate(target, "fargate:vcpu-hour") == pytest.approx(0.05056)
        assert pricing.rate(target, "fargate:gb-hour") == pytest.approx(0.00553)


def test_an_api_that_cannot_answer_falls_back_to_the_table_once(aws, monkeypatch):
    target, stub = aws()
    stub.add_client_error("get_products", "AccessDeniedException", "not allowed")
    with stub:
        first = pricing.ec2_hourly(target, "t2.micro")
        second = pricing.ec2_hourly(target, "g4dn.xlarge")  # not asked again in this run
    assert (first, second) == (
        table.rate("ap-northeast-1", "ec2:t2.micro"),
        table.rate("ap-northeast-1", "ec2:g4dn.xlarge"),
    )
    assert not api.cache_file().exists()  # a fall-back is not remembered as an answer


def test_status_prices_an_instance_stack_by_its_actual_type_and_region(monkeypatch):
    monkeypatch.setenv("INTROAWS_PRICES", "table")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    info = StackInfo("Ec2ForDl", "CREATE_COMPLETE", {"InstanceId": "i-0abc"}, {TAG_KEY: "dnn"})
    prices = {}
    for region in REGIONS:
        target = Target("aws", region)
        ec2_stub = Stubber(target.client("ec2"))
        ec2_stub.add_response(
            "describe_instances",
            {"Reservations": [{"Instances": [{"InstanceId": "i-0abc", "InstanceType": "g5.xlarge"}]}]},
            {"InstanceIds": ["i-0abc"]},
        )
        with ec2_stub:
            prices[region] = overview._idle_hourly(target, info)
        assert prices[region] == round(pricing.idle_hourly(target, "dnn", "g5.xlarge"), 4)
    assert prices["ap-northeast-1"] != prices["us-east-1"]
