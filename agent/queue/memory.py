"""The in-process outbox: the same rules as the persistent backends, held in dictionaries.

For tests and throw-away use; nothing survives the process. One lock makes every call atomic.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from agent.clock import Clock
from agent.queue import claiming, coalesce, lifecycle
from agent.queue.base import LedgerOutbox
from agent.queue.ledger import Ledger
from agent.queue.operation import (
    BLOCKING_STATES,
    FINISHED_STATES,
    KIND_TEXT,
    PRIORITY_NAME,
    NewOperation,
    Operation,
    OpQuery,
    Page,
    QueueEvent,
)
from agent.queue.strategies import Strategy
from agent.store.models import OpKind, OpState, Priority

T = TypeVar("T")


def _event(action: str, at: float, op_id: int | None, detail: dict[str, Any]) -> QueueEvent:
    """`QueueEvent(...)` without the frozen dataclass's per-field `__setattr__` guard."""
    event: QueueEvent = _new_event(QueueEvent)
    _set_action(event, action)
    _set_at(event, at)
    _set_op_id(event, op_id)
    _set_detail(event, detail)
    return event


_new_event = object.__new__
_set_action, _set_at, _set_op_id, _set_detail = (
    QueueEvent.__dict__[name].__set__ for name in ("action", "at", "op_id", "detail")
)


class _Tables:
    def __init__(self) -> None:
        self.ops: dict[int, Operation] = {}
        self.next_id = 1
        self.live_fp: dict[str, int] = {}
        self.live_on_entity: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.creates: dict[str, int] = {}
        self.dependents: dict[int, set[int]] = defaultdict(set)
        self.events: dict[int, list[QueueEvent]] = defaultdict(list)


class _MemoryLedger:
    def __init__(self, tables: _Tables, now: float) -> None:
        self.t = tables
        self.now = now
        self.undo: list[Callable[[], None]] = []  # run in reverse to roll the transaction back

    def get(self, op_id: int) -> Operation | None:
        return self.t.ops.get(op_id)

    def live_by_fingerprint(self, fingerprint: str) -> Operation | None:
        op_id = self.t.live_fp.get(fingerprint)
        return None if op_id is None else self.t.ops[op_id]

    def newest_live_on_entity(self, entity_type: str, key: str) -> Operation | None:
        ids = self.t.live_on_entity.get((entity_type, key))
        return self.t.ops[ids[-1]] if ids else None

    def create_for_temp(self, temp_id: str) -> Operation | None:
        op_id = self.t.creates.get(temp_id)
        return None if op_id is None else self.t.ops[op_id]

    def dependents(self, op_id: int) -> list[Operation]:
        return [self.t.ops[i] for i in sorted(self.t.dependents.get(op_id, ()))]

    def background_live_count(self, at_most: int) -> int:
        return sum(1 for op in self.t.ops.values() if op.is_live and not op.technician)

    def insert(self, op: Operation) -> Operation:
        op = op.evolve(id=self.t.next_id, depends_on=list(op.depends_on))
        self.t.next_id += 1
        self.t.ops[op.id] = op
        for parent in op.depends_on:
            self.t.dependents[parent].add(op.id)
        if op.kind is OpKind.CREATE and op.temp_id is not None:
            self.t.creates[op.temp_id] = op.id
        self._index(None, op)
        self.undo.append(lambda: self._uninsert(op))
        return op

    def _uninsert(self, op: Operation) -> None:
        self._index(op, op.evolve(state=OpState.CANCELLED))
        del self.t.ops[op.id]
        for parent in op.depends_on:
            self.t.dependents[parent].discard(op.id)
        if self.t.creates.get(op.temp_id or "") == op.id:
            del self.t.creates[op.temp_id or ""]
        self.t.next_id = min(self.t.next_id, op.id)

    def save(self, old: Operation, new: Operation) -> None:
        self.t.ops[new.id] = new
        self._index(old, new)
        self.undo.append(lambda: self.save(new, old))

    def _index(self, old: Operation | None, new: Operation) -> None:
        if old is not None and old.is_live:
            if self.t.live_fp.get(old.fingerprint) == old.id:
                del self.t.live_fp[old.fingerprint]
            ids = self.t.live_on_entity[(old.entity_type, old.entity_key)]
            ids.remove(old.id)
        if new.is_live:
            self.t.live_fp[new.fingerprint] = new.id
            bisect.insort(self.t.live_on_entity[(new.entity_type, new.entity_key)], new.id)

    def record(self, action: str, op: Operation, detail: dict[str, Any]) -> None:
        event = _event(action, self.now, op.id, detail)
        other = detail.get("from")
        for op_id in {op.id, other} if isinstance(other, int) else {op.id}:
            self.t.events[op_id].append(event)
            self.undo.append(self.t.events[op_id].pop)  # type: ignore[arg-type]


class MemoryBackend(LedgerOutbox):
    """An outbox in dictionaries, guarded by one lock."""

    def __init__(
        self,
        clock: Clock,
        *,
        strategy: Strategy | str | None = None,
        capacity: int | None = None,
    ) -> None:
        super().__init__(clock, strategy=strategy, capacity=capacity)
        self._t = _Tables()
        self._lock = threading.RLock()

    # -- enqueueing: the direct path (see `coalesce.is_direct`), else the shared rules ---------

    def _is_clear(self, new: NewOperation, fp: str) -> bool:
        if new.kind is OpKind.CREATE:
            return fp not in self._t.live_fp
        return not self._t.live_on_entity.get((new.entity_type, str(new.target_id)))

    def _put(self, new: NewOperation, fp: str, now: float) -> Operation:
        t = self._t
        op_id = t.next_id
        t.next_id = op_id + 1
        op = coalesce.pending_operation(op_id, new, fp, now)
        t.ops[op_id] = op
        t.live_fp[fp] = op_id
        t.live_on_entity[(new.entity_type, op.entity_key)].append(op_id)  # ids only grow
        if new.temp_id is not None and new.kind is OpKind.CREATE:
            t.creates[new.temp_id] = op_id
        detail = {"kind": KIND_TEXT[new.kind], "priority": PRIORITY_NAME[new.priority]}
        t.events[op_id] = [_event("enqueued", now, op_id, detail)]  # a new id has no history
        return op

    def enqueue(self, new: NewOperation) -> Operation:
        fp = coalesce.fingerprint_of(new)
        with self._lock:
            if coalesce.is_direct(new, self.capacity) and self._is_clear(new, fp):
                return self._put(new, fp, self._now())
            return self._transact(
                lambda ledger: coalesce.enqueue(ledger, new, capacity=self.capacity, fp=fp)
            )

    def enqueue_many(self, news: Sequence[NewOperation]) -> list[Operation]:
        fps = [coalesce.fingerprint_of(new) for new in news]
        with self._lock:
            # Direct only when no operation of the batch can affect another (all on distinct
            # entities, none identical): then nothing can fail half way.
            if coalesce.independent(news, fps) and all(
                coalesce.is_direct(new, self.capacity) and self._is_clear(new, fp)
                for new, fp in zip(news, fps, strict=True)
            ):
                now = self._now()
                return [self._put(new, fp, now) for new, fp in zip(news, fps, strict=True)]
            return super().enqueue_many(news)

    def _transact(self, fn: Callable[[Ledger], T]) -> T:
        with self._lock:
            ledger = _MemoryLedger(self._t, self._now())
            try:
                return fn(ledger)
            except BaseException:
                for step in reversed(ledger.undo):
                    step()
                raise

    def _blocked(self, ops: list[Operation]) -> set[int]:
        held: set[int] = set()
        for op in ops:
            older = self._t.live_on_entity.get((op.entity_type, op.entity_key), [])
            if any(i < op.id and self._t.ops[i].state in BLOCKING_STATES for i in older) or any(
                (parent := self._t.ops.get(d)) is not None and parent.state is not OpState.DONE
                for d in op.depends_on
            ):
                held.add(op.id)
        return held

    def _streams(self, strategy: Strategy, now: float) -> list[Iterator[Operation]]:
        ready = [
            op
            for op in self._t.ops.values()
            if op.state is OpState.PENDING and op.next_attempt_at <= now
        ]
        streams: list[Iterator[Operation]] = []
        if strategy.uses_deadline_stream:
            timed = [op for op in ready if op.deadline_at is not None]
            timed.sort(key=lambda op: strategy.key(op, now))
            streams.append(iter(timed))
            ready = [op for op in ready if op.deadline_at is None]
        for level in Priority:
            at_level = [op for op in ready if op.priority == level]
            at_level.sort(key=lambda op: (op.next_attempt_at, op.id))
            streams.append(iter(at_level))
        return streams

    def claim(
        self,
        owner: str,
        lease_seconds: float,
        limit: int = 100,
        strategy: Strategy | str | None = None,
    ) -> list[Operation]:
        chosen_strategy = self._strategy(strategy)
        with self._lock:
            now = self._now()
            ledger = _MemoryLedger(self._t, now)
            picked = claiming.choose(
                chosen_strategy,
                list(self._streams(chosen_strategy, now)),
                now,
                limit,
                self._blocked,
            )
            out = []
            for op in picked:
                got = lifecycle.leased(op, owner, now + lease_seconds, now)
                ledger.save(op, got)
                out.append(got)
            return out

    def get(self, op_id: int) -> Operation | None:
        with self._lock:
            return self._t.ops.get(op_id)

    def _matching(self, query: OpQuery) -> list[Operation]:
        return [op for op in self._t.ops.values() if query.matches(op)]

    def list_ops(self, query: OpQuery) -> Page:
        with self._lock:
            ops = sorted(self._matching(query), key=lambda op: op.id)
        if query.after_id is not None:
            ops = [op for op in ops if op.id > query.after_id]
        else:
            ops = ops[query.offset :]
        items = ops[: query.limit]
        more = len(ops) > query.limit
        return Page(items, items[-1].id if more and items else None)

    def count(self, query: OpQuery | None = None) -> int:
        with self._lock:
            return len(self._matching(query or OpQuery()))

    def counts_by_state(self) -> dict[OpState, int]:
        with self._lock:
            counts = dict.fromkeys(OpState, 0)
            for op in self._t.ops.values():
                counts[op.state] += 1
            return counts

    def purge(self, retention_seconds: float) -> int:
        with self._lock:
            cutoff = self._now() - retention_seconds
            gone = [
                op.id
                for op in self._t.ops.values()
                if op.state in FINISHED_STATES and op.updated_at < cutoff
            ]
            for op_id in gone:
                op = self._t.ops.pop(op_id)
                self._t.events.pop(op_id, None)
                for parent in op.depends_on:
                    self._t.dependents.get(parent, set()).discard(op_id)
                # As SQLite's cascade does: a purged create no longer holds its dependents.
                for child in self._t.dependents.pop(op_id, set()):
                    kid = self._t.ops.get(child)
                    if kid is None:
                        continue
                    rest = [d for d in kid.depends_on if d != op_id]
                    self._t.ops[child] = kid.evolve(depends_on=rest)
                if op.temp_id is not None and self._t.creates.get(op.temp_id) == op_id:
                    del self._t.creates[op.temp_id]
            return len(gone)

    def recover_expired_leases(self, *, held_by: str | None = None) -> list[Operation]:
        with self._lock:
            now = self._now()
            ledger = _MemoryLedger(self._t, now)
            back = []
            for op in list(self._t.ops.values()):
                if op.state is OpState.LEASED and (
                    (op.lease_expires_at or 0.0) <= now
                    or (held_by is not None and op.lease_owner == held_by)
                ):
                    again = lifecycle.expired(op, now)
                    ledger.save(op, again)
                    back.append(again)
            return back

    def history(self, op_id: int) -> list[QueueEvent]:
        with self._lock:
            return list(self._t.events.get(op_id, []))

    def close(self) -> None:
        """Nothing to release; present so every backend closes the same way."""
