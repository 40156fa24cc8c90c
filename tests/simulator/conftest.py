"""Fixtures: a simulator on a fake clock, and an httpx client speaking to it in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from agent.clock import FakeClock
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator

ORIGIN = "http://sim.test"


@pytest.fixture
def sim(fake_clock: FakeClock) -> Simulator:
    return Simulator(seed="demo", tickets=200, clock=fake_clock)


@pytest.fixture
def headers() -> dict[str, str]:
    return {
        "ApiIntegrationCode": DEMO_INTEGRATION_CODE,
        "UserName": DEMO_USERNAME,
        "Secret": DEMO_SECRET,
    }


@pytest.fixture
async def raw_client(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no credentials, at the simulator's origin."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url=ORIGIN) as c:
        yield c


@pytest.fixture
async def api(sim: Simulator, headers: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A client with the demo credentials whose base URL is the tenant's zone `/V1.0/`."""
    base = f"{ORIGIN}/zone{sim.zone}/ATServicesRest/V1.0/"
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url=base, headers=headers) as c:
        yield c


def own_ticket_ids(sim: Simulator) -> list[int]:
    tickets = sim.tenant.records["Tickets"]
    return [i for i, t in tickets.items() if t["assignedResourceID"] == sim.technician_resource_id]


def picklist(sim: Simulator, route: str, field: str) -> list[int]:
    return [p.value for p in sim.tenant.picklist(route, field)]
