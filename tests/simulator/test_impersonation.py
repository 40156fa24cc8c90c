"""The simulated tenant's API-only user acts for a technician, and its security levels can refuse
that per entity: a refused write is answered before anything is looked up or stored."""

from __future__ import annotations

import httpx
import pytest

from agent.clock import FakeClock
from agent.simulator import Simulator
from agent.simulator.cli import parser
from tests.simulator.conftest import ORIGIN, own_ticket_ids
from tests.simulator.test_writes import new_time_entry

NOTE = {"description": "Checked the cabling", "noteType": 1, "publish": 1}


def as_technician(sim: Simulator) -> dict[str, str]:
    return {"ImpersonationResourceId": str(sim.technician_resource_id)}


async def test_an_impersonated_write_names_the_technician_and_the_api_user(
    api: httpx.AsyncClient, sim: Simulator, fake_clock: FakeClock
) -> None:
    me, api_user = sim.technician_resource_id, sim.api_user_resource_id
    ticket_id = own_ticket_ids(sim)[0]
    r = await api.post(
        "TimeEntries", json=new_time_entry(sim, ticket_id), headers=as_technician(sim)
    )
    entry_id = r.json()["itemId"]
    fake_clock.advance(60)
    r = await api.patch(
        "TimeEntries", json={"id": entry_id, "hoursWorked": 2.0}, headers=as_technician(sim)
    )
    assert r.status_code == 200, r.text
    entry = sim.tenant.records["TimeEntries"][entry_id]
    assert (entry["creatorUserID"], entry["lastModifiedUserID"]) == (me, me)
    assert entry["impersonatorCreatorResourceID"] == api_user
    assert entry["impersonatorUpdaterResourceID"] == api_user
    r = await api.patch(
        "Tickets", json={"id": ticket_id, "priority": 1}, headers=as_technician(sim)
    )
    assert r.status_code == 200, r.text
    assert sim.tenant.records["Tickets"][ticket_id]["lastActivityResourceID"] == me


async def test_a_refused_entity_answers_500_naming_it_and_stores_nothing(
    api: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    sim = Simulator(tickets=50, clock=fake_clock, impersonation_refused={"ticketnotes"})
    transport = httpx.ASGITransport(app=sim.app)
    base = f"{ORIGIN}/zone{sim.zone}/ATServicesRest/V1.0/"
    async with httpx.AsyncClient(transport=transport, base_url=base, headers=api.headers) as c:
        ticket_id = own_ticket_ids(sim)[0]
        notes = dict(sim.tenant.records["TicketNotes"])
        r = await c.post(f"Tickets/{ticket_id}/Notes", json=NOTE, headers=as_technician(sim))
        assert r.status_code == 500
        [message] = r.json()["errors"]
        assert "Impersonation is not allowed for TicketNotes" in message
        # Refused before the record is looked up: a missing one answers the same.
        r = await c.patch("Tickets/0/Notes", json={"id": 0}, headers=as_technician(sim))
        assert r.json()["errors"] == [message]
        assert sim.tenant.records["TicketNotes"] == notes
        # Reads, other entities and the API user writing as itself are not refused.
        assert (await c.get(f"Tickets/{ticket_id}/Notes", headers=as_technician(sim))).is_success
        entry = new_time_entry(sim, ticket_id)
        r = await c.post("TimeEntries", json=entry, headers=as_technician(sim))
        assert r.status_code == 200, r.text
        r = await c.post(f"Tickets/{ticket_id}/Notes", json=NOTE)
        assert r.status_code == 200, r.text
        created = sim.tenant.records["TicketNotes"][r.json()["itemId"]]
        assert created["creatorResourceID"] == sim.api_user_resource_id


async def test_the_control_route_sets_and_reports_the_refused_entities(
    raw_client: httpx.AsyncClient, sim: Simulator
) -> None:
    r = await raw_client.post("/_sim/impersonation", json={"refused": ["timeentries", "Tickets"]})
    assert r.json() == {"refused": ["Tickets", "TimeEntries"]}
    assert sim.tenant.impersonation_refused == {"Tickets", "TimeEntries"}
    state = (await raw_client.get("/_sim/state")).json()
    assert state["impersonationRefused"] == ["Tickets", "TimeEntries"]
    assert state["apiUserResourceId"] == sim.api_user_resource_id
    r = await raw_client.post("/_sim/impersonation", json={"refused": ["Nonsense"]})
    assert r.status_code == 400 and "Nonsense" in r.json()["errors"][0]
    assert sim.tenant.impersonation_refused == {"Tickets", "TimeEntries"}  # unchanged
    r = await raw_client.post("/_sim/impersonation", json={"refused": []})
    assert r.json() == {"refused": []}


def test_the_command_line_takes_the_refused_entities_and_refuses_unknown_ones() -> None:
    args = parser().parse_args(["--refuse-impersonation", "TicketNotes, TimeEntries"])
    assert args.refuse_impersonation == ("TicketNotes", "TimeEntries")
    assert parser().parse_args([]).refuse_impersonation == ()
    with pytest.raises(SystemExit):
        parser().parse_args(["--refuse-impersonation", "Tickts"])


async def test_the_dispatcher_never_assigns_work_to_the_api_user(fake_clock: FakeClock) -> None:
    sim = Simulator(tickets=30, clock=fake_clock)
    for _ in range(150):
        await sim.dispatcher.step()
    assigned = {
        e["assignedResourceID"] for e in sim.dispatcher.history if "assignedResourceID" in e
    }
    assert len(assigned) >= 5  # enough assignments that the API user would have been drawn
    assert sim.api_user_resource_id not in assigned
