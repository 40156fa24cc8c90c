"""Credentials, zones, the hourly threshold with its latency and 429, and the 3-thread limit."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from agent.clock import FakeClock
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator
from tests.simulator.conftest import ORIGIN, own_ticket_ids


@pytest.mark.parametrize(
    ("change", "status", "errors"),
    [
        ({"UserName": "stranger@example.com"}, 500, None),
        ({"Secret": "wrong"}, 401, None),
        ({"ApiIntegrationCode": "NOPE"}, 500, ["IntegrationCode is invalid"]),
        ({"ImpersonationResourceId": "42"}, 500, None),
    ],
)
async def test_authentication_failures(
    api: httpx.AsyncClient,
    sim: Simulator,
    change: dict[str, str],
    status: int,
    errors: list[str] | None,
) -> None:
    r = await api.get(f"Tickets/{own_ticket_ids(sim)[0]}", headers=change)
    assert r.status_code == status
    if errors is not None:
        assert r.json() == {"errors": errors}
    assert DEMO_SECRET not in r.text and DEMO_INTEGRATION_CODE not in r.text


async def test_missing_credentials_are_401(raw_client: httpx.AsyncClient) -> None:
    r = await raw_client.get("/zone5/ATServicesRest/V1.0/Tickets/1")
    assert r.status_code == 401


async def test_requests_to_another_zone_are_not_hosted(api: httpx.AsyncClient) -> None:
    r = await api.get("http://sim.test/zone6/ATServicesRest/V1.0/Tickets/1")
    assert r.status_code == 500
    assert "not hosted in this zone" in r.json()["errors"][0]
    r = await api.get("http://sim.test/ATServicesRest/V1.0/Tickets/1")
    assert "not hosted in this zone" in r.json()["errors"][0]


async def test_zone_migration_moves_the_tenant(
    api: httpx.AsyncClient, raw_client: httpx.AsyncClient, sim: Simulator
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    sim.faults.migrate_zone(14)
    old = await api.get(f"Tickets/{ticket_id}")
    assert old.status_code == 500
    assert "not hosted in this zone" in old.json()["errors"][0]
    zone = (
        await raw_client.get("/ATServicesRest/V1.0/ZoneInformation", params={"user": DEMO_USERNAME})
    ).json()
    assert zone["ci"] == 14 and zone["url"] == f"{ORIGIN}/zone14/ATServicesRest/"
    moved = await api.get(f"{zone['url']}V1.0/Tickets/{ticket_id}")
    assert moved.json()["item"]["id"] == ticket_id


async def test_credential_rotation_gives_the_old_secret_401(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    new_secret = sim.faults.rotate_secret()
    assert (await api.get("Tickets/1")).status_code == 401
    assert (await api.get("Tickets/1", headers={"Secret": new_secret})).status_code == 200


async def test_second_tenant_in_another_zone(raw_client: httpx.AsyncClient, sim: Simulator) -> None:
    other = sim.add_tenant("beta", "api@beta.example", "s3", "BETACODE", zone=17, tickets=5)
    zone = (
        await raw_client.get(
            "/ATServicesRest/V1.0/ZoneInformation", params={"user": "api@beta.example"}
        )
    ).json()
    assert zone["ci"] == 17
    creds = {"UserName": "api@beta.example", "Secret": "s3", "ApiIntegrationCode": "BETACODE"}
    first = next(iter(other.records["Tickets"]))
    r = await raw_client.get(f"/zone17/ATServicesRest/V1.0/Tickets/{first}", headers=creds)
    assert r.json()["item"]["id"] == first
    r = await raw_client.get(f"/zone5/ATServicesRest/V1.0/Tickets/{first}", headers=creds)
    assert "not hosted" in r.json()["errors"][0]


async def threshold_client(
    fake_clock: FakeClock, headers: dict[str, str], threshold: int
) -> tuple[Simulator, httpx.AsyncClient]:
    sim = Simulator(tickets=5, clock=fake_clock, threshold=threshold)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app),
        base_url=f"{ORIGIN}/zone5/ATServicesRest/V1.0/",
        headers=headers,
    )
    return sim, client


async def test_latency_rises_at_half_and_three_quarters_of_the_threshold(
    fake_clock: FakeClock, headers: dict[str, str]
) -> None:
    sim, client = await threshold_client(fake_clock, headers, threshold=8)
    async with client:
        for _ in range(8):
            await client.get("Tickets/1")
    assert fake_clock.sleeps == [0.5, 0.5, 1.0, 1.0]
    sim.limits.latency_enabled = False


async def test_latency_scales_with_time_scale_and_can_be_switched_off(
    fake_clock: FakeClock, headers: dict[str, str]
) -> None:
    sim = Simulator(tickets=5, clock=fake_clock, threshold=4, time_scale=0.01)
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(
        transport=transport, headers=headers, base_url=f"{ORIGIN}/zone5/ATServicesRest/V1.0/"
    ) as client:
        for _ in range(3):
            await client.get("Tickets/1")
        assert fake_clock.sleeps == [0.005]
        sim.limits.latency_enabled = False
        await client.get("Tickets/1")
        assert fake_clock.sleeps == [0.005]


async def test_past_the_threshold_answers_429_with_retry_after_until_usage_falls(
    fake_clock: FakeClock, headers: dict[str, str]
) -> None:
    sim, client = await threshold_client(fake_clock, headers, threshold=3)
    sim.limits.latency_enabled = False
    async with client:
        for _ in range(3):
            assert (await client.get("Tickets/1")).status_code == 200
            fake_clock.advance(60)
        r = await client.get("Tickets/1")
        assert r.status_code == 429
        assert r.headers["Retry-After"] == str(3600 - 180)
        info = (await client.get("ThresholdInformation")).json()
        assert info["currentTimeframeRequestCount"] == 3
        fake_clock.advance(3600 - 180 + 1)
        assert (await client.get("Tickets/1")).status_code == 200


async def test_fourth_concurrent_request_per_code_and_endpoint_is_refused(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.faults.hang(route="tickets/*", count=3)
    held = [asyncio.create_task(api.get(f"Tickets/{i}")) for i in own_ticket_ids(sim)[:3]]
    for _ in range(100):  # let the three requests reach the server and be held there
        if sum(sim.limits.in_flight.values()) == 3:
            break
        await asyncio.sleep(0)
    assert sum(sim.limits.in_flight.values()) == 3
    fourth = await api.get(f"Tickets/{own_ticket_ids(sim)[3]}")
    assert fourth.status_code == 429
    assert fourth.json() == {"errors": ["Thread Threshold Exceeded"]}
    other_endpoint = await api.get("Companies/170")
    assert other_endpoint.status_code == 200
    sim.add_integration_code("SECOND")
    other_code = await api.get("Tickets/1", headers={"ApiIntegrationCode": "SECOND"})
    assert other_code.status_code == 200
    zone = await api.get(f"{ORIGIN}/ATServicesRest/V1.0/ZoneInformation?user={DEMO_USERNAME}")
    assert zone.status_code == 200
    sim.faults.release_hangs()
    answers = await asyncio.gather(*held)
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert sim.limits.in_flight == {}
