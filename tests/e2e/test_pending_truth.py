"""A ticket shows "pending" exactly while something of it is left to send or decide."""

from __future__ import annotations

from agent.store.models import OverlayValue
from tests.e2e.conftest import World
from tests.e2e.test_sync_flow import first_sync, server_ticket


def overlay_rows(world: World, ticket_id: int) -> list[tuple[str, int | None]]:
    def run() -> list[tuple[str, int | None]]:
        return [
            (o.field, o.op_id)
            for o in OverlayValue.select().where(
                (OverlayValue.entity_type == "Tickets")
                & (OverlayValue.entity_key == str(ticket_id))
            )
        ]

    return world.agent.store.read(run)


async def _keep_theirs_after_partial_send(world: World) -> int:
    ids = await first_sync(world)
    tid = ids[1]
    lists = await world.agent.picklists("Tickets")
    server = server_ticket(world, tid)
    status = next(s for s in sorted(lists["status"]) if s != server["status"] and s != 5)
    mine, theirs = [p for p in sorted(lists["priority"]) if p != server["priority"]][:2]
    await world.agent.update_ticket(tid, status=status, priority=mine)
    world.sim.edit_ticket(tid, priority=theirs)
    await world.agent.sync_now()
    assert server_ticket(world, tid)["status"] == status  # the status went
    [conflict] = await world.agent.conflicts()
    assert conflict.field == "priority"
    # While the technician decides, only the field in conflict is still theirs to send.
    detail = await world.agent.ticket(tid)
    assert detail is not None
    assert [f for f, v in detail.fields.items() if v.pending] == ["priority"]
    assert await orphans(world) == []
    await world.agent.resolve_conflict(conflict.id, "theirs")
    await world.agent.sync_now()
    return tid


async def test_keeping_autotasks_value_after_a_partial_send_leaves_nothing_pending(
    world: World,
) -> None:
    tid = await _keep_theirs_after_partial_send(world)
    detail = await world.agent.ticket(tid)
    assert detail is not None
    assert [f for f, v in detail.fields.items() if v.pending] == []
    assert overlay_rows(world, tid) == []
    [summary] = [t for t in await world.agent.my_tickets() if t.id == tid]
    assert summary.pending_fields == ()
    assert (await world.agent.status()).pending == 0


async def orphans(world: World) -> list:
    from agent.sync import overlays

    return world.agent.store.read(lambda: overlays.find(world.agent.outbox))


async def test_no_capture_path_leaves_a_value_no_operation_owns(world: World) -> None:
    ids = await first_sync(world)
    tid, other = ids[0], ids[2]
    server = server_ticket(world, tid)
    lists = await world.agent.picklists("Tickets")
    status = next(s for s in sorted(lists["status"]) if s != server["status"] and s != 5)
    await world.agent.update_ticket(tid, status=status, title="Changed")
    await world.agent.update_ticket(tid, status=server["status"])  # changed back
    await world.agent.update_ticket(other, title="Another")
    await world.agent.add_note(other, "A note", title="Kept", publish=1, note_type=1)
    assert await orphans(world) == []
    await world.agent.sync_now()
    assert await orphans(world) == []


async def test_unsent_notes_and_time_entries_make_their_ticket_pending(world: World) -> None:
    ids = await first_sync(world)
    tid = ids[3]
    for n in range(20):
        await world.agent.add_note(tid, f"Note {n}", title="Visit", publish=1, note_type=1)
    resources = await world.agent.resources()
    role = resources[world.sim.technician_resource_id][1][0]
    await world.agent.log_time(
        ticketID=tid,
        dateWorked="2026-01-05T00:00:00Z",
        hoursWorked=1.0,
        summaryNotes="x",
        roleID=role,
    )
    [summary] = [t for t in await world.agent.my_tickets() if t.id == tid]
    assert summary.pending_fields == () and summary.pending_notes == 20
    assert summary.pending_time_entries == 1
    assert summary.has_pending
    others = [t for t in await world.agent.my_tickets() if t.id != tid]
    assert not any(t.has_pending for t in others)
    await world.agent.sync_now()
    await world.agent.sync_now()
    [summary] = [t for t in await world.agent.my_tickets() if t.id == tid]
    assert not summary.has_pending and summary.pending_notes == 0
    assert len([n for n in world.sim.dump()["TicketNotes"].values() if n["ticketID"] == tid]) >= 20


async def test_a_start_repairs_pending_values_no_operation_owns_and_says_so(
    tmp_path, caplog
) -> None:
    from agent.api.facade import Agent
    from tests.e2e.conftest import open_world, options

    async with open_world(tmp_path, "orphans", 40) as world:
        ids = await first_sync(world)
        tid, kept = ids[0], ids[1]
        done = await world.agent.update_ticket(tid, title="Sent and finished")
        await world.agent.sync_now()
        await world.agent.update_ticket(kept, title="Still to send")
        # What an older version left behind: a value of a finished operation, one of an
        # operation that does not exist, and one its live operation does not send.
        live = (await world.agent.ticket(kept)).fields["title"].op_id

        def plant() -> None:
            from agent.sync import localview

            localview.set_overlay("Tickets", str(tid), {"status": 1}, done.op_id, 1.0)
            localview.set_overlay("Tickets", str(tid), {"priority": 2}, 99999, 1.0)
            localview.set_overlay("Tickets", str(kept), {"dueDateTime": "x"}, live, 1.0)

        world.agent.store.write(plant)
        sim, clock = world.sim, world.clock
    caplog.set_level("WARNING", logger="agent.sync.overlays")
    agent = await Agent.open(options(sim, clock, tmp_path))
    try:
        assert overlay_rows_of(agent, tid) == []
        assert overlay_rows_of(agent, kept) == [("title", live)]
        repaired = await agent.audit_events(action="overlay_repaired")
        assert sorted(e.detail["field"] for e in repaired) == ["dueDateTime", "priority", "status"]
        assert len([r for r in caplog.records if "repaired" in r.getMessage()]) == 3
        assert (await agent.verify_audit()).ok
    finally:
        await agent.close()


def overlay_rows_of(agent, ticket_id: int) -> list[tuple[str, int | None]]:
    def run() -> list[tuple[str, int | None]]:
        return [
            (o.field, o.op_id)
            for o in OverlayValue.select().where(
                (OverlayValue.entity_type == "Tickets")
                & (OverlayValue.entity_key == str(ticket_id))
            )
        ]

    return agent.store.read(run)


async def test_a_field_changed_again_during_its_conflict_is_asked_once_and_wins(
    world: World,
) -> None:
    ids = await first_sync(world)
    tid = ids[1]
    lists = await world.agent.picklists("Tickets")
    server = server_ticket(world, tid)
    a, b = [p for p in sorted(lists["priority"]) if p != server["priority"]][:2]
    c = server["priority"]  # neither side's: the value it had before
    await world.agent.update_ticket(tid, priority=a)
    world.sim.edit_ticket(tid, priority=b)
    await world.agent.sync_now()
    [conflict] = await world.agent.conflicts()
    await world.agent.update_ticket(tid, priority=c)  # typed while the conflict is open
    [again] = await world.agent.conflicts()  # the same question, about the newer value
    assert (again.id, again.mine, again.theirs) == (conflict.id, c, b)
    [summary] = [t for t in await world.agent.my_tickets() if t.id == tid]
    assert summary.pending_fields == ("priority",)  # the newer change is still waiting
    await world.agent.resolve_conflict(conflict.id, "mine")
    detail = await world.agent.ticket(tid)
    assert detail is not None and detail.fields["priority"].value == c
    await world.agent.sync_now()
    assert server_ticket(world, tid)["priority"] == c  # sent, not asked about a second time
    assert await world.agent.conflicts() == []
    assert await orphans(world) == []
