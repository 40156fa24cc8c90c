"""The part of every backend that is the same: each mutation is a shared rule run in one
backend transaction (`_transact`), so the three backends cannot drift apart in behaviour."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from agent.clock import Clock
from agent.queue import coalesce, lifecycle
from agent.queue.ledger import Ledger
from agent.queue.operation import NewOperation, Operation
from agent.queue.outbox import AsyncOutboxMethods
from agent.queue.strategies import OutcomeBoard, Strategy, StrictPriority, by_name
from agent.store.models import Priority

T = TypeVar("T")


class LedgerOutbox(AsyncOutboxMethods):
    """Mutations shared by all backends; subclasses provide `_transact` and the reads."""

    def __init__(
        self,
        clock: Clock,
        *,
        strategy: Strategy | str | None = None,
        capacity: int | None = None,
    ) -> None:
        self.clock = clock
        self.capacity = capacity
        self.outcomes = OutcomeBoard()
        self.strategy = self._strategy(strategy) if strategy is not None else StrictPriority()

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _strategy(self, strategy: Strategy | str | None) -> Strategy:
        if strategy is None:
            return self.strategy
        if isinstance(strategy, str):
            return by_name(strategy, self.outcomes)
        return strategy

    def _transact(self, fn: Callable[[Ledger], T]) -> T:
        raise NotImplementedError  # each backend runs fn inside its own atomic unit

    def enqueue(self, new: NewOperation) -> Operation:
        fp = coalesce.fingerprint_of(new)
        return self._transact(
            lambda ledger: coalesce.enqueue(ledger, new, capacity=self.capacity, fp=fp)
        )

    def enqueue_many(self, news: Sequence[NewOperation]) -> list[Operation]:
        fps = [coalesce.fingerprint_of(new) for new in news]

        def run(ledger: Ledger) -> list[Operation]:
            return [
                coalesce.enqueue(ledger, new, capacity=self.capacity, fp=fp)
                for new, fp in zip(news, fps, strict=True)
            ]

        return self._transact(run)

    def acknowledge(self, op_id: int, server_id: int | None = None) -> Operation:
        return self._transact(lambda ledger: lifecycle.acknowledge(ledger, op_id, server_id))

    def acknowledge_many(self, acks: Mapping[int, int | None]) -> list[Operation]:
        items = list(acks.items())
        return self._transact(
            lambda ledger: [lifecycle.acknowledge(ledger, i, s) for i, s in items]
        )

    def release(
        self,
        op_id: int,
        retry_at: float,
        error: str | None = None,
        category: str | None = None,
        *,
        outcome_unknown: bool = False,
    ) -> Operation:
        return self._transact(
            lambda ledger: lifecycle.release(
                ledger, op_id, retry_at, error, category, outcome_unknown
            )
        )

    def park(
        self,
        op_id: int,
        reason: str,
        *,
        conflict: bool = False,
        error: str | None = None,
        category: str | None = None,
        outcome_unknown: bool | None = None,
    ) -> Operation:
        return self._transact(
            lambda ledger: lifecycle.park(
                ledger,
                op_id,
                reason,
                conflict=conflict,
                error=error,
                category=category,
                outcome_unknown=outcome_unknown,
            )
        )

    def requeue(self, op_id: int) -> Operation:
        return self._transact(lambda ledger: lifecycle.requeue(ledger, op_id))

    def cancel(self, op_id: int, reason: str) -> Operation:
        return self._transact(lambda ledger: lifecycle.cancel(ledger, op_id, reason))

    def set_priority(self, op_id: int, priority: Priority) -> Operation:
        return self._transact(lambda ledger: lifecycle.set_priority(ledger, op_id, priority))

    def mark_sent(self, op_id: int) -> Operation:
        return self._transact(lambda ledger: lifecycle.mark_sent(ledger, op_id))

    def rewrite(
        self, op_id: int, *, fields: Mapping[str, Any], base: Mapping[str, Any]
    ) -> Operation:
        return self._transact(lambda ledger: lifecycle.rewrite(ledger, op_id, fields, base))

    def record_outcome(self, endpoint: str, kind: str, ok: bool, latency: float) -> None:
        """Feed the adaptive strategy: how a call to `endpoint` for `kind` operations went."""
        self.outcomes.record(endpoint, kind, ok, latency)
