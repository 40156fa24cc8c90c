"""The day's service calls and appointments: pulled for the technician, cached for offline use,
completed offline through the outbox, sent exactly once, merged with the dispatcher's edits."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agent.api.facade import Agent
from agent.api.validation import EditRejected
from tests.e2e.conftest import World, open_world, options

DAY = 86400.0


async def synced(world: World) -> None:
    report = await world.agent.sync_now()
    assert report is not None and report.error is None, report


def dispatched_calls(world: World) -> set[int]:
    """The calls dispatched to the technician, from the simulator's own records."""
    recs = world.sim.dump()
    me = world.sim.technician_resource_id
    links = {
        r["serviceCallTicketID"]
        for r in recs["ServiceCallTicketResources"].values()
        if r["resourceID"] == me
    }
    return {
        recs["ServiceCallTickets"][link]["serviceCallID"]
        for link in links
        if link in recs["ServiceCallTickets"]
    }


def index_rows(data_dir: Path, entity_type: str) -> int:
    path = next(data_dir.glob("profiles/*/agent.sqlite3"))
    conn = sqlite3.connect(path)
    try:
        (n,) = conn.execute(
            "SELECT COUNT(*) FROM visit_index WHERE entity_type = ?", (entity_type,)
        ).fetchone()
    finally:
        conn.close()
    return int(n)


async def test_today_lists_the_calls_dispatched_to_me_with_company_and_tickets(world: World):
    await synced(world)
    entries = await world.agent.today(days=14)
    calls = [e for e in entries if e.kind == "service_call"]
    assert {c.id for c in calls} == dispatched_calls(world)
    recs = world.sim.dump()
    for call in calls:
        server = recs["ServiceCalls"][call.id]
        assert call.company == recs["Companies"][server["companyID"]]["companyName"]
        linked = {
            link["ticketID"]
            for link in recs["ServiceCallTickets"].values()
            if link["serviceCallID"] == call.id
        }
        assert {t.id for t in call.tickets} == linked
        assert all(t.number for t in call.tickets)
        assert call.starts_at is not None and call.ends_at is not None
        assert call.ends_at > call.starts_at
    appointments = [e for e in entries if e.kind == "appointment"]
    assert {a.title for a in appointments} == {"Team meeting", "Safety training"}
    assert [e.starts_at for e in entries] == sorted(e.starts_at for e in entries)
    assert index_rows(world.data_dir, "ServiceCalls") == len(calls)


async def test_only_today_is_shown_when_one_day_is_asked(world: World):
    await synced(world)
    today = await world.agent.today(days=1)
    later = await world.agent.today(days=14)
    assert today and len(today) < len(later)
    start = min(e.starts_at or 0 for e in today)
    assert all((e.starts_at or 0) - start < DAY for e in today)


async def test_the_schedule_is_read_from_the_cache_after_a_restart_offline(tmp_path: Path):
    async with open_world(tmp_path, "visit", 40) as world:
        await synced(world)
        before = await world.agent.today(days=14)
        await world.agent.set_work_offline(True)
        sim, clock = world.sim, world.clock
    sim.faults.reset(route="*")  # Autotask cannot be reached at all now
    agent = await Agent.open(options(sim, clock, tmp_path))
    try:
        assert before and await agent.today(days=14) == before
    finally:
        await agent.close()


async def test_a_call_marked_complete_offline_is_pending_then_sent_exactly_once(world: World):
    await synced(world)
    call = next(e for e in await world.agent.today(days=14) if e.kind == "service_call")
    await world.agent.set_work_offline(True)
    result = await world.agent.complete_service_call(call.id)
    assert result.op_id is not None
    shown = next(e for e in await world.agent.today(days=14) if e.id == call.id)
    assert shown.complete and shown.pending
    assert world.sim.dump()["ServiceCalls"][call.id]["isComplete"] == 0
    (queued,) = (await world.agent.queue_page()).items
    assert queued.description == f"Mark service call {call.id} complete"
    events = await world.agent.audit_events(entity_type="ServiceCalls", entity_id=str(call.id))
    assert "edit_captured" in [e.action for e in events]
    await world.agent.set_work_offline(False)
    # The PATCH lands but its answer is lost: the next round must not write it again.
    world.sim.faults.drop_response(route="servicecalls", verb="PATCH", count=1)
    lost = await world.agent.sync_now()
    assert lost is not None and lost.push.failed == 1, lost
    written = world.sim.dump()["ServiceCalls"][call.id]
    assert written["isComplete"] == 1
    world.clock.advance(600)
    await synced(world)
    await synced(world)
    server = world.sim.dump()["ServiceCalls"][call.id]
    # Another write would have moved the record's change marker with the later clock.
    assert server["lastModifiedDateTime"] == written["lastModifiedDateTime"]
    shown = next(e for e in await world.agent.today(days=14) if e.id == call.id)
    assert shown.complete and not shown.pending
    assert (await world.agent.queue_page(states=None)).items[0].state == "done"


async def test_the_dispatcher_moving_a_call_i_completed_keeps_both_changes(world: World):
    await synced(world)
    call = next(e for e in await world.agent.today(days=14) if e.kind == "service_call")
    await world.agent.set_work_offline(True)
    await world.agent.complete_service_call(call.id)
    from agent.simulator import writes
    from agent.simulator.tenant import Actor

    writes.write(
        world.sim.tenant,
        "ServiceCalls",
        "PATCH",
        {"id": call.id, "description": "Moved by the dispatcher"},
        Actor(world.sim.dispatcher_resource_id),
    )
    await world.agent.set_work_offline(False)
    await synced(world)
    server = world.sim.dump()["ServiceCalls"][call.id]
    assert server["isComplete"] == 1 and server["description"] == "Moved by the dispatcher"
    assert await world.agent.conflicts() == []


async def test_completing_a_call_not_in_the_schedule_is_refused_and_queues_nothing(world: World):
    await synced(world)
    with pytest.raises(EditRejected):
        await world.agent.complete_service_call(999_999)
    assert (await world.agent.queue_page()).total == 0
