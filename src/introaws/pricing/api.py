"""Prices from the AWS Price List (Pricing) API, cached in introaws's cache directory.

The Pricing API answers in us-east-1 only (for every region); its answers change a few times a
year, so each is kept for :data:`MAX_AGE_S` with the time it was fetched. A client that cannot
reach it (no permission, no network) gets ``None`` quickly and the built-in table is used.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from introaws import paths
from introaws.target import Target

PRICING_REGION = "us-east-1"
MAX_AGE_S = 7 * 24 * 3600
HOURS_PER_MONTH = 730  # how AWS turns monthly prices into hourly ones


def cache_file() -> Path:
    return paths.cache_dir() / "prices.json"


def cached(region: str, key: str, max_age_s: float = MAX_AGE_S) -> float | None:
    entry = _read_cache().get(f"{region}|{key}")
    if entry and time.time() - float(entry["fetched"]) <= max_age_s:
        return float(entry["usd"])
    return None


def remember(region: str, key: str, usd: float) -> None:
    entries = _read_cache()
    entries[f"{region}|{key}"] = {"usd": usd, "fetched": time.time()}
    path = cache_file()
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as out:
        json.dump(entries, out, indent=1, sort_keys=True)
    os.replace(out.name, path)


def _read_cache() -> dict[str, Any]:
    try:
        entries = json.loads(cache_file().read_text())
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def fetch(target: Target, key: str) -> float | None:
    """The rate ``key`` (see ``table.UNITS``) in the target's region from the Pricing API."""
    client = target.client("pricing", region=PRICING_REGION, optional=True)
    region = target.region
    kind, _, detail = key.partition(":")
    if kind == "ec2":
        return _hourly(
            client,
            "AmazonEC2",
            {
                "regionCode": region,
                "instanceType": detail,
                "operatingSystem": "Linux",
                "tenancy": "Shared",
                "preInstalledSw": "NA",
                "capacitystatus": "Used",
            },
        )
    if key == "ebs:gp3-gb-month":
        return _hourly(client, "AmazonEC2", {"regionCode": region, "productFamily": "Storage", "volumeApiName": "gp3"})
    if kind == "fargate":
        suffix = "-Fargate-vCPU-Hours:perCPU" if detail == "vcpu-hour" else "-Fargate-GB-Hours"
        for product in _products(client, "AmazonECS", {"regionCode": region, "productFamily": "Compute"}):
            if str(product["product"]["attributes"].get("usagetype", "")).endswith(suffix):
                return _on_demand_usd(product)
    return None


def _hourly(client: Any, service: str, filters: dict[str, str]) -> float | None:
    for product in _products(client, service, filters):
        price = _on_demand_usd(product)
        if price:
            return price
    return None


def _products(client: Any, service: str, filters: dict[str, str]) -> Any:
    request = {
        "ServiceCode": service,
        "Filters": [{"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in filters.items()],
    }
    for page in client.get_paginator("get_products").paginate(**request):
        for item in page["PriceList"]:
            yield json.loads(item) if isinstance(item, str) else item


def _on_demand_usd(product: dict[str, Any]) -> float | None:
    """The product's on-demand price in USD, per hour (or per month, for storage)."""
    for term in product.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = float(dimension.get("pricePerUnit", {}).get("USD", 0) or 0)
            if usd > 0:
                return usd
    return None
