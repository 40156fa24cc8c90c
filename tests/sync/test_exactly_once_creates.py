"""Creates land exactly once when their answer is lost, counted on the simulator itself.

Autotask has no idempotency keys: a create whose answer was lost is looked up by its natural key.
Each test drives the real agent against the simulator over a loopback socket, where the
`latency` fault is a late apply: the client's deadline passes, it gives up, and the server then
applies the write anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from agent.clock import FakeClock
from agent.queue.operation import Operation
from agent.resilience.timeouts import TimeoutSettings
from agent.simulator import Simulator, serve
from agent.store.models import OpState
from agent.sync.push import PushReport
from tests.sync.conftest import LATE, SHORT, ServerClock, World, _open, eventually

pytestmark = pytest.mark.socket

HOUR = 3600.0
DAY = 24 * HOUR
TICKETS = (
    10  # each test writes to one ticket; a small tenant makes every pull over the socket short
)


@asynccontextmanager
async def socket_world(
    tmp_path: Path, *, skew: float = 0.0, timeouts: TimeoutSettings = SHORT
) -> AsyncIterator[World]:
    """`tests.sync.conftest.socket_world` on a tenant of TICKETS tickets."""
    clock = FakeClock()
    sim = Simulator(seed="creates", tickets=TICKETS, clock=ServerClock(clock, skew))
    sim.limits.latency_enabled = False
    async with serve(sim) as base:
        agent = await _open(sim, clock, base, tmp_path, timeouts)
        world = World(sim, agent, clock, base, tmp_path, timeouts)
        try:
            yield world
        finally:
            await world.agent.close()


async def synced(world: World) -> None:
    report = await world.agent.sync_now()
    assert report is not None


async def ticket_and_role(world: World) -> tuple[int, int]:
    await synced(world)
    tickets = await world.agent.my_tickets()
    resources = await world.agent.resources()
    return tickets[0].id, resources[world.sim.technician_resource_id][1][0]


async def log_time(world: World, ticket: int, role: int, summary: str) -> int:
    result = await world.agent.log_time(
        ticketID=ticket,
        dateWorked="2026-01-05T00:00:00Z",
        hoursWorked=1.5,
        summaryNotes=summary,
        roleID=role,
    )
    assert result.op_id is not None
    return result.op_id


async def add_note(world: World, ticket: int, text: str) -> int:
    lists = await world.agent.picklists("TicketNotes")
    result = await world.agent.add_note(
        ticket,
        text,
        title="On site",
        note_type=min(lists["noteType"]),
        publish=min(lists["publish"]),
    )
    assert result.op_id is not None
    return result.op_id


def op(world: World, op_id: int) -> Operation:
    found = world.agent.store.read(lambda: world.agent.outbox.get(op_id))
    assert found is not None
    return found


def entries(world: World, summary: str) -> list[dict[str, Any]]:
    return world.records("TimeEntries", summaryNotes=summary)


async def test_a_create_the_server_applies_late_is_adopted_not_sent_again(
    tmp_path: Path,
) -> None:
    async with socket_world(tmp_path) as world:
        ticket, role = await ticket_and_role(world)
        op_id = await log_time(world, ticket, role, "Late apply")
        world.sim.faults.latency(LATE, route="timeentries", verb="POST", count=1)
        await synced(world)  # the POST times out on the client...
        assert entries(world, "Late apply") == []  # ...while the server still holds it
        assert op(world, op_id).outcome_unknown
        world.clock.advance(25)  # past a fixed 20 s grace; the write is still in flight
        await synced(world)
        await eventually(lambda: len(entries(world, "Late apply")) >= 1)  # applied late
        await asyncio.sleep(LATE)  # a second POST, had one been sent, has landed by now
        world.clock.advance(HOUR)
        await synced(world)
        landed = entries(world, "Late apply")
        assert len(landed) == 1
        done = op(world, op_id)
        assert (done.state, done.target_id) == (OpState.DONE, landed[0]["id"])


async def test_the_wait_for_a_late_apply_survives_a_restart(tmp_path: Path) -> None:
    async with socket_world(tmp_path) as world:
        ticket, role = await ticket_and_role(world)
        op_id = await log_time(world, ticket, role, "Across a restart")
        world.sim.faults.latency(LATE, route="timeentries", verb="POST", count=1)
        await synced(world)
        await world.reopen()  # the in-flight horizon is read back from the database
        world.clock.advance(25)
        await synced(world)
        await eventually(lambda: len(entries(world, "Across a restart")) >= 1)
        await asyncio.sleep(LATE)
        world.clock.advance(HOUR)
        await synced(world)
        landed = entries(world, "Across a restart")
        assert len(landed) == 1
        assert op(world, op_id).target_id == landed[0]["id"]


async def test_the_wait_follows_the_deadline_in_force_not_a_fixed_grace(tmp_path: Path) -> None:
    """With the adaptive read limit at its 90 s ceiling a call may run 95 s (x1.1): a POST
    whose connection broke is not believed lost, and so not sent again, before that has
    passed, and is sent again once it has."""
    slow = TimeoutSettings(read_default=90.0)
    async with socket_world(tmp_path, timeouts=slow) as world:
        ticket, role = await ticket_and_role(world)
        op_id = await log_time(world, ticket, role, "Broken connection")
        world.sim.faults.reset(route="timeentries", verb="POST", count=1)  # never applied
        await synced(world)
        assert op(world, op_id).outcome_unknown
        world.clock.advance(100)  # inside the deadline in force (95 s x 1.1) and its margin
        await synced(world)
        assert entries(world, "Broken connection") == []
        assert op(world, op_id).state is OpState.PENDING
        world.clock.advance(HOUR)  # no attempt can be in flight any more: send it again
        await synced(world)
        assert len(entries(world, "Broken connection")) == 1
        assert op(world, op_id).state is OpState.DONE


async def test_identical_creates_never_adopt_each_others_record(tmp_path: Path) -> None:
    """Two identical entries; one is answered, the other's server applies it late: each op
    ends with its own record."""
    async with socket_world(tmp_path) as world:
        ticket, role = await ticket_and_role(world)
        ids = [await log_time(world, ticket, role, "Twice the same") for _ in range(2)]
        world.sim.faults.latency(LATE, route="timeentries", verb="POST", count=1)
        await synced(world)
        await eventually(lambda: len(entries(world, "Twice the same")) == 2)
        world.clock.advance(HOUR)
        await synced(world)
        landed = {e["id"] for e in entries(world, "Twice the same")}
        assert len(landed) == 2
        targets = {op(world, i).target_id for i in ids}
        assert targets == landed  # one record each, none shared


async def test_identical_creates_do_not_lose_one_whose_post_never_landed(tmp_path: Path) -> None:
    async with socket_world(tmp_path) as world:
        ticket, role = await ticket_and_role(world)
        ids = [await log_time(world, ticket, role, "Same again") for _ in range(2)]
        world.sim.faults.reset(route="timeentries", verb="POST", count=1)
        await synced(world)
        assert len(entries(world, "Same again")) == 1
        world.clock.advance(HOUR)
        await synced(world)
        landed = {e["id"] for e in entries(world, "Same again")}
        assert len(landed) == 2
        assert {op(world, i).target_id for i in ids} == landed


async def test_identical_creates_settled_concurrently_take_one_record_each(
    tmp_path: Path,
) -> None:
    async with socket_world(tmp_path) as world:
        ticket, role = await ticket_and_role(world)
        ids = [await log_time(world, ticket, role, "Both lost") for _ in range(2)]
        world.sim.faults.drop_response(route="timeentries", verb="POST", count=2)
        engine = world.agent.engine
        assert engine is not None
        batches = await world.agent.store.awrite(engine.dispatcher.next_batches)
        await engine.pusher.push_batch([o for b in batches for o in b.ops], PushReport())
        assert len(entries(world, "Both lost")) == 2  # both landed, both answers were lost
        world.clock.advance(HOUR)
        ops = [op(world, i) for i in ids]
        assert all(o.outcome_unknown for o in ops)
        await asyncio.gather(*(engine.reconciler.settle(o) for o in ops))
        landed = {e["id"] for e in entries(world, "Both lost")}
        assert {op(world, i).target_id for i in ids} == landed


async def test_a_note_queued_for_days_is_found_not_sent_again(tmp_path: Path) -> None:
    async with socket_world(tmp_path) as world:
        ticket, _ = await ticket_and_role(world)
        op_id = await add_note(world, ticket, "Written on a site without signal")
        world.clock.advance(8 * DAY)  # queued (offline) for eight days
        world.sim.faults.latency(LATE, route="tickets/*/notes", verb="POST", count=1)
        await synced(world)
        match = {"description": "Written on a site without signal"}
        await eventually(lambda: len(world.records("TicketNotes", **match)) == 1)
        world.clock.advance(HOUR)
        await synced(world)
        notes = world.records("TicketNotes", **match)
        assert len(notes) == 1
        assert op(world, op_id).target_id == notes[0]["id"]


async def test_the_note_window_follows_the_servers_clock(tmp_path: Path) -> None:
    """The server's clock is 45 minutes behind ours: the record's createDateTime is earlier
    than our send by that much, and the skew measured from its Date header finds it."""
    async with socket_world(tmp_path, skew=-45 * 60) as world:
        ticket, _ = await ticket_and_role(world)
        client = world.agent.client
        assert client is not None and client.clock_skew is not None
        assert client.clock_skew == pytest.approx(-45 * 60, abs=2)
        op_id = await add_note(world, ticket, "Clocks disagree")
        world.sim.faults.latency(LATE, route="tickets/*/notes", verb="POST", count=1)
        await synced(world)
        match = {"description": "Clocks disagree"}
        await eventually(lambda: len(world.records("TicketNotes", **match)) == 1)
        world.clock.advance(HOUR)
        await synced(world)
        notes = world.records("TicketNotes", **match)
        assert len(notes) == 1
        assert op(world, op_id).target_id == notes[0]["id"]


async def _lost_then_landed(
    world: World,
    route: str,
    capture_a: Callable[[], Awaitable[int]],
    capture_b: Callable[[], Awaitable[int]],
) -> tuple[int, int]:
    """A's POST never lands; then B's lands with its answer lost; then, past every deadline,
    A is settled before B (the order in which A would take B's record if it could)."""
    engine = world.agent.engine
    assert engine is not None
    ids = []
    for capture, fault in (
        (capture_a, world.sim.faults.reset),
        (capture_b, world.sim.faults.drop_response),
    ):
        op_id = await capture()
        fault(route=route, verb="POST", count=1)
        batches = await world.agent.store.awrite(engine.dispatcher.next_batches)
        ops = [o for batch in batches for o in batch.ops]
        others = [o for o in ops if o.id != op_id]  # A, when B is sent: left as it was
        later = world.clock.now().timestamp() + HOUR
        for o in others:
            world.agent.store.write(
                lambda o=o, later=later: world.agent.outbox.release(
                    o.id, later, o.last_error, o.error_category, outcome_unknown=True
                )
            )
        await engine.pusher.push_batch([o for o in ops if o.id == op_id], PushReport())
        ids.append(op_id)
    world.clock.advance(HOUR)
    for op_id in ids:
        await engine.reconciler.settle(op(world, op_id))
    for _ in range(2):
        await synced(world)
    return ids[0], ids[1]


async def test_entries_that_differ_only_in_role_are_never_taken_for_each_other(
    tmp_path: Path,
) -> None:
    """B differs from A in its role only: A must not adopt B's record (B would then be sent
    again, and A's role lost)."""
    async with socket_world(tmp_path) as world:
        ticket, _ = await ticket_and_role(world)
        roles = (await world.agent.resources())[world.sim.technician_resource_id][1]
        assert len(roles) >= 2
        a, b = await _lost_then_landed(
            world,
            "timeentries",
            lambda: log_time(world, ticket, roles[0], "Replaced fan"),
            lambda: log_time(world, ticket, roles[1], "Replaced fan"),
        )
        landed = entries(world, "Replaced fan")
        assert sorted(e["roleID"] for e in landed) == sorted(roles[:2])
        by_role = {e["roleID"]: e["id"] for e in landed}
        assert op(world, a).target_id == by_role[roles[0]]
        assert op(world, b).target_id == by_role[roles[1]]


async def test_notes_that_differ_only_in_visibility_are_never_taken_for_each_other(
    tmp_path: Path,
) -> None:
    async with socket_world(tmp_path) as world:
        ticket, _ = await ticket_and_role(world)
        lists = await world.agent.picklists("TicketNotes")
        publish = sorted(lists["publish"])
        assert len(publish) >= 2

        async def note(level: int) -> int:
            result = await world.agent.add_note(
                ticket,
                "Same words",
                title="On site",
                note_type=min(lists["noteType"]),
                publish=level,
            )
            assert result.op_id is not None
            return result.op_id

        ids = await _lost_then_landed(
            world, "tickets/*/notes", lambda: note(publish[0]), lambda: note(publish[1])
        )
        notes = world.records("TicketNotes", description="Same words")
        assert sorted(n["publish"] for n in notes) == publish[:2]
        by_level = {n["publish"]: n["id"] for n in notes}
        assert [op(world, i).target_id for i in ids] == [by_level[p] for p in publish[:2]]


@pytest.mark.parametrize(
    ("step", "asleep"), [(600.0, False), (-600.0, False), (7200.0, False), (7200.0, True)]
)
async def test_a_step_of_our_wall_clock_before_a_lost_create_does_not_send_it_twice(
    tmp_path: Path, step: float, asleep: bool
) -> None:
    """Our wall clock moves apart from our monotonic clock after the last answer measured the
    server's clock and before a note's answer is lost: a step (set by hand, a time sync; the
    server's clock did not move) or a sleep that monotonic time skipped (the server's clock
    moved as ours did). Either way the note is found, not sent again."""
    async with socket_world(tmp_path) as world:
        ticket, _ = await ticket_and_role(world)
        op_id = await add_note(world, ticket, "After the clock jumped")
        world.clock.step_wall(step)
        if not asleep:
            world.sim.clock.skew -= step  # the server's clock did not jump
        world.sim.faults.drop_response(route="tickets/*/notes", verb="POST", count=1)
        await synced(world)
        for _ in range(3):
            world.clock.advance(HOUR)
            await synced(world)
        notes = world.records("TicketNotes", description="After the clock jumped")
        assert len(notes) == 1
        assert op(world, op_id).target_id == notes[0]["id"]


@pytest.mark.parametrize("step", [-300.0, 900.0, -7200.0, 2 * DAY])
async def test_a_step_of_the_servers_clock_before_a_lost_create_does_not_send_it_twice(
    tmp_path: Path, step: float
) -> None:
    """The server's clock steps after its last answer measured it and before a note's answer
    is lost: the record is stamped on the stepped clock, and is still found."""
    async with socket_world(tmp_path) as world:
        ticket, _ = await ticket_and_role(world)
        op_id = await add_note(world, ticket, "After the server's clock jumped")
        world.sim.clock.skew += step
        world.sim.faults.drop_response(route="tickets/*/notes", verb="POST", count=1)
        await synced(world)
        for _ in range(3):
            world.clock.advance(HOUR)
            await synced(world)
        notes = world.records("TicketNotes", description="After the server's clock jumped")
        assert len(notes) == 1
        assert op(world, op_id).target_id == notes[0]["id"]
