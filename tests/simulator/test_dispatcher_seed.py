"""Seed determinism, the demo tenant's shape, the state dump and the simulated dispatcher."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from agent.clock import FakeClock
from agent.simulator import Simulator, WriteError
from tests.simulator.conftest import own_ticket_ids


def test_same_seed_and_clock_build_the_same_tenant() -> None:
    one = Simulator(seed="alpha", tickets=300, clock=FakeClock()).dump()
    two = Simulator(seed="alpha", tickets=300, clock=FakeClock()).dump()
    other = Simulator(seed="beta", tickets=300, clock=FakeClock()).dump()
    assert one == two
    assert one["Tickets"] != other["Tickets"]


def test_demo_tenant_shape() -> None:
    sim = Simulator(clock=FakeClock())
    counts = {route: len(table) for route, table in sim.dump().items()}
    assert counts["Tickets"] == 500
    # Ten staff and the API user's own resource (API-only, no roles).
    assert counts["Companies"] == 30 and counts["Contacts"] == 100 and counts["Resources"] == 11
    api_user = sim.tenant.records["Resources"][sim.api_user_resource_id]
    assert api_user["licenseType"] == 7 and not sim.tenant.roles_of(sim.api_user_resource_id)
    assert sim.api_user_resource_id != sim.technician_resource_id
    assert counts["TicketNotes"] > 300 and counts["TimeEntries"] > 40
    own = own_ticket_ids(sim)
    assert len(own) == 40
    tickets = sim.tenant.records["Tickets"]
    assert all(tickets[i]["status"] != 5 for i in own)
    assert all(
        tickets[i]["assignedResourceRoleID"] in sim.tenant.roles_of(sim.technician_resource_id)
        for i in own
    )


def test_large_tenant_builds() -> None:
    sim = Simulator(tickets=20_000, clock=FakeClock())
    assert len(sim.tenant.records["Tickets"]) == 20_000
    assert len(own_ticket_ids(sim)) == 40


def test_dump_is_a_copy() -> None:
    sim = Simulator(tickets=5, clock=FakeClock())
    dump = sim.dump()
    first = next(iter(dump["Tickets"]))
    dump["Tickets"][first]["title"] = "changed in the copy"
    assert sim.tenant.records["Tickets"][first]["title"] != "changed in the copy"


def test_edit_ticket_moves_markers_and_validates(fake_clock: FakeClock) -> None:
    sim = Simulator(tickets=20, clock=fake_clock)
    ticket_id = own_ticket_ids(sim)[0]
    fake_clock.advance(30)
    current = sim.tenant.records["Tickets"][ticket_id]["priority"]
    edited = sim.edit_ticket(ticket_id, priority=1 if current != 1 else 2)
    assert edited["lastTrackedModificationDateTime"] == "2026-01-05T09:00:30.000Z"
    assert edited["lastActivityResourceID"] == sim.dispatcher_resource_id
    with pytest.raises(WriteError, match="assignedResourceRoleID"):
        sim.edit_ticket(ticket_id, assignedResourceRoleID=None)


async def test_dispatcher_steps_are_deterministic_and_edit_open_tickets(
    fake_clock: FakeClock,
) -> None:
    def build() -> Simulator:
        return Simulator(tickets=100, clock=FakeClock())

    a, b = build(), build()
    edits_a = [await a.dispatcher.step() for _ in range(10)]
    edits_b = [await b.dispatcher.step() for _ in range(10)]
    assert edits_a == edits_b
    flat = [e for step in edits_a for e in step]
    assert len(flat) >= 10
    assert {k for e in flat for k in e} >= {"ticketId", "status", "priority", "description"}
    own = set(own_ticket_ids(build()))
    assert any(e["ticketId"] in own for e in flat)
    assert a.dump() == b.dump()
    for edit in flat:
        if "assignedResourceID" in edit:
            roles = a.tenant.roles_of(edit["assignedResourceID"])
            assert edit["assignedResourceRoleID"] in roles


async def test_dispatcher_runs_in_the_background_on_the_clock(
    api: httpx.AsyncClient, sim: Simulator, fake_clock: FakeClock
) -> None:
    sim.dispatcher.interval = 10
    sim.dispatcher.start()
    for _ in range(50):
        await asyncio.sleep(0)
    assert sim.dispatcher.running
    await sim.dispatcher.stop()
    assert not sim.dispatcher.running
    assert sim.dispatcher.history
    assert fake_clock.sleeps and fake_clock.sleeps[0] == 10
