"""Concurrency limits: separate pools per kind of work, and Autotask's three calls per endpoint.

Two layers, both needed. The pools keep background refresh from occupying every task slot the
technician's edits need. The per-endpoint gate enforces Autotask's thread limit (three concurrent
calls per integration and endpoint) and always keeps `reserved_for_writes` of those slots out of
reach of background work, and serves waiting writes before waiting reads, so a refresh burst can
never make an edit wait behind it. asyncio.Semaphore has neither priorities nor per-kind caps,
hence the small hand-written gate.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

AUTOTASK_THREAD_LIMIT = 3


class Kind(enum.StrEnum):
    """Who a call is for: a technician's write, background reads/refresh, or metadata."""

    WRITE = "write"
    READ = "read"
    METADATA = "metadata"


DEFAULT_POOLS: dict[Kind, int] = {Kind.WRITE: 6, Kind.READ: 4, Kind.METADATA: 2}


class Bulkheads:
    """One semaphore per kind of work, so one kind can never take another's slots."""

    def __init__(self, sizes: dict[Kind, int] | None = None) -> None:
        self.sizes = {**DEFAULT_POOLS, **(sizes or {})}
        self._pools = {kind: asyncio.Semaphore(size) for kind, size in self.sizes.items()}
        self.in_use: dict[Kind, int] = dict.fromkeys(Kind, 0)

    @asynccontextmanager
    async def slot(self, kind: Kind) -> AsyncIterator[None]:
        async with self._pools[kind]:
            self.in_use[kind] += 1
            try:
                yield
            finally:
                self.in_use[kind] -= 1


@dataclass
class _Gate:
    limit: int
    in_flight: int = 0
    background: int = 0
    writers: deque[asyncio.Future[None]] = field(default_factory=deque)
    readers: deque[asyncio.Future[None]] = field(default_factory=deque)


class EndpointLimiter:
    """At most `limit` calls in flight per endpoint, writes first, some slots kept for writes."""

    def __init__(self, limit: int = AUTOTASK_THREAD_LIMIT, reserved_for_writes: int = 1) -> None:
        self.default_limit = limit
        self.reserved_for_writes = reserved_for_writes
        self._gates: dict[str, _Gate] = {}

    def _gate(self, endpoint: str) -> _Gate:
        return self._gates.setdefault(endpoint, _Gate(self.default_limit))

    def in_flight(self, endpoint: str) -> int:
        return self._gate(endpoint).in_flight

    def limit(self, endpoint: str) -> int:
        return self._gate(endpoint).limit

    def set_limit(self, endpoint: str, limit: int) -> None:
        """Lower (or restore) one endpoint's concurrency, e.g. when it flaps."""
        gate = self._gate(endpoint)
        gate.limit = max(1, min(limit, AUTOTASK_THREAD_LIMIT))
        self._wake(gate)

    def _background_cap(self, gate: _Gate) -> int:
        return max(1, gate.limit - self.reserved_for_writes)

    def _admits(self, gate: _Gate, write: bool) -> bool:
        if gate.in_flight >= gate.limit:
            return False
        return write or gate.background < self._background_cap(gate)

    @asynccontextmanager
    async def slot(self, endpoint: str, kind: Kind) -> AsyncIterator[None]:
        gate = self._gate(endpoint)
        write = kind is Kind.WRITE
        queue = gate.writers if write else gate.readers
        # Queue behind earlier waiters of the same or higher priority; writes skip reads.
        if queue or (not write and gate.writers) or not self._admits(gate, write):
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            queue.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter in queue:
                    queue.remove(waiter)
                elif waiter.done() and not waiter.cancelled():
                    self._leave(gate, write)  # admitted just as we were cancelled
                raise
        else:
            self._enter(gate, write)
        try:
            yield
        finally:
            self._leave(gate, write)

    def _enter(self, gate: _Gate, write: bool) -> None:
        gate.in_flight += 1
        if not write:
            gate.background += 1

    def _leave(self, gate: _Gate, write: bool) -> None:
        gate.in_flight -= 1
        if not write:
            gate.background -= 1
        self._wake(gate)

    def _wake(self, gate: _Gate) -> None:
        for queue in (gate.writers, gate.readers):
            while queue and queue[0].done():  # cancelled waiters not yet removed by their task
                queue.popleft()
        while gate.writers and self._admits(gate, True):
            self._enter(gate, True)
            gate.writers.popleft().set_result(None)
            self._drop_cancelled(gate.writers)
        while not gate.writers and gate.readers and self._admits(gate, False):
            self._enter(gate, False)
            gate.readers.popleft().set_result(None)
            self._drop_cancelled(gate.readers)

    @staticmethod
    def _drop_cancelled(queue: deque[asyncio.Future[None]]) -> None:
        while queue and queue[0].done():
            queue.popleft()
