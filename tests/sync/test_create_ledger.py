"""The create ledger's rules: the deadline it records is the one in force, adoption waits for an
identical create still in flight, and settled entries are forgotten with their operations."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.autotask.session import SendInfo
from agent.simulator.tenant import Actor
from agent.simulator.writes import write
from agent.store.models import CreateAttempt, OpState
from agent.sync import attempts, outcomes
from tests.sync.conftest import SHORT, socket_world
from tests.sync.test_exactly_once_creates import entries, log_time, op, synced, ticket_and_role

pytestmark = pytest.mark.socket


async def test_each_send_records_the_deadline_then_in_force(tmp_path: Path) -> None:
    async with socket_world(tmp_path) as world:
        ticket, role = await ticket_and_role(world)
        op_id = await log_time(world, ticket, role, "Deadline noted")
        await synced(world)
        row = world.agent.store.read(lambda: CreateAttempt.get(CreateAttempt.op_id == op_id))
        # The session's whole-call deadline: the pipeline's connect + read, times 1.1.
        deadline = (SHORT.connect + SHORT.read_default) * 1.1
        assert row.in_flight_until - row.last_sent_at == pytest.approx(deadline)
        assert row.server_id == entries(world, "Deadline noted")[0]["id"]


async def test_adoption_waits_while_an_identical_create_is_in_flight(tmp_path: Path) -> None:
    """A's POST landed but its answer has not come back yet; B, identical, lost its answer
    and never landed. B must not take A's record: it waits for A, then is sent again."""
    async with socket_world(tmp_path) as world:
        ticket, role = await ticket_and_role(world)
        a_id = await log_time(world, ticket, role, "In flight")
        b_id = await log_time(world, ticket, role, "In flight")
        agent, engine = world.agent, world.agent.engine
        assert engine is not None
        now = world.clock.now().timestamp()

        def both_sent() -> None:
            for claimed in agent.outbox.claim("test", 300.0, 10):
                agent.outbox.mark_sent(claimed.id)
            attempts.sent(op(world, a_id), now, SendInfo(deadline=600.0, skew=0.0))
            attempts.sent(op(world, b_id), now, SendInfo(deadline=0.5, skew=0.0))
            agent.outbox.release(b_id, now, "lost", "transient_network", outcome_unknown=True)

        agent.store.write(both_sent)
        fields = dict(op(world, a_id).fields)
        record_id = write(
            world.sim.tenant, "TimeEntries", "POST", fields, Actor(world.sim.technician_resource_id)
        )  # A's attempt, applied
        world.clock.advance(120)  # B's own attempt can no longer land; A's answer may still come
        assert not await engine.reconciler.settle(op(world, b_id))
        b = op(world, b_id)
        assert (b.state, b.outcome_unknown, b.next_attempt_at) == (OpState.PENDING, True, now + 600)

        a = op(world, a_id)
        agent.store.write(  # A's answer arrives
            lambda: outcomes.succeeded(
                agent.outbox,
                a,
                now=world.clock.now().timestamp(),
                server_id=record_id,
                server_values=None,
                sent=a.fields,
                reason="create accepted",
            )
        )
        world.clock.advance(600)
        assert await engine.reconciler.settle(op(world, b_id))  # not found: A owns that one
        await synced(world)
        landed = {e["id"] for e in entries(world, "In flight")}
        assert len(landed) == 2
        assert op(world, a_id).target_id == record_id
        assert {op(world, a_id).target_id, op(world, b_id).target_id} == landed


async def test_settled_entries_are_forgotten_after_retention(tmp_path: Path) -> None:
    async with socket_world(tmp_path) as world:
        ticket, role = await ticket_and_role(world)
        done_id = await log_time(world, ticket, role, "Old and done")
        await synced(world)
        waiting_id = await log_time(world, ticket, role, "Still waiting")
        world.sim.faults.reset(route="timeentries", verb="POST", count=1)
        await synced(world)
        cutoff = world.clock.now().timestamp() + 1

        def kept() -> set[int]:
            attempts.prune(cutoff)
            return {int(r.op_id) for r in CreateAttempt.select()}

        assert world.agent.store.write(kept) == {waiting_id}
        assert op(world, done_id).state is OpState.DONE
