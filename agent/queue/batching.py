"""Handing claimed work to the sync engine in batches of one endpoint and kind, sized by how the
link is doing right now (additive increase while calls succeed fast, halving on errors or slow
calls; at most 500, a batch the Autotask API accepts in one query)."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.queue.operation import Operation
from agent.queue.outbox import Outbox
from agent.queue.strategies import Strategy

MAX_BATCH = 500


@dataclass
class BatchSizer:
    """AIMD batch size: grows by `step` after each fast success, halves after an error or a call
    slower than `slow_after` seconds, always within [minimum, maximum]. `latency` is that of
    one call (the batch's slowest), never the wall time of a whole batch."""

    size: int = 20
    minimum: int = 1
    maximum: int = MAX_BATCH
    step: int = 10
    slow_after: float = 2.0

    def __post_init__(self) -> None:
        self.maximum = min(self.maximum, MAX_BATCH)
        self.size = max(self.minimum, min(self.size, self.maximum))

    def record(self, ok: bool, latency: float) -> int:
        if ok and latency <= self.slow_after:
            self.size = min(self.maximum, self.size + self.step)
        else:
            self.size = max(self.minimum, self.size // 2)
        return self.size


@dataclass(frozen=True)
class Batch:
    endpoint: str
    kind: str
    ops: list[Operation]


@dataclass
class Dispatcher:
    """Claims up to the sizer's current size and groups the claim by (endpoint, kind), keeping
    the strategy's order between groups (a group's place is that of its first operation)."""

    outbox: Outbox
    owner: str
    lease_seconds: float = 120.0
    sizer: BatchSizer = field(default_factory=BatchSizer)
    strategy: Strategy | str | None = None

    def next_batches(self) -> list[Batch]:
        groups: dict[tuple[str, str], list[Operation]] = {}
        for op in self.outbox.claim(self.owner, self.lease_seconds, self.sizer.size, self.strategy):
            groups.setdefault((op.endpoint, op.kind.value), []).append(op)
        return [Batch(endpoint, kind, ops) for (endpoint, kind), ops in groups.items()]

    def record(self, batch: Batch, ok: bool, latency: float) -> None:
        """How the call for `batch` went: resizes later batches and feeds the adaptive strategy."""
        self.sizer.record(ok, latency)
        self.outbox.record_outcome(batch.endpoint, batch.kind, ok, latency)
