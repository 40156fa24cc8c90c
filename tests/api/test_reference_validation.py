"""An edit naming a resource, role or ticket that does not exist is refused when it is captured,
naming the field and the value, and nothing is queued; before the cache has been filled such
references are accepted and left to the server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.api.validation import EditRejected
from tests.e2e.conftest import World, open_world

MISSING = 1  # no resource, role or ticket of the simulated tenant has this id


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with open_world(tmp_path, "references", 60) as opened:
        yield opened


async def first_sync(world: World) -> int:
    report = await world.agent.sync_now()
    assert report is not None and report.error is None, report
    return sorted(t.id for t in await world.agent.my_tickets())[0]


def problems(exc: pytest.ExceptionInfo[EditRejected]) -> dict[str, str]:
    return {p.field: p.message for p in exc.value.problems}


async def queued(world: World) -> int:
    return (await world.agent.queue_page()).total


async def my_role(world: World) -> int:
    resources = await world.agent.resources()
    return resources[world.sim.technician_resource_id][1][0]


async def test_an_unknown_assignee_is_refused_and_the_pending_title_still_syncs(
    world: World,
) -> None:
    assert MISSING not in world.sim.tenant.records["Resources"]
    tid = await first_sync(world)
    await world.agent.update_ticket(tid, title="Title that must arrive")
    with pytest.raises(EditRejected) as exc:
        await world.agent.update_ticket(
            tid, assignedResourceID=MISSING, assignedResourceRoleID=MISSING
        )
    assert problems(exc) == {
        "assignedResourceID": f"resource {MISSING} does not exist in Autotask or is inactive"
    }
    page = await world.agent.queue_page()
    number = world.sim.tenant.records["Tickets"][tid]["ticketNumber"]
    assert [i.description for i in page.items] == [
        f"Change ticket {number}: Title → Title that must arrive"
    ]
    report = await world.agent.sync_now()
    assert report is not None and report.push.succeeded == 1
    server = world.sim.dump()["Tickets"][tid]
    assert server["title"] == "Title that must arrive"
    assert server["assignedResourceID"] == world.sim.technician_resource_id
    assert (await world.agent.queue_page(states=["parked"])).total == 0


async def test_a_role_the_assignee_does_not_have_and_an_inactive_assignee_are_refused(
    world: World,
) -> None:
    tid = await first_sync(world)
    me = world.sim.technician_resource_id
    with pytest.raises(EditRejected) as exc:
        await world.agent.update_ticket(tid, assignedResourceID=me, assignedResourceRoleID=MISSING)
    assert problems(exc) == {
        "assignedResourceRoleID": f"role {MISSING} is not one of resource {me}'s roles"
    }
    other = next(r for r in sorted(world.sim.tenant.records["Resources"]) if r != me)
    role = sorted(world.sim.tenant.roles_of(other))[0]

    def retire() -> None:  # the next download would bring this in: the resource left
        from agent.store.models import CachedEntity

        row = CachedEntity.get(
            (CachedEntity.entity_type == "Resources") & (CachedEntity.entity_id == other)
        )
        row.data = {**row.data, "isActive": False}
        row.save()

    world.agent.store.write(retire)
    with pytest.raises(EditRejected, match=f"resource {other} does not exist"):
        await world.agent.update_ticket(tid, assignedResourceID=other, assignedResourceRoleID=role)
    assert await queued(world) == 0


async def test_notes_and_time_for_a_ticket_not_in_the_list_are_refused(world: World) -> None:
    await first_sync(world)
    lists = await world.agent.picklists("TicketNotes")
    with pytest.raises(EditRejected) as exc:
        await world.agent.add_note(
            MISSING, "Text", note_type=min(lists["noteType"]), publish=min(lists["publish"])
        )
    assert "ticket 1 is not in your list" in problems(exc)["ticketID"]
    with pytest.raises(EditRejected) as exc:
        await world.agent.log_time(
            ticketID=MISSING,
            dateWorked="2026-01-05T00:00:00Z",
            hoursWorked=1.0,
            summaryNotes="Work",
            roleID=await my_role(world),
        )
    assert set(problems(exc)) == {"ticketID"}
    assert await queued(world) == 0


async def test_a_time_entry_for_an_unknown_resource_or_role_is_refused(world: World) -> None:
    tid = await first_sync(world)
    entry = {
        "ticketID": tid,
        "dateWorked": "2026-01-05T00:00:00Z",
        "hoursWorked": 1.0,
        "summaryNotes": "Work",
    }
    with pytest.raises(EditRejected) as exc:
        await world.agent.log_time(**entry, resourceID=MISSING, roleID=MISSING)
    assert problems(exc) == {
        "resourceID": f"resource {MISSING} does not exist in Autotask or is inactive"
    }
    with pytest.raises(EditRejected) as exc:
        await world.agent.log_time(**entry, roleID=MISSING)
    assert set(problems(exc)) == {"roleID"}
    assert await queued(world) == 0
    await world.agent.log_time(**entry, roleID=await my_role(world))
    await world.agent.sync_now()
    made = [e for e in world.sim.dump()["TimeEntries"].values() if e["ticketID"] == tid]
    assert any(e["summaryNotes"] == "Work" for e in made)


async def test_before_the_first_download_references_are_left_to_the_server(
    world: World,
) -> None:
    """A fresh profile (nothing downloaded, e.g. offline since it was set up) cannot know what
    exists: the note and the time entry are queued, and the server decides at sync."""
    await world.agent.add_note(MISSING, "Written before any sync", note_type=1, publish=1)
    await world.agent.log_time(
        ticketID=MISSING,
        resourceID=MISSING,
        roleID=MISSING,
        dateWorked="2026-01-05T00:00:00Z",
        hoursWorked=1.0,
        summaryNotes="Before any sync",
    )
    assert await queued(world) == 2


async def test_changing_a_time_entry_checks_only_the_references_it_changes(
    world: World,
) -> None:
    tid = await first_sync(world)
    role = await my_role(world)
    await world.agent.log_time(
        ticketID=tid,
        dateWorked="2026-01-05T00:00:00Z",
        hoursWorked=1.0,
        summaryNotes="First",
        roleID=role,
    )
    [entry] = [e for e in (await world.agent.ticket(tid)).time_entries if e.summary == "First"]
    with pytest.raises(EditRejected) as exc:
        await world.agent.update_time_entry(entry.key, resourceID=MISSING)
    assert set(problems(exc)) == {"resourceID"}
    with pytest.raises(EditRejected) as exc:
        await world.agent.update_time_entry(entry.key, ticketID=MISSING)
    assert set(problems(exc)) == {"ticketID"}
    with pytest.raises(EditRejected) as exc:
        await world.agent.update_time_entry(entry.key, roleID=MISSING)
    assert set(problems(exc)) == {"roleID"}
    await world.agent.update_time_entry(entry.key, summaryNotes="Second")
    await world.agent.sync_now()
    made = [e for e in world.sim.dump()["TimeEntries"].values() if e["ticketID"] == tid]
    assert [e["summaryNotes"] for e in made if e["summaryNotes"] in ("First", "Second")] == [
        "Second"
    ]
