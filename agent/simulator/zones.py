"""Autotask zones: names, and the ZoneInformation answer for a tenant's zone."""

from __future__ import annotations

from typing import Any

_REGIONS = {
    range(1, 6): "America East",
    range(6, 12): "America West",
    range(12, 18): "UK",
    range(18, 22): "Australia / New Zealand",
    range(22, 30): "EU",
}


def zone_name(zone: int) -> str:
    region = next((name for span, name in _REGIONS.items() if zone in span), "Pre-release")
    return f"{region} {zone}"


def zone_information(zone: int, origin: str) -> dict[str, Any]:
    """The answer for a tenant in `zone`; every zone lives on this socket under `/zone{N}`."""
    return {
        "zoneName": zone_name(zone),
        "url": f"{origin}/zone{zone}/ATServicesRest/",
        "webUrl": f"{origin}/zone{zone}/",
        "ci": zone,
    }
