"""Every change the agent makes carries the technician's name on the server: the agent signs in
as the team's API-only user and acts for the technician (`ImpersonationResourceId`). Where the
tenant's security levels refuse that for an entity, sign-in says so and the change waits in the
Queue with a reason naming the entity; it never reaches the server in the API user's name.

Ground truth is the simulator's records (creator, last modifier, impersonator)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.api.facade import Agent
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator
from agent.simulator.impersonation import refuse
from agent.store.models import OpState
from tests.e2e.conftest import World, options


async def _first_ticket(world: World) -> int:
    report = await world.agent.sync_now()
    assert report is not None and report.error is None, report
    return sorted(t.id for t in await world.agent.my_tickets())[0]


async def _add_note(world: World, ticket_id: int, text: str) -> None:
    lists = await world.agent.picklists("TicketNotes")
    await world.agent.add_note(
        ticket_id, text, title="On site", note_type=min(lists["noteType"]), publish=1
    )


async def _log_time(world: World, ticket_id: int, summary: str) -> None:
    resources = await world.agent.resources()
    role = resources[world.sim.technician_resource_id][1][0]
    await world.agent.log_time(
        ticketID=ticket_id,
        dateWorked="2026-01-05T00:00:00Z",
        hoursWorked=1.25,
        summaryNotes=summary,
        roleID=role,
    )


def _only(world: World, route: str, **match: Any) -> dict[str, Any]:
    found = [
        r for r in world.sim.dump()[route].values() if all(r.get(k) == v for k, v in match.items())
    ]
    assert len(found) == 1, found
    return found[0]


async def test_notes_time_entries_and_ticket_changes_carry_the_technicians_name(
    world: World,
) -> None:
    me, api_user = world.sim.technician_resource_id, world.sim.api_user_resource_id
    assert me != api_user  # the API user is a resource of its own, not the technician
    tid = await _first_ticket(world)
    await _add_note(world, tid, "Replaced the fuser unit")
    await _log_time(world, tid, "Fuser replacement")
    statuses = sorted((await world.agent.picklists("Tickets"))["status"])
    ticket = world.sim.tenant.records["Tickets"][tid]
    new_status = next(s for s in statuses if s not in (ticket["status"], 5))
    await world.agent.update_ticket(tid, status=new_status)
    await world.agent.sync_now()

    note = _only(world, "TicketNotes", description="Replaced the fuser unit")
    assert note["creatorResourceID"] == me
    assert note["impersonatorCreatorResourceID"] == api_user
    entry = _only(world, "TimeEntries", summaryNotes="Fuser replacement")
    assert (entry["resourceID"], entry["creatorUserID"], entry["lastModifiedUserID"]) == (me,) * 3
    assert entry["impersonatorCreatorResourceID"] == api_user
    ticket = world.sim.dump()["Tickets"][tid]
    assert ticket["status"] == new_status
    assert ticket["lastActivityResourceID"] == me

    # A change to the entry is made by the technician too, with the API user as impersonator.
    await world.agent.update_time_entry(str(entry["id"]), hoursWorked=2.0)
    await world.agent.sync_now()
    changed = world.sim.dump()["TimeEntries"][entry["id"]]
    assert changed["hoursWorked"] == 2.0
    assert changed["lastModifiedUserID"] == me and changed["creatorUserID"] == me
    assert changed["impersonatorUpdaterResourceID"] == api_user
    assert (await world.agent.status()).pending == 0


async def test_a_refused_entity_waits_in_the_queue_naming_it_and_nothing_is_sent_as_api_user(
    world: World,
) -> None:
    tid = await _first_ticket(world)
    refuse(world.sim.tenant, ["TicketNotes"])
    await _add_note(world, tid, "Checked the cabling")
    await _log_time(world, tid, "Cabling check")
    await world.agent.sync_now()
    world.clock.advance(3600)
    await world.agent.sync_now()  # a later round does not send it again

    dump = world.sim.dump()
    assert not [
        n for n in dump["TicketNotes"].values() if n["description"] == "Checked the cabling"
    ]
    entry = _only(world, "TimeEntries", summaryNotes="Cabling check")  # other entities go on
    assert entry["creatorUserID"] == world.sim.technician_resource_id
    page = await world.agent.queue_page(entity_type="TicketNotes")
    [item] = page.items
    assert item.state == OpState.PARKED.value
    assert item.attempts == 1
    assert item.last_error is not None
    assert "ticket notes" in item.last_error and "TicketNotes" in item.last_error
    assert "impersonation" in item.last_error and "API user's name" in item.last_error

    refuse(world.sim.tenant, [])  # the administrator allows it: a retry sends it in my name
    await world.agent.retry_now(item.id)
    await world.agent.sync_now()
    note = _only(world, "TicketNotes", description="Checked the cabling")
    assert note["creatorResourceID"] == world.sim.technician_resource_id


async def _signed_out_agent(sim: Simulator, world: World, tmp_path: Path) -> Agent:
    opts = dataclasses.replace(
        options(sim, world.clock, tmp_path / "fresh"),
        credentials=None,
        technician_resource_id=None,
        transport=httpx.ASGITransport(app=sim.app),
    )
    return await Agent.open(opts)


async def test_sign_in_says_which_entities_refuse_impersonation_and_changes_nothing(
    world: World, tmp_path: Path
) -> None:
    sim = world.sim
    email = sim.dump()["Resources"][sim.technician_resource_id]["email"]
    refuse(sim.tenant, ["TicketNotes", "TimeEntries"])
    before = sim.dump()
    agent = await _signed_out_agent(sim, world, tmp_path)
    try:
        result = await agent.sign_in(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE, email)
        assert not result.ok and result.kind == "impersonation_refused"
        assert "ticket notes, time entries" in result.message
        assert "tickets," not in result.message  # ticket changes are allowed
        assert agent.settings.technician_resource_id is None and agent.engine is None
        assert sim.dump() == before  # the check created and changed nothing

        refuse(sim.tenant, [])
        result = await agent.sign_in(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE, email)
        assert result.ok, result.message
        assert agent.settings.technician_resource_id == sim.technician_resource_id
        assert sim.dump() == before
    finally:
        await agent.close()


async def test_sign_in_refuses_the_api_users_own_address_as_the_technician(
    world: World, tmp_path: Path
) -> None:
    """The API-only user's resource is no technician: every change made in its name would
    carry the team's shared user, not the person who typed it."""
    sim = world.sim
    api_email = sim.dump()["Resources"][sim.api_user_resource_id]["email"]
    agent = await _signed_out_agent(sim, world, tmp_path)
    try:
        result = await agent.sign_in(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE, api_email)
        assert not result.ok
        assert "API-only user" in result.message
        assert agent.settings.technician_resource_id is None and agent.engine is None
    finally:
        await agent.close()


async def test_sign_in_asks_about_every_kind_of_record_changed_on_a_visit(
    world: World, tmp_path: Path
) -> None:
    sim = world.sim
    email = sim.dump()["Resources"][sim.technician_resource_id]["email"]
    refuse(sim.tenant, ["TicketCharges", "TicketChecklistItems", "ServiceCalls"])
    before = sim.dump()
    agent = await _signed_out_agent(sim, world, tmp_path)
    try:
        result = await agent.sign_in(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE, email)
        assert not result.ok and result.kind == "impersonation_refused"
        assert agent.settings.technician_resource_id is None
        assert sim.dump() == before
    finally:
        await agent.close()


async def test_who_the_technician_is_cannot_be_set_by_hand(world: World) -> None:
    """Only sign-in sets the technician's resource: set from Settings or the command line,
    changes would go out in a colleague's (or the API user's) name."""
    from agent.settings import SettingsError

    me = world.agent.settings.technician_resource_id
    with pytest.raises(SettingsError, match="sign in"):
        await world.agent.update_settings(technician_resource_id=world.sim.api_user_resource_id)
    assert world.agent.settings.technician_resource_id == me
