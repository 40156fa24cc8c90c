"""The Redis backend's fast enqueue stores exactly what the shared rules store, writes nothing when
the rules must decide, and survives a lost connection, an unloaded script and several threads."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
import redis

from agent.clock import FakeClock
from agent.queue import NewOperation, Operation, coalesce
from agent.queue import redis_fast as fast
from agent.queue.errors import QueueFullError
from agent.queue.operation import OpQuery
from agent.queue.redis_backend import RedisBackend
from agent.store.models import OpKind, OpState, Priority

pytestmark = pytest.mark.redis


class RulesOnly(RedisBackend):
    """The same backend with the fast path switched off: every enqueue runs the shared rules."""

    def _enqueue_fast(self, news: Sequence[NewOperation], fps: list[str]) -> list[Operation] | None:
        return None


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    c = redis.Redis(host="127.0.0.1", port=6379, db=14)
    yield c
    c.close()


Make = Callable[..., RedisBackend]


@pytest.fixture
def make(client: redis.Redis, fake_clock: FakeClock) -> Iterator[Make]:
    boxes: list[RedisBackend] = []

    def factory(kind: type[RedisBackend] = RedisBackend, **kwargs: Any) -> RedisBackend:
        box = kind(client, f"test:{uuid.uuid4().hex}", fake_clock, **kwargs)
        boxes.append(box)
        return box

    yield factory
    for box in boxes:
        box.close()
        keys = list(client.scan_iter(match=f"{box.p}:*", count=1000))
        if keys:
            client.delete(*keys)


def update(target: int, **changes: Any) -> NewOperation:
    fields = changes.pop("fields", {"status": 5, "title": f"Ticket {target}"})
    return NewOperation(OpKind.UPDATE, "Ticket", fields, {"status": 1}, target_id=target, **changes)


# Every shape the fast path takes: kinds, priorities, deadlines, background work, temp ids,
# parents, non-ASCII text.
VARIED = [
    update(1),
    update(2, priority=Priority.LOW, deadline_at=1_700_000_123.25),
    update(3, technician=False, priority=Priority.BACKGROUND),
    NewOperation(OpKind.CREATE, "Ticket", {"title": "Café ☕"}, temp_id="t-1"),
    NewOperation(OpKind.CREATE, "TicketNote", {"description": "a"}, parent_id=7),
    NewOperation(OpKind.CREATE, "TimeEntry", {"hoursWorked": 1.5}),
    NewOperation(OpKind.DELETE, "TimeEntry", {}, target_id=4, priority=Priority.CRITICAL),
    NewOperation(OpKind.UPDATE, "TicketNote", {"title": "x"}, target_id=5, parent_id=7),
]
BATCH = [update(10 + i, priority=Priority(i % 5), deadline_at=float(i) or None) for i in range(6)]
BATCH += [
    NewOperation(OpKind.CREATE, "Ticket", {"title": f"n{i}"}, temp_id=f"b-{i}") for i in (1, 2)
]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def dump(client: redis.Redis, prefix: str) -> dict[str, Any]:
    """Everything under `prefix`, with each operation's history as one parsed list (the fast path
    keeps the first event in the operation's hash, the rules in the history list)."""
    out: dict[str, Any] = {}
    histories: dict[str, list[Any]] = {}
    for raw in client.scan_iter(match=f"{prefix}:*", count=1000):
        key = _text(raw)[len(prefix) + 1 :]
        kind = _text(client.type(raw))
        if kind == "hash":
            h = {_text(k): _text(v) for k, v in client.hgetall(raw).items()}
            if key.startswith("op:") and "enqueued" in h:
                histories.setdefault(key[3:], []).insert(0, json.loads(h.pop("enqueued")))
            out[key] = h
        elif kind == "zset":
            scored: Any = client.zrange(raw, 0, -1, withscores=True)
            out[key] = [(_text(m), s) for m, s in scored]
        elif kind == "set":
            out[key] = sorted(_text(m) for m in client.smembers(raw))
        elif kind == "list":
            assert key.startswith("hist:")
            histories.setdefault(key[5:], []).extend(
                json.loads(e) for e in client.lrange(raw, 0, -1)
            )
        else:
            out[key] = _text(client.get(raw))
    out["histories"] = histories
    return out


def test_the_fast_path_stores_what_the_rules_store(client: redis.Redis, make: Make) -> None:
    quick, rules = make(), make(RulesOnly)
    made = {
        box: [box.enqueue(new) for new in VARIED] + box.enqueue_many(BATCH)
        for box in (quick, rules)
    }
    assert made[quick] == made[rules]
    assert all(op.state is OpState.PENDING for op in made[quick])
    assert dump(client, quick.p) == dump(client, rules.p)
    for op in made[quick]:
        assert quick.get(op.id) == op
        assert quick.history(op.id) == rules.history(op.id)


def test_what_the_fast_path_stored_goes_on_by_the_rules_like_the_rest(
    client: redis.Redis, make: Make, fake_clock: FakeClock
) -> None:
    quick, rules = make(), make(RulesOnly)
    for box in (quick, rules):
        for new in VARIED:
            box.enqueue(new)
        box.enqueue(update(1, fields={"title": "merged"}))  # coalesces into the first
        box.enqueue(NewOperation(OpKind.DELETE, "Ticket", {}, temp_id="t-1"))  # cancels the create
        box.enqueue(update(2, priority=Priority.LOW, deadline_at=1_700_000_123.25))  # duplicate
        assert [e.action for e in box.history(1)] == ["enqueued", "coalesced"]
        claimed = box.claim("w", 60, limit=3)
        box.acknowledge_many({op.id: None for op in claimed})
        pending = box.list_ops(OpQuery(states=frozenset({OpState.PENDING}))).items
        box.set_priority(pending[0].id, Priority.HIGH)
    assert dump(client, quick.p) == dump(client, rules.p)
    fake_clock.advance(3600)
    for box in (quick, rules):
        box.purge(retention_seconds=600)
    assert dump(client, quick.p) == dump(client, rules.p)
    for op_id in range(1, int(client.get(f"{quick.p}:seq") or 0) + 1):
        assert quick.history(op_id) == rules.history(op_id)


def test_nothing_is_written_when_one_operation_of_a_batch_needs_the_rules(
    client: redis.Redis, make: Make
) -> None:
    box = make()
    box.enqueue(update(3))
    duplicate = NewOperation(OpKind.CREATE, "Ticket", {"title": "x"}, temp_id="t")
    box.enqueue(duplicate)
    before = dump(client, box.p)
    for news in ([update(1), update(2), update(3, fields={"title": "merges"})], [duplicate]):
        fps = [coalesce.fingerprint_of(new) for new in news]
        args = fast.fast_args(box.p, None, news, fps, 5.0)
        assert box._fast(args, lambda: None) == (None, None)
        assert dump(client, box.p) == before


def test_a_batch_beyond_capacity_queues_none_of_its_operations(
    client: redis.Redis, make: Make
) -> None:
    box = make(capacity=3)
    box.enqueue(update(1, technician=False))
    before = dump(client, box.p)
    with pytest.raises(QueueFullError):
        box.enqueue_many([update(i, technician=False) for i in range(2, 5)])
    after = dump(client, box.p)
    after.pop("seq"), before.pop("seq")  # ids the rules drew before giving up are skipped
    assert after == before
    assert len(box.enqueue_many([update(i, technician=False) for i in (2, 3)])) == 2
    with pytest.raises(QueueFullError):
        box.enqueue(update(4, technician=False))


def test_a_lost_connection_or_an_unloaded_script_neither_fails_nor_duplicates(
    client: redis.Redis, make: Make
) -> None:
    box = make()
    box.enqueue(update(1))
    conn = box._fast._conn
    conn.send_command("CLIENT", "ID")
    client.client_kill_filter(_id=conn.read_response())
    second = box.enqueue(update(2))
    box._fast.one.sha = "0" * 40  # as after SCRIPT FLUSH or a server restart
    third = box.enqueue(update(3))
    assert (second.id, third.id) == (2, 3)
    assert box.count() == 3
    assert [op.id for op in box.claim("w", 60)] == [1, 2, 3]


def test_threads_enqueueing_at_once_each_get_their_own_operations(make: Make) -> None:
    box = make()
    made: list[list[Operation]] = [[] for _ in range(4)]

    def work(n: int) -> None:
        for i in range(40):
            made[n].append(box.enqueue(update(1000 * n + i)))
        made[n].extend(box.enqueue_many([update(1000 * n + 500 + i) for i in range(10)]))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [op for ops in made for op in ops]
    assert len({op.id for op in every}) == len(every) == 200
    assert all(box.get(op.id) == op for op in every)


def test_listing_by_entity_finds_live_finished_and_earlier_versions_operations(
    client: redis.Redis, make: Make, fake_clock: FakeClock
) -> None:
    box = make()
    first = box.enqueue(update(1))
    box.claim("w", 60)
    box.acknowledge(first.id)
    second = box.enqueue(update(1, fields={"title": "again"}))
    box.enqueue(update(1, fields={"title": "merged"}))  # absorbed: a cancelled third operation
    # As an earlier version left the first: in the index of every operation on the entity.
    member = f"{first.id:012d}"
    client.zrem(f"{box.p}:past:Ticket:1", member)
    client.zadd(f"{box.p}:ent:Ticket:1", {member: first.id})
    on_ticket = OpQuery(entity_type="Ticket", target_id=1)
    assert [op.id for op in box.list_ops(on_ticket).items] == [first.id, second.id, second.id + 1]
    fake_clock.advance(3600)
    assert box.purge(retention_seconds=600) == 2
    assert not client.exists(f"{box.p}:ent:Ticket:1", f"{box.p}:past:Ticket:1")
    assert [op.id for op in box.list_ops(on_ticket).items] == [second.id]
