"""The Redis backend's transaction ("ledger"): reads through a WATCHing pipeline, writes buffered
and applied in one MULTI/EXEC at `commit`, so a concurrent change by another agent aborts it
(`redis.WatchError`) and the backend retries the whole rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import redis

from agent.queue import redis_rows as rows
from agent.queue.operation import Operation
from agent.store.models import OpKind


class RedisLedger:
    """Reads through a watching pipeline; writes are buffered and applied at `commit`."""

    def __init__(self, client: redis.Redis, pipe: Any, prefix: str, now: float) -> None:
        self.r, self.pipe, self.p, self.now = client, pipe, prefix, now
        self.original: dict[int, Operation | None] = {}
        self.current: dict[int, Operation] = {}
        self.events: list[tuple[int, str]] = []

    def _watch(self, key: str) -> None:
        self.pipe.watch(key)

    def get(self, op_id: int) -> Operation | None:
        if op_id in self.current:
            return self.current[op_id]
        if op_id not in self.original:
            self._watch(f"{self.p}:op:{op_id}")
            self.original[op_id] = rows.from_hash(self.pipe.hgetall(f"{self.p}:op:{op_id}"))
        return self.original[op_id]

    def _local(self, pred: Callable[[Operation], bool]) -> list[Operation]:
        return [op for op in self.current.values() if pred(op)]

    def live_by_fingerprint(self, fingerprint: str) -> Operation | None:
        found = self._local(lambda op: op.is_live and op.fingerprint == fingerprint)
        self._watch(f"{self.p}:fp")
        raw = self.pipe.hget(f"{self.p}:fp", fingerprint)
        if raw is not None:
            op = self.get(int(raw))
            if op is not None and op.is_live and op.fingerprint == fingerprint:
                found.append(op)
        return max(found, key=lambda op: op.id) if found else None

    def newest_live_on_entity(self, entity_type: str, key: str) -> Operation | None:
        live_key = f"{self.p}:live:{entity_type}:{key}"
        self._watch(live_key)
        ids = {int(m) for m in self.pipe.zrange(live_key, 0, -1)}
        ids |= {op.id for op in self._local(lambda op: op.entity_type == entity_type)}
        found = [
            op
            for op in map(self.get, ids)
            if op is not None
            and op.is_live
            and op.entity_key == key
            and op.entity_type == entity_type
        ]
        return max(found, key=lambda op: op.id) if found else None

    def create_for_temp(self, temp_id: str) -> Operation | None:
        found = self._local(lambda op: op.kind is OpKind.CREATE and op.temp_id == temp_id)
        self._watch(f"{self.p}:temp")
        raw = self.pipe.hget(f"{self.p}:temp", temp_id)
        if raw is not None and (op := self.get(int(raw))) is not None:
            found.append(op)
        return max(found, key=lambda op: op.id) if found else None

    def dependents(self, op_id: int) -> list[Operation]:
        key = f"{self.p}:rdeps:{op_id}"
        self._watch(key)
        ids = {int(m) for m in self.pipe.smembers(key)}
        ids |= {op.id for op in self._local(lambda op: op_id in op.depends_on)}
        return [op for op in map(self.get, sorted(ids)) if op is not None]

    def background_live_count(self, at_most: int) -> int:
        """What Redis holds, changed by what this transaction has done so far (operations it
        inserted, and ones it made live or finished)."""
        self._watch(f"{self.p}:bg")

        def counted(op: Operation | None) -> int:
            return int(op is not None and op.is_live and not op.technician)

        change = sum(counted(op) - counted(self.original.get(i)) for i, op in self.current.items())
        return int(self.pipe.scard(f"{self.p}:bg")) + change

    def insert(self, op: Operation) -> Operation:
        op = op.evolve(id=int(self.r.incr(f"{self.p}:seq")))
        self.original[op.id] = None
        self.current[op.id] = op
        return op

    def save(self, old: Operation, new: Operation) -> None:
        self.current[new.id] = new

    def record(self, action: str, op: Operation, detail: dict[str, Any]) -> None:
        text = json.dumps({"action": action, "at": self.now, "op_id": op.id, "detail": detail})
        other = detail.get("from")
        for op_id in {op.id, other} if isinstance(other, int) else {op.id}:
            self.events.append((op_id, text))

    def commit(self) -> None:
        fp_key = f"{self.p}:fp"
        owners: dict[str, Any] = {}
        for op_id in self.current:
            old = self.original.get(op_id)
            if old is not None and old.is_live and old.fingerprint not in owners:
                owners[old.fingerprint] = self.pipe.hget(fp_key, old.fingerprint)
        pipe = self.pipe
        pipe.multi()
        for op_id, new in self.current.items():
            old = self.original.get(op_id)
            m = rows.member(op_id)
            key = f"{self.p}:op:{op_id}"
            if old is not None:
                for kind, index, _ in rows.entries_to_remove(self.p, old):
                    (pipe.zrem if kind == "z" else pipe.srem)(index, m)
                owner = owners.get(old.fingerprint)
                if old.is_live and owner is not None and int(owner) == op_id:
                    pipe.hdel(fp_key, old.fingerprint)
                gone = rows.unset_fields(new)
                if gone:
                    pipe.hdel(key, *gone)
            else:
                pipe.hset(key, "id", op_id)
                for parent in new.depends_on:
                    pipe.sadd(f"{self.p}:rdeps:{parent}", op_id)
                if new.kind is OpKind.CREATE and new.temp_id is not None:
                    pipe.hset(f"{self.p}:temp", new.temp_id, op_id)
            pairs = rows.to_pairs(new)
            pipe.hset(key, mapping=dict(zip(pairs[::2], pairs[1::2], strict=True)))
            for kind, index, score in rows.index_entries(self.p, new):
                if kind == "z":
                    pipe.zadd(index, {m: score})
                else:
                    pipe.sadd(index, m)
            if new.is_live:
                pipe.hset(fp_key, new.fingerprint, op_id)
        for op_id, text in self.events:
            pipe.rpush(f"{self.p}:hist:{op_id}", text)
        pipe.execute()
