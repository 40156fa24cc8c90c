"""The `latency` fault is a late apply over a real socket: the client gives up at its deadline,
and the server, which uvicorn does not interrupt, applies the write afterwards. In process
(httpx's ASGI transport runs the app in the caller's task) the client's deadline cancels it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from agent.clock import FakeClock
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator, serve
from tests.sync.conftest import ServerClock, eventually

HEADERS = {
    "ApiIntegrationCode": DEMO_INTEGRATION_CODE,
    "UserName": DEMO_USERNAME,
    "Secret": DEMO_SECRET,
}


def simulator() -> Simulator:
    sim = Simulator(seed="late", tickets=20, clock=ServerClock(FakeClock()))
    sim.limits.latency_enabled = False
    sim.faults.latency(0.6, route="tickets/*/notes", verb="POST")
    return sim


async def post_note(client: httpx.AsyncClient, base: str, sim: Simulator) -> None:
    ticket = next(iter(sim.tenant.records["Tickets"]))
    note = {"ticketID": ticket, "description": "late", "noteType": 1, "publish": 1, "title": "t"}
    # A whole-call deadline, as the agent's session sets (the ASGI transport ignores httpx's).
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.15):
            await client.post(f"{base}Tickets/{ticket}/Notes", json=note)


def notes(sim: Simulator) -> int:
    return sum(1 for n in sim.tenant.records["TicketNotes"].values() if n["description"] == "late")


@pytest.mark.socket
async def test_over_a_socket_the_write_lands_after_the_client_gave_up() -> None:
    sim = simulator()
    async with serve(sim) as origin, httpx.AsyncClient(headers=HEADERS) as client:
        await post_note(client, f"{origin}/zone{sim.zone}/ATServicesRest/V1.0/", sim)
        assert notes(sim) == 0
        await eventually(lambda: notes(sim) == 1)


async def test_in_process_the_clients_deadline_cancels_the_write() -> None:
    sim = simulator()
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, headers=HEADERS) as client:
        await post_note(client, f"http://sim.test/zone{sim.zone}/ATServicesRest/V1.0/", sim)
        await asyncio.sleep(0.8)
        assert notes(sim) == 0
