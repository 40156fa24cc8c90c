"""The flow of one edit, end to end: capture offline, push, merge, conflicts, exactly-once."""

from __future__ import annotations

import pytest

from agent.api.validation import EditRejected
from tests.e2e.conftest import World


async def first_sync(world: World) -> list[int]:
    report = await world.agent.sync_now()
    assert report is not None and report.error is None, report
    tickets = await world.agent.my_tickets()
    assert tickets, "the technician has tickets in the seed"
    return [t.id for t in tickets]


def server_ticket(world: World, ticket_id: int) -> dict:
    return world.sim.dump()["Tickets"][ticket_id]


async def test_first_sync_downloads_my_open_tickets_and_picklists(world: World) -> None:
    ids = await first_sync(world)
    me = world.sim.technician_resource_id
    for tid in ids:
        assert server_ticket(world, tid)["assignedResourceID"] == me
    lists = await world.agent.picklists("Tickets")
    assert lists["status"] and lists["priority"]
    detail = await world.agent.ticket(ids[0])
    assert detail is not None and detail.fields["title"].value


async def test_an_edit_is_pending_until_synced_then_on_the_server(world: World) -> None:
    ids = await first_sync(world)
    tid = ids[0]
    statuses = sorted((await world.agent.picklists("Tickets"))["status"])
    current = server_ticket(world, tid)["status"]
    new = next(s for s in statuses if s != current)
    result = await world.agent.update_ticket(tid, status=new)
    detail = await world.agent.ticket(tid)
    assert detail.fields["status"].value == new and detail.fields["status"].pending
    assert (await world.agent.status()).pending == 1
    report = await world.agent.sync_now()
    assert report.push.succeeded == 1, report
    assert server_ticket(world, tid)["status"] == new
    detail = await world.agent.ticket(tid)
    assert not detail.fields["status"].pending
    assert result.op_id is not None


async def test_invalid_edit_is_refused_and_nothing_is_queued(world: World) -> None:
    ids = await first_sync(world)
    with pytest.raises(EditRejected, match="status"):
        await world.agent.update_ticket(ids[0], status=987654)
    assert (await world.agent.status()).pending == 0


async def test_both_sides_changing_a_field_is_a_conflict_resolved_per_field(world: World) -> None:
    ids = await first_sync(world)
    tid = ids[1]
    lists = await world.agent.picklists("Tickets")
    prios = sorted(lists["priority"])
    base = server_ticket(world, tid)["priority"]
    mine, theirs = [p for p in prios if p != base][:2]
    await world.agent.update_ticket(tid, priority=mine, title="Mine: new title")
    world.sim.edit_ticket(tid, priority=theirs)
    await world.agent.sync_now()
    conflicts = await world.agent.conflicts()
    assert [(c.field, c.base, c.mine, c.theirs) for c in conflicts] == [
        ("priority", base, mine, theirs)
    ]
    assert server_ticket(world, tid)["title"] == "Mine: new title"  # the other field went
    assert server_ticket(world, tid)["priority"] == theirs
    await world.agent.resolve_conflict(conflicts[0].id, "mine")
    await world.agent.sync_now()
    assert server_ticket(world, tid)["priority"] == mine
    assert await world.agent.conflicts() == []
    events = await world.agent.audit_events(action="conflict_resolved")
    assert events[0].detail["losing"] == theirs  # the losing value stays in the audit


async def test_a_server_change_to_another_field_is_kept(world: World) -> None:
    ids = await first_sync(world)
    tid = ids[2]
    await world.agent.update_ticket(tid, title="Technician's title")
    world.sim.edit_ticket(tid, description="Dispatcher's description")
    await world.agent.sync_now()
    t = server_ticket(world, tid)
    assert (t["title"], t["description"]) == ("Technician's title", "Dispatcher's description")
    assert await world.agent.conflicts() == []


async def test_notes_and_time_entries_are_created_exactly_once(world: World) -> None:
    ids = await first_sync(world)
    tid = ids[0]
    note_lists = await world.agent.picklists("TicketNotes")
    await world.agent.add_note(
        tid,
        "Replaced the fuser unit",
        title="On site",
        note_type=min(note_lists["noteType"]),
        publish=min(note_lists["publish"]),
    )
    resources = await world.agent.resources()
    role = resources[world.sim.technician_resource_id][1][0]
    await world.agent.log_time(
        ticketID=tid,
        dateWorked="2026-01-05T00:00:00Z",
        hoursWorked=1.25,
        summaryNotes="Fuser replacement",
        roleID=role,
    )
    await world.agent.sync_now()
    await world.agent.sync_now()
    dump = world.sim.dump()
    notes = [
        n for n in dump["TicketNotes"].values() if n["description"] == "Replaced the fuser unit"
    ]
    entries = [e for e in dump["TimeEntries"].values() if e["summaryNotes"] == "Fuser replacement"]
    assert len(notes) == 1 and len(entries) == 1
    assert (await world.agent.status()).pending == 0
    assert (await world.agent.verify_audit()).ok
