"""The outbox in Redis, shared by several agents (processes or machines) through one key prefix.

Enqueueing onto idle entities and claiming are single Lua scripts (see `redis_lua`): one round
trip per enqueue, of one operation or a whole batch (`redis_fast`). Every other change runs the
shared rules in an optimistic WATCH/MULTI transaction, retried when another agent touched what it
read, so concurrent agents never lose or duplicate an update. Leases expire:
`recover_expired_leases` (run by any agent) returns a dead worker's claims to pending.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import redis

from agent.clock import Clock
from agent.queue import claiming, coalesce, lifecycle
from agent.queue import redis_fast as fast
from agent.queue import redis_rows as rows
from agent.queue.base import LedgerOutbox
from agent.queue.errors import QueueError
from agent.queue.ledger import Ledger
from agent.queue.operation import NewOperation, Operation, OpQuery, Page, QueueEvent
from agent.queue.redis_ledger import RedisLedger
from agent.queue.redis_lua import CLAIM
from agent.queue.strategies import Strategy
from agent.store.models import OpState, Priority

T = TypeVar("T")
PAGE = 256


def _int(value: Any) -> int:
    return int(value)


RETRIES = 200


class RedisBackend(LedgerOutbox):
    """An outbox under `prefix` in one Redis database; safe to share between agents."""

    def __init__(
        self,
        url_or_client: str | redis.Redis,
        prefix: str,
        clock: Clock,
        *,
        strategy: Strategy | str | None = None,
        capacity: int | None = None,
    ) -> None:
        super().__init__(clock, strategy=strategy, capacity=capacity)
        self._owns_client = isinstance(url_or_client, str)
        self.r: redis.Redis = (
            redis.Redis.from_url(url_or_client) if isinstance(url_or_client, str) else url_or_client
        )
        self.p = prefix
        self._fast = fast.FastEnqueue(self.r)
        self._claim = self.r.register_script(CLAIM)

    def _transact(self, fn: Callable[[Ledger], T]) -> T:
        for _ in range(RETRIES):
            with self.r.pipeline() as pipe:
                ledger = RedisLedger(self.r, pipe, self.p, self._now())
                try:
                    result = fn(ledger)
                    ledger.commit()
                except redis.WatchError:
                    continue
                return result
        raise QueueError("The shared outbox stayed too busy to apply a change; try again.")

    # -- enqueue fast path ---------------------------------------------------------------------

    def _enqueue_fast(self, news: Sequence[NewOperation], fps: list[str]) -> list[Operation] | None:
        if not fast.eligible(news, fps):
            return None  # the full rules decide (capacity is checked by the script itself)
        now = self._now()
        pending = coalesce.pending_operation

        def build() -> list[Operation]:  # while Redis runs the script; ids are set after
            return [pending(0, new, fp, now) for new, fp in zip(news, fps, strict=True)]

        first, made = self._fast(fast.fast_args(self.p, self.capacity, news, fps, now), build)
        if first is None:
            return None
        for k, op in enumerate(made):  # not yet handed to anyone, so still ours to complete
            object.__setattr__(op, "id", first + k)
        return made

    def enqueue(self, new: NewOperation) -> Operation:
        fp = coalesce.fingerprint_of(new)
        made = self._enqueue_fast([new], [fp])
        return made[0] if made else super().enqueue(new)

    def enqueue_many(self, news: Sequence[NewOperation]) -> list[Operation]:
        if not news:
            return []
        fps = [coalesce.fingerprint_of(new) for new in news]
        made = self._enqueue_fast(news, fps)
        return made if made is not None else super().enqueue_many(news)

    # -- claiming ------------------------------------------------------------------------------

    def _load(self, ids: Sequence[int]) -> list[Operation]:
        pipe = self.r.pipeline(transaction=False)
        for op_id in ids:
            pipe.hgetall(f"{self.p}:op:{op_id}")
        return [op for op in map(rows.from_hash, pipe.execute()) if op is not None]

    def _stream(
        self,
        key: str,
        now: float,
        keep: Callable[[Operation], bool],
        taken: set[int],
        order: Callable[[Operation], tuple[float, ...]] | None = None,
    ) -> Iterator[Operation]:
        fetched: list[int] = []
        while True:
            offset = len(fetched) - len(taken.intersection(fetched))
            page = [_int(m) for m in self.r.zrangebyscore(key, "-inf", now, start=offset, num=PAGE)]
            fetched.extend(page)
            ops = [op for op in self._load(page) if keep(op)]
            if order is not None:  # equal scores order by id; the strategy may want more
                ops.sort(key=order)
            yield from ops
            if len(page) < PAGE:
                return

    def claim(
        self,
        owner: str,
        lease_seconds: float,
        limit: int = 100,
        strategy: Strategy | str | None = None,
    ) -> list[Operation]:
        chosen = self._strategy(strategy)
        now = self._now()
        until = now + lease_seconds
        taken: set[int] = set()

        def ready(op: Operation) -> bool:
            return op.state is OpState.PENDING and op.next_attempt_at <= now

        streams: list[Iterator[Operation]] = []
        no_deadline = ready
        if chosen.uses_deadline_stream:
            streams.append(
                self._stream(
                    f"{self.p}:dl", float("inf"), ready, taken, lambda op: chosen.key(op, now)
                )
            )

            def no_deadline(op: Operation) -> bool:
                return ready(op) and op.deadline_at is None

        streams.extend(
            self._stream(f"{self.p}:ready:{level}", now, no_deadline, taken) for level in Priority
        )
        order = claiming.ordered(chosen, streams, now)
        claimed: list[int] = []
        scanned = 0
        while len(claimed) < limit and scanned < claiming.MAX_SCAN:
            chunk = [op.id for op in itertools.islice(order, max(32, 2 * (limit - len(claimed))))]
            if not chunk:
                break
            scanned += len(chunk)
            args: list[str | int] = [self.p, owner, repr(until), repr(now), limit - len(claimed)]
            args.extend(chunk)
            got = [int(i) for i in self._claim(args=list(args))]
            claimed.extend(got)
            taken.update(got)
        return self._load(claimed)

    def recover_expired_leases(self, *, held_by: str | None = None) -> list[Operation]:
        now = self._now()
        upto: float | str = "+inf" if held_by is not None else now
        due = [_int(m) for m in self.r.zrangebyscore(f"{self.p}:leases", "-inf", upto)]

        def run(ledger: Ledger) -> list[Operation]:
            back = []
            for op_id in due:
                op = ledger.get(op_id)
                if (
                    op is not None
                    and op.state is OpState.LEASED
                    and (
                        (op.lease_expires_at or 0.0) <= now
                        or (held_by is not None and op.lease_owner == held_by)
                    )
                ):
                    again = lifecycle.expired(op, now)
                    ledger.save(op, again)
                    back.append(again)
            return back

        return self._transact(run) if due else []

    # -- reading -------------------------------------------------------------------------------

    def get(self, op_id: int) -> Operation | None:
        return rows.from_hash(self.r.hgetall(f"{self.p}:op:{op_id}"))

    def _sources(self, query: OpQuery) -> list[str]:
        if query.entity_type is not None and (query.target_id is not None or query.temp_id):
            key = str(query.target_id) if query.target_id is not None else f"~{query.temp_id}"
            entity = f"{query.entity_type}:{key}"
            # Live operations, finished ones, and (from earlier versions) all of them.
            return [f"{self.p}:{index}:{entity}" for index in ("live", "past", "ent")]
        if query.outcome_unknown:
            return [f"{self.p}:unknown"]
        states = query.states or frozenset(OpState)
        levels = [query.priority] if query.priority is not None else list(Priority)
        return [f"{self.p}:st:{s.value}:{int(p)}" for s in states for p in levels]

    def _ids_after(self, sources: list[str], after: int, n: int) -> list[int]:
        pipe = self.r.pipeline(transaction=False)
        for key in sources:
            pipe.zrangebyscore(key, f"({after}", "+inf", start=0, num=n)
        return sorted({int(m) for page in pipe.execute() for m in page})[:n]

    def _matching(self, query: OpQuery, after: int, wanted: int) -> Iterator[Operation]:
        sources = self._sources(query)
        while True:
            ids = self._ids_after(sources, after, max(wanted, PAGE))
            for op in self._load(ids):
                if query.matches(op):
                    yield op
            if len(ids) < max(wanted, PAGE):
                return
            after = ids[-1]

    def list_ops(self, query: OpQuery) -> Page:
        after = query.after_id if query.after_id is not None else 0
        skip = 0 if query.after_id is not None else query.offset
        found = list(
            itertools.islice(
                self._matching(query, after, query.limit + 1), skip, skip + query.limit + 1
            )
        )
        items = found[: query.limit]
        return Page(items, items[-1].id if len(found) > query.limit and items else None)

    def count(self, query: OpQuery | None = None) -> int:
        query = query or OpQuery()
        if (
            query.entity_type is None
            and query.target_id is None
            and query.temp_id is None
            and query.outcome_unknown is None
        ):
            pipe = self.r.pipeline(transaction=False)
            for key in self._sources(query):
                pipe.zcard(key)
            return int(sum(pipe.execute()))
        return sum(1 for _ in self._matching(query, 0, PAGE))

    def counts_by_state(self) -> dict[OpState, int]:
        return {s: self.count(OpQuery(states=frozenset({s}))) for s in OpState}

    def purge(self, retention_seconds: float) -> int:
        cutoff = self._now() - retention_seconds
        total = 0
        while True:
            ids = [
                _int(m)
                for m in self.r.zrangebyscore(
                    f"{self.p}:fin", "-inf", f"({cutoff}", start=0, num=2000
                )
            ]
            ops = self._load(ids)
            temps = self.r.hmget(f"{self.p}:temp", [op.temp_id or "" for op in ops]) if ops else []
            pipe = self.r.pipeline(transaction=True)
            self._release_dependents(pipe, ops)
            for op, temp_owner in zip(ops, temps, strict=True):
                m = rows.member(op.id)
                for kind, index, _ in rows.entries_to_remove(self.p, op):
                    (pipe.zrem if kind == "z" else pipe.srem)(index, m)
                for parent in op.depends_on:
                    pipe.srem(f"{self.p}:rdeps:{parent}", op.id)
                pipe.delete(
                    f"{self.p}:op:{op.id}", f"{self.p}:hist:{op.id}", f"{self.p}:rdeps:{op.id}"
                )
                if temp_owner is not None and int(temp_owner) == op.id and op.temp_id:
                    pipe.hdel(f"{self.p}:temp", op.temp_id)
            pipe.execute()
            total += len(ops)
            if len(ids) < 2000:
                return total

    def _release_dependents(self, pipe: Any, ops: list[Operation]) -> None:
        """As SQLite's cascade does: operations that waited for purged ones no longer name them
        in `depends_on` (a purged operation was done or cancelled, so nothing waits on it)."""
        purged = {op.id for op in ops}
        reads = self.r.pipeline(transaction=False)
        for op in ops:
            reads.smembers(f"{self.p}:rdeps:{op.id}")
        waiting = {int(m) for members in reads.execute() for m in members} - purged
        for kid in self._load(sorted(waiting)):
            rest = [d for d in kid.depends_on if d not in purged]
            if rest != kid.depends_on:
                pipe.hset(f"{self.p}:op:{kid.id}", "depends_on", json.dumps(rest))

    def history(self, op_id: int) -> list[QueueEvent]:
        pipe = self.r.pipeline(transaction=True)  # one snapshot of both
        pipe.hget(f"{self.p}:op:{op_id}", "enqueued")  # kept there by the fast path
        pipe.lrange(f"{self.p}:hist:{op_id}", 0, -1)
        first, rest = pipe.execute()
        out = []
        for raw in [first, *rest] if first is not None else rest:
            e = json.loads(raw)
            out.append(QueueEvent(e["action"], e["at"], e["op_id"], e["detail"]))
        return out

    def close(self) -> None:
        self._fast.close()
        if self._owns_client:
            self.r.close()
