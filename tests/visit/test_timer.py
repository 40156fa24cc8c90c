"""The stopwatch: started and stopped on a ticket, kept across restarts and sleeps, one at a time,
and turned into exactly one time entry in Autotask once the technician confirms it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.api.facade import Agent
from agent.api.validation import EditRejected
from agent.visit import TimerRefused
from tests.e2e.conftest import World, open_world, options

HOUR = 3600.0


async def my_tickets(world: World) -> list[int]:
    report = await world.agent.sync_now()
    assert report is not None and report.error is None, report
    return [t.id for t in await world.agent.my_tickets()]


def stored_runs(data_dir: Path) -> list[tuple[int, float, float | None]]:
    """The stopwatch rows as the database file holds them."""
    path = next(data_dir.glob("profiles/*/agent.sqlite3"))
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT ticket_id, started_at, stopped_at FROM stopwatch_run ORDER BY id"
        ).fetchall()
    finally:
        conn.close()
    return [(int(t), float(s), e) for t, s, e in rows]


async def actions(agent: Agent, ticket_id: int) -> list[str]:
    events = await agent.audit_events(entity_type="Tickets", entity_id=str(ticket_id), limit=50)
    return sorted(e.action for e in events if e.action.startswith("timer_"))


def server_entries(world: World, summary: str) -> list[dict]:
    return [e for e in world.sim.dump()["TimeEntries"].values() if e["summaryNotes"] == summary]


async def test_a_started_timer_is_stored_with_its_wall_clock_start_and_audited(world: World):
    tid = (await my_tickets(world))[0]
    started = world.clock.now().timestamp()
    view = await world.agent.start_timer(tid)
    assert view.ticket_id == tid and view.started_at == started
    assert view.ticket_number  # said by its number, as everywhere else
    assert stored_runs(world.data_dir) == [(tid, started, None)]
    assert await actions(world.agent, tid) == ["timer_started"]
    world.clock.advance(125)
    state = await world.agent.timer()
    assert state.running is not None
    assert state.running.elapsed(world.clock.now().timestamp()) == 125


async def test_a_running_timer_survives_a_restart_with_its_start(tmp_path: Path):
    async with open_world(tmp_path, "timer", 40) as world:
        tid = (await my_tickets(world))[0]
        started = (await world.agent.start_timer(tid)).started_at
        clock, sim = world.clock, world.sim
    clock.advance(2 * HOUR)
    agent = await Agent.open(options(sim, clock, tmp_path))
    try:
        state = await agent.timer()
        assert state.running is not None
        assert (state.running.ticket_id, state.running.started_at) == (tid, started)
        assert state.running.elapsed(clock.now().timestamp()) == 2 * HOUR
    finally:
        await agent.close()


async def test_a_sleep_of_the_laptop_counts_in_the_elapsed_time(world: World):
    """Asleep, the monotonic clock stops but the wall clock moves on: the stopwatch follows
    the wall clock."""
    tid = (await my_tickets(world))[0]
    await world.agent.start_timer(tid)
    world.clock.advance(600)
    world.clock.step_wall(3 * HOUR)  # the lid was closed for three hours
    state = await world.agent.timer()
    assert state.running is not None
    assert state.running.elapsed(world.clock.now().timestamp()) == 3 * HOUR + 600
    draft = await world.agent.stop_timer()
    assert draft.seconds == 3 * HOUR + 600


async def test_one_timer_runs_at_a_time_and_switching_stops_the_first(world: World):
    first, second = (await my_tickets(world))[:2]
    await world.agent.start_timer(first)
    world.clock.advance(HOUR)
    with pytest.raises(TimerRefused, match="already running"):
        await world.agent.start_timer(second)
    state = await world.agent.timer()
    assert state.running is not None and state.running.ticket_id == first and not state.drafts
    again = await world.agent.start_timer(first)  # the same ticket: the first start stays
    assert again.started_at == state.running.started_at
    switched = await world.agent.start_timer(second, switch=True)
    state = await world.agent.timer()
    assert state.running == switched and switched.ticket_id == second
    assert [(d.ticket_id, d.seconds) for d in state.drafts] == [(first, HOUR)]
    assert [t for t, _, stopped in stored_runs(world.data_dir) if stopped is None] == [second]
    assert await actions(world.agent, first) == ["timer_started", "timer_stopped"]


async def test_the_database_itself_refuses_a_second_running_timer(world: World):
    first, second = (await my_tickets(world))[:2]
    await world.agent.start_timer(first)
    path = next(world.data_dir.glob("profiles/*/agent.sqlite3"))
    conn = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(
                "INSERT INTO stopwatch_run (ticket_id, started_at) VALUES (?, 0)", (second,)
            )
    finally:
        conn.close()


async def test_a_timer_starts_only_on_a_ticket_in_the_list(world: World):
    await my_tickets(world)
    with pytest.raises(TimerRefused, match="not in your list"):
        await world.agent.start_timer(999_999_999)
    with pytest.raises(TimerRefused, match="no timer is running"):
        await world.agent.stop_timer()
    assert stored_runs(world.data_dir) == []


async def test_a_draft_takes_role_and_work_type_of_the_last_entry_logged(world: World):
    tid = (await my_tickets(world))[0]
    me = world.sim.technician_resource_id
    roles = (await world.agent.resources())[me][1]
    codes = sorted((await world.agent.picklists("TimeEntries"))["billingCodeID"])
    role, code = roles[-1], codes[-1]
    await world.agent.log_time(
        ticketID=tid,
        dateWorked="2026-01-05T00:00:00Z",
        hoursWorked=0.5,
        summaryNotes="Earlier work",
        roleID=role,
        billingCodeID=code,
    )
    await world.agent.start_timer(tid)
    world.clock.advance(90 * 60)
    draft = await world.agent.stop_timer()
    assert (draft.role_id, draft.billing_code_id) == (role, code)
    assert draft.seconds == 90 * 60 and not draft.long


async def test_without_an_entry_logged_here_the_newest_in_autotask_gives_them(world: World):
    ids = await my_tickets(world)
    me = world.sim.technician_resource_id
    mine = [
        e
        for e in world.sim.dump()["TimeEntries"].values()
        if e["resourceID"] == me and e["ticketID"] in ids
    ]
    assert mine, "the seed has time entries of the technician"
    newest = max(mine, key=lambda e: (e["startDateTime"], e["id"]))
    await world.agent.start_timer(ids[0])
    world.clock.advance(60)
    draft = await world.agent.stop_timer()
    assert (draft.role_id, draft.billing_code_id) == (newest["roleID"], newest["billingCodeID"])


async def test_a_confirmed_draft_becomes_exactly_one_time_entry_in_autotask(world: World):
    tid = (await my_tickets(world))[0]
    start = world.clock.now().replace(microsecond=0)
    await world.agent.start_timer(tid)
    world.clock.advance(95 * 60)
    draft = await world.agent.stop_timer()
    result = await world.agent.log_timer(draft.id, summary="Replaced the PSU")
    assert result.op_id is not None
    assert (await world.agent.timer()).drafts == ()
    assert stored_runs(world.data_dir) == []
    await world.agent.sync_now()
    await world.agent.sync_now()
    entries = server_entries(world, "Replaced the PSU")
    assert len(entries) == 1
    entry = entries[0]
    end = start + timedelta(minutes=95)
    assert entry["ticketID"] == tid
    assert entry["resourceID"] == world.sim.technician_resource_id
    assert (entry["roleID"], entry["billingCodeID"]) == (draft.role_id, draft.billing_code_id)
    assert parse(entry["startDateTime"]) == start
    assert parse(entry["endDateTime"]) == end
    assert entry["hoursWorked"] == pytest.approx(95 / 60, abs=1e-3)
    assert (await world.agent.status()).pending == 0
    assert await actions(world.agent, tid) == ["timer_logged", "timer_started", "timer_stopped"]
    logged = await world.agent.audit_events(action="timer_logged", limit=5)
    assert [e.op_id for e in logged] == [result.op_id]
    assert (await world.agent.verify_audit()).ok


async def test_a_timer_left_over_ten_hours_is_logged_only_when_confirmed(world: World):
    tid = (await my_tickets(world))[0]
    await world.agent.start_timer(tid)
    world.clock.advance(11 * HOUR)
    draft = await world.agent.stop_timer()
    assert draft.long
    queued = (await world.agent.status()).pending
    with pytest.raises(TimerRefused, match="more than 10 hours"):
        await world.agent.log_timer(draft.id, summary="Forgot to stop")
    assert (await world.agent.timer()).drafts == (draft,)
    assert (await world.agent.status()).pending == queued
    await world.agent.log_timer(draft.id, summary="Forgot to stop", confirm_long=True)
    await world.agent.sync_now()
    entries = server_entries(world, "Forgot to stop")
    assert len(entries) == 1 and entries[0]["hoursWorked"] == pytest.approx(11)


async def test_a_corrected_end_under_ten_hours_needs_no_confirmation(world: World):
    tid = (await my_tickets(world))[0]
    start = world.clock.now().replace(microsecond=0)
    await world.agent.start_timer(tid)
    world.clock.advance(30 * HOUR)  # over a weekend: more than a time entry may cover
    draft = await world.agent.stop_timer()
    with pytest.raises(EditRejected, match="at most 24 hours"):
        await world.agent.log_timer(draft.id, summary="Weekend", confirm_long=True)
    end = start + timedelta(hours=2)
    await world.agent.log_timer(draft.id, summary="Weekend", end=end)
    await world.agent.sync_now()
    entries = server_entries(world, "Weekend")
    assert [parse(e["endDateTime"]) for e in entries] == [end]


async def test_a_refused_entry_keeps_the_draft_and_queues_nothing(world: World):
    tid = (await my_tickets(world))[0]
    await world.agent.start_timer(tid)
    world.clock.advance(600)
    draft = await world.agent.stop_timer()
    with pytest.raises(EditRejected, match="summaryNotes"):
        await world.agent.log_timer(draft.id, summary="  ")
    assert (await world.agent.timer()).drafts == (draft,)
    assert (await world.agent.status()).pending == 0


async def test_discarding_a_draft_is_audited_and_sends_nothing(world: World):
    tid = (await my_tickets(world))[0]
    before = len(world.sim.dump()["TimeEntries"])
    await world.agent.start_timer(tid)
    world.clock.advance(600)
    draft = await world.agent.stop_timer()
    gone = await world.agent.discard_timer(draft.id)
    assert gone == draft
    assert (await world.agent.timer()).drafts == ()
    assert stored_runs(world.data_dir) == []
    await world.agent.sync_now()
    assert len(world.sim.dump()["TimeEntries"]) == before
    assert await actions(world.agent, tid) == [
        "timer_discarded",
        "timer_started",
        "timer_stopped",
    ]
    with pytest.raises(TimerRefused, match="no stopped timer"):
        await world.agent.discard_timer(draft.id)


async def test_a_draft_id_is_never_given_again(world: World):
    """A retried `log --draft N` must not log a later timer that got the same number."""
    tid = (await my_tickets(world))[0]
    seen: list[int] = []
    for end in ("log", "discard", "log"):
        await world.agent.start_timer(tid)
        world.clock.advance(600)
        draft = await world.agent.stop_timer()
        assert draft.id not in seen
        seen.append(draft.id)
        if end == "log":
            await world.agent.log_timer(draft.id, summary=f"Timed {len(seen)}")
        else:
            await world.agent.discard_timer(draft.id)
        assert stored_runs(world.data_dir) == []  # nothing left to number after
    await world.agent.start_timer(tid)
    world.clock.advance(600)
    later = await world.agent.stop_timer()
    assert later.id > max(seen)
    with pytest.raises(TimerRefused, match="no stopped timer"):
        await world.agent.log_timer(seen[0], summary="Timed 1")  # the retry: refused
    assert (await world.agent.timer()).drafts == (later,)


async def test_a_clock_set_back_before_the_stop_is_said_and_the_end_is_asked(world: World):
    tid = (await my_tickets(world))[0]
    started = (await world.agent.start_timer(tid)).started_at
    world.clock.advance(20 * 60)
    world.clock.step_wall(-2 * HOUR)  # the clock was set back while it ran
    draft = await world.agent.stop_timer()
    assert draft.stopped_at == draft.started_at == started  # not an end before the start
    assert draft.clock_set_back == 2 * HOUR - 20 * 60
    assert draft.needs_end
    stopped = await world.agent.audit_events(action="timer_stopped", limit=5)
    assert stopped[0].detail.get("clock_set_back") == "1:40:00"
    with pytest.raises(TimerRefused, match="clock") as refused:
        await world.agent.log_timer(draft.id, summary="Timed through a clock change")
    assert [p.field for p in refused.value.problems] == ["endDateTime"]
    assert (await world.agent.timer()).drafts == (draft,)  # kept as it was
    end = datetime.fromtimestamp(started, UTC) + timedelta(minutes=20)
    await world.agent.log_timer(draft.id, summary="Timed through a clock change", end=end)
    await world.agent.sync_now()
    (entry,) = server_entries(world, "Timed through a clock change")
    assert parse(entry["endDateTime"]) == end


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
