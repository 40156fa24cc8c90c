"""Failure pattern analysis: a bounded memory of failures that spots repeats and flapping.

Two findings come out of it. An operation that fails the same way (same category and message)
`repeat_limit` times in a row is repeating: reported, not parked (a transient failure keeps its
growing backoff however long it lasts; only a refusal a retry cannot fix parks an operation, and
`classify` decides that). An endpoint whose recent outcomes keep alternating between success and
failure is flapping: run it with less concurrency for a while. Both are reported in the health
data.
"""

from __future__ import annotations

import enum
import itertools
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from agent.resilience.classify import Category

K = TypeVar("K")


class Verdict(enum.StrEnum):
    REPEATING = "repeating"
    LOWER_CONCURRENCY = "lower_concurrency"


@dataclass(frozen=True)
class FailureRecord:
    at: float
    endpoint: str
    category: Category
    op_id: str | None
    message: str


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    subject: str
    reason: str


class FailurePatterns:
    """Remembers the last failures per endpoint, category and op, and recent outcome sequences."""

    def __init__(
        self,
        history: int = 50,
        repeat_limit: int = 3,
        flap_window: int = 20,
        flap_transitions: int = 8,
    ) -> None:
        self.history = history
        self.repeat_limit = repeat_limit
        self.flap_window = flap_window
        self.flap_transitions = flap_transitions
        self.by_endpoint: dict[str, deque[FailureRecord]] = {}
        self.by_category: dict[Category, deque[FailureRecord]] = {}
        self.by_op: dict[str, deque[FailureRecord]] = {}
        self._outcomes: dict[str, deque[bool]] = {}

    def _push(self, table: dict[K, deque[FailureRecord]], key: K, rec: FailureRecord) -> None:
        table.setdefault(key, deque(maxlen=self.history)).append(rec)

    def record_failure(self, rec: FailureRecord) -> Finding | None:
        """Store a failure; returns a REPEATING finding when its op keeps failing the same way."""
        self._push(self.by_endpoint, rec.endpoint, rec)
        self._push(self.by_category, rec.category, rec)
        self._outcome(rec.endpoint, ok=False)
        if rec.op_id is None:
            return None
        self._push(self.by_op, rec.op_id, rec)
        return self._repeat(rec.op_id)

    def record_success(self, endpoint: str, op_id: str | None = None) -> None:
        self._outcome(endpoint, ok=True)
        if op_id is not None:
            self.by_op.pop(op_id, None)

    def op_ids(self) -> Iterable[str]:
        """The operations with remembered failures."""
        return list(self.by_op)

    def forget_ops(self, ended: Callable[[str], bool]) -> int:
        """Forget the failures of operations that have ended (sent by another path, cancelled,
        gone): a finding about them would keep the health report degraded for nothing."""
        gone = [op for op in list(self.by_op) if ended(op)]
        for op in gone:
            self.by_op.pop(op, None)
        return len(gone)

    def _outcome(self, endpoint: str, ok: bool) -> None:
        self._outcomes.setdefault(endpoint, deque(maxlen=self.flap_window)).append(ok)

    def _repeat(self, op_id: str) -> Finding | None:
        recent = list(self.by_op.get(op_id, ()))[-self.repeat_limit :]
        if len(recent) < self.repeat_limit:
            return None
        signatures = {(r.category, r.message) for r in recent}
        if len(signatures) != 1:
            return None
        last = recent[-1]
        return Finding(
            Verdict.REPEATING,
            op_id,
            f"failed {len(recent)} times in a row with {last.category}: {last.message}",
        )

    def flapping(self, endpoint: str) -> Finding | None:
        outcomes = list(self._outcomes.get(endpoint, ()))
        transitions = sum(1 for a, b in itertools.pairwise(outcomes) if a != b)
        if transitions < self.flap_transitions:
            return None
        return Finding(
            Verdict.LOWER_CONCURRENCY,
            endpoint,
            f"{transitions} switches between success and failure in the last {len(outcomes)} calls",
        )

    def findings(self) -> list[Finding]:
        """Every current verdict, for the health report."""
        found = [f for op in list(self.by_op) if (f := self._repeat(op)) is not None]
        found += [f for ep in list(self._outcomes) if (f := self.flapping(ep)) is not None]
        return found
