"""Several agents sharing one Redis outbox: no operation is handed out twice, and a dead worker's
claims come back when its lease runs out."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
import redis

from agent.clock import FakeClock
from agent.queue import NewOperation
from agent.queue.redis_backend import RedisBackend
from agent.store.models import OpKind, OpState

pytestmark = pytest.mark.redis


@pytest.fixture
def prefix() -> Iterator[str]:
    p = f"test:{uuid.uuid4().hex}"
    yield p
    client = redis.Redis(host="127.0.0.1", port=6379, db=14)
    keys = list(client.scan_iter(match=f"{p}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def _agent(prefix: str, clock: FakeClock) -> RedisBackend:
    return RedisBackend("redis://127.0.0.1:6379/14", prefix, clock)


def test_concurrent_agents_never_claim_the_same_operation(
    prefix: str, fake_clock: FakeClock
) -> None:
    agents = [_agent(prefix, fake_clock) for _ in range(3)]
    try:
        made = agents[0].enqueue_many(
            [NewOperation(OpKind.UPDATE, "Ticket", {"n": i}, target_id=i) for i in range(300)]
        )
        claimed: list[list[int]] = [[] for _ in agents]

        def work(i: int) -> None:
            while got := agents[i].claim(f"agent-{i}", 60, limit=7):
                claimed[i].extend(op.id for op in got)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(agents))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        every = [op_id for ids in claimed for op_id in ids]
        assert sorted(every) == sorted(op.id for op in made)
    finally:
        for a in agents:
            a.close()


def test_a_dead_agents_claims_return_to_another_agent_after_the_lease(
    prefix: str, fake_clock: FakeClock
) -> None:
    dead, alive = _agent(prefix, fake_clock), _agent(prefix, fake_clock)
    try:
        op = alive.enqueue(NewOperation(OpKind.UPDATE, "Ticket", {"status": 5}, target_id=1))
        assert [o.id for o in dead.claim("dead", 30)] == [op.id]
        dead.mark_sent(op.id)
        dead.close()  # the process is gone; its lease is all that is left
        assert alive.claim("alive", 30) == []
        fake_clock.advance(31)
        (back,) = alive.recover_expired_leases()
        assert (back.id, back.state, back.outcome_unknown) == (op.id, OpState.PENDING, True)
        assert [o.id for o in alive.claim("alive", 30)] == [op.id]
    finally:
        alive.close()
