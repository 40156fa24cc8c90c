"""The `Outbox` protocol every backend implements, and async wrappers shared by all of them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from agent.queue.operation import NewOperation, Operation, OpQuery, Page, QueueEvent
from agent.queue.strategies import Strategy
from agent.store.models import OpState, Priority


class Outbox(Protocol):
    """A persistent, prioritised, deduplicating, coalescing queue of operations."""

    def enqueue(self, new: NewOperation) -> Operation: ...

    def enqueue_many(self, news: Sequence[NewOperation]) -> list[Operation]:
        """All in one transaction: either every operation is queued or none is."""
        ...

    def claim(
        self,
        owner: str,
        lease_seconds: float,
        limit: int = 100,
        strategy: Strategy | str | None = None,
    ) -> list[Operation]: ...

    def acknowledge(self, op_id: int, server_id: int | None = None) -> Operation: ...

    def acknowledge_many(self, acks: Mapping[int, int | None]) -> list[Operation]: ...

    def release(
        self,
        op_id: int,
        retry_at: float,
        error: str | None = None,
        category: str | None = None,
        *,
        outcome_unknown: bool = False,
    ) -> Operation: ...

    def park(
        self,
        op_id: int,
        reason: str,
        *,
        conflict: bool = False,
        error: str | None = None,
        category: str | None = None,
        outcome_unknown: bool | None = None,
    ) -> Operation: ...

    def requeue(self, op_id: int) -> Operation: ...

    def cancel(self, op_id: int, reason: str) -> Operation: ...

    def set_priority(self, op_id: int, priority: Priority) -> Operation: ...

    def mark_sent(self, op_id: int) -> Operation: ...

    def rewrite(
        self, op_id: int, *, fields: Mapping[str, Any], base: Mapping[str, Any]
    ) -> Operation:
        """Replace a live operation's fields and base values (a resolved conflict, or what is
        left of a partly sent update) and recompute its fingerprint; state, lease and attempts
        are kept. A done or cancelled operation raises `InvalidOperationError`."""
        ...

    def get(self, op_id: int) -> Operation | None: ...

    def list_ops(self, query: OpQuery) -> Page: ...

    def count(self, query: OpQuery | None = None) -> int: ...

    def counts_by_state(self) -> dict[OpState, int]: ...

    def purge(self, retention_seconds: float) -> int:
        """Delete done and cancelled operations last changed more than `retention_seconds` ago."""
        ...

    def recover_expired_leases(self, *, held_by: str | None = None) -> list[Operation]:
        """Return expired claims to the queue; with `held_by`, also that owner's unexpired ones
        (a restarted worker's own claims from its previous life are certainly abandoned)."""
        ...

    def record_outcome(self, endpoint: str, kind: str, ok: bool, latency: float) -> None: ...

    def history(self, op_id: int) -> list[QueueEvent]: ...

    def close(self) -> None: ...


class AsyncOutboxMethods:
    """Awaitable forms of the calls the event loop makes, run off the loop's thread."""

    async def aenqueue(self: Outbox, new: NewOperation) -> Operation:
        return await asyncio.to_thread(self.enqueue, new)

    async def aenqueue_many(self: Outbox, news: Iterable[NewOperation]) -> list[Operation]:
        return await asyncio.to_thread(self.enqueue_many, list(news))

    async def aclaim(
        self: Outbox,
        owner: str,
        lease_seconds: float,
        limit: int = 100,
        strategy: Strategy | str | None = None,
    ) -> list[Operation]:
        return await asyncio.to_thread(self.claim, owner, lease_seconds, limit, strategy)

    async def aacknowledge(self: Outbox, op_id: int, server_id: int | None = None) -> Operation:
        return await asyncio.to_thread(self.acknowledge, op_id, server_id)

    async def arelease(
        self: Outbox,
        op_id: int,
        retry_at: float,
        error: str | None = None,
        category: str | None = None,
        *,
        outcome_unknown: bool = False,
    ) -> Operation:
        return await asyncio.to_thread(
            self.release, op_id, retry_at, error, category, outcome_unknown=outcome_unknown
        )
