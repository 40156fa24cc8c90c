"""The per-request service time: concurrent calls overlap, so the 3-thread limit fires with the
API's 429 body; without it (the default) nothing waits. The threshold's timeframe follows the
time scale."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from agent.clock import FakeClock
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator
from agent.simulator.cli import parser
from agent.simulator.simulator import SERVICE_TIME_ENV, served_service_time
from tests.simulator.conftest import ORIGIN, own_ticket_ids

HEADERS = {
    "ApiIntegrationCode": DEMO_INTEGRATION_CODE,
    "UserName": DEMO_USERNAME,
    "Secret": DEMO_SECRET,
}


def _client(sim: Simulator) -> httpx.AsyncClient:
    base = f"{ORIGIN}/zone{sim.zone}/ATServicesRest/V1.0/"
    transport = httpx.ASGITransport(app=sim.app)
    return httpx.AsyncClient(transport=transport, base_url=base, headers=HEADERS)


async def _six_at_once(sim: Simulator) -> list[httpx.Response]:
    ticket_id = own_ticket_ids(sim)[0]
    async with _client(sim) as api:
        return list(await asyncio.gather(*(api.get(f"Tickets/{ticket_id}") for _ in range(6))))


async def test_with_a_service_time_a_fourth_concurrent_call_gets_the_thread_429(
    fake_clock: FakeClock,
) -> None:
    sim = Simulator(tickets=40, clock=fake_clock, service_time=0.1)
    answers = await _six_at_once(sim)
    refused = [r for r in answers if r.status_code == 429]
    assert sum(r.status_code == 200 for r in answers) == 3
    assert [r.json() for r in refused] == [{"errors": ["Thread Threshold Exceeded"]}] * 3
    assert fake_clock.sleeps == [0.1, 0.1, 0.1]


async def test_the_service_time_is_scaled_and_zero_by_default(fake_clock: FakeClock) -> None:
    sim = Simulator(tickets=40, clock=fake_clock, service_time=0.1, time_scale=0.5)
    async with _client(sim) as api:
        await api.get(f"Tickets/{own_ticket_ids(sim)[0]}")
    assert fake_clock.sleeps == [0.05]
    quiet = Simulator(tickets=40, clock=FakeClock())
    assert quiet.limits.service_delay() == 0.0
    # Answered at once, requests never overlap inside the server: nothing is refused.
    assert [r.status_code for r in await _six_at_once(quiet)] == [200] * 6


def test_a_served_simulator_takes_the_default_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(SERVICE_TIME_ENV, raising=False)
    assert served_service_time() == 0.08
    monkeypatch.setenv(SERVICE_TIME_ENV, "0.25")
    assert served_service_time() == 0.25
    monkeypatch.setenv(SERVICE_TIME_ENV, "-1")
    with pytest.raises(ValueError, match=SERVICE_TIME_ENV):
        served_service_time()
    assert parser().parse_args(["--service-time", "0"]).service_time == 0.0
    with pytest.raises(SystemExit):
        parser().parse_args(["--service-time", "-2"])


@pytest.mark.parametrize(("scale", "minutes"), [(1.0, 60), (0.5, 30), (0.01, 1), (2.0, 120)])
async def test_threshold_information_reports_the_scaled_timeframe(
    fake_clock: FakeClock, scale: float, minutes: int
) -> None:
    sim = Simulator(tickets=40, clock=fake_clock, time_scale=scale)
    async with _client(sim) as api:
        body = (await api.get("ThresholdInformation")).json()
    assert body["requestThresholdTimeframe"] == minutes
    assert sim.limits.window == 3600 * scale
