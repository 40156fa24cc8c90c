"""Scheduling strategies: the order in which `claim` hands out ready operations.

A strategy is a sort key over ready operations. Backends read ready operations per priority level
in "ready order" (next_attempt_at, then id), which is each level's index order; a strategy whose
key never decreases along that order is `monotone`, and claim merges the levels lazily and exactly.
The adaptive strategy is not monotone: it ranks a look-ahead window of each level instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from agent.queue.operation import Operation
from agent.store.models import Priority

LEVELS = len(Priority)


class Strategy(Protocol):
    name: str
    monotone: bool
    uses_deadline_stream: bool

    def key(self, op: Operation, now: float) -> tuple[float, ...]: ...


class StrictPriority:
    """Always the most urgent level first; within a level, in ready order."""

    name = "strict"
    monotone = True
    uses_deadline_stream = False

    def key(self, op: Operation, now: float) -> tuple[float, ...]:
        return (op.priority, op.next_attempt_at, op.id)


class Fifo:
    """In ready order regardless of priority: first made (or first due for retry), first out."""

    name = "fifo"
    monotone = True
    uses_deadline_stream = False

    def key(self, op: Operation, now: float) -> tuple[float, ...]:
        return (op.next_attempt_at, op.id)


@dataclass
class WeightedFair:
    """Priority with aging: each level below critical counts as `aging_step` seconds of waiting.

    The key is ready_time + level × aging_step, so an operation's effective priority improves as it
    waits. Bound: an operation of level p is never overtaken by work that became ready more than
    p × aging_step seconds after it, so it waits at most `aging_step` per level (4 × aging_step
    for background) behind newer work of any priority: low priority never starves.
    """

    aging_step: float = 60.0
    name: str = "weighted_fair"
    monotone: bool = True
    uses_deadline_stream: bool = False

    def key(self, op: Operation, now: float) -> tuple[float, ...]:
        return (op.next_attempt_at + op.priority * self.aging_step, op.priority, op.id)


class DeadlineAware:
    """Earliest `deadline_at` first (e.g. a ticket's SLA), then by priority; operations without a
    deadline follow those with one, by strict priority."""

    name = "deadline"
    monotone = True
    uses_deadline_stream = True

    def key(self, op: Operation, now: float) -> tuple[float, ...]:
        if op.deadline_at is not None:
            return (0.0, op.deadline_at, op.priority, op.next_attempt_at, op.id)
        return (1.0, 0.0, op.priority, op.next_attempt_at, op.id)


@dataclass
class _Ewma:
    success: float = 1.0
    latency: float = 0.0
    seen: int = 0

    def add(self, ok: bool, latency: float, alpha: float) -> None:
        if self.seen == 0:
            self.success, self.latency = (1.0 if ok else 0.0), latency
        else:
            self.success += alpha * ((1.0 if ok else 0.0) - self.success)
            self.latency += alpha * (latency - self.latency)
        self.seen += 1


@dataclass
class OutcomeBoard:
    """Recent success rate and latency per (endpoint, kind), as exponentially weighted averages.

    The link counts as degraded when the overall success rate falls below `degraded_below` or the
    overall latency exceeds `slow_after` seconds.
    """

    alpha: float = 0.3
    degraded_below: float = 0.8
    slow_after: float = 2.0
    overall: _Ewma = field(default_factory=_Ewma)
    groups: dict[tuple[str, str], _Ewma] = field(default_factory=dict)

    def record(self, endpoint: str, kind: str, ok: bool, latency: float) -> None:
        self.overall.add(ok, latency, self.alpha)
        self.groups.setdefault((endpoint, kind), _Ewma()).add(ok, latency, self.alpha)

    @property
    def degraded(self) -> bool:
        return self.overall.seen > 0 and (
            self.overall.success < self.degraded_below or self.overall.latency > self.slow_after
        )

    def health(self, endpoint: str, kind: str) -> float:
        """0 (failing) to 1 (succeeding fast); groups not seen yet count as the link overall."""
        group = self.groups.get((endpoint, kind), self.overall)
        slow = 0.5 if group.latency > self.slow_after else 0.0
        return max(0.0, group.success - slow)


@dataclass
class Adaptive:
    """Strict priority while the link is healthy; when it is degraded, each (endpoint, kind)
    group drops up to `demotion_levels` levels in proportion to how badly it is doing, so work that
    currently succeeds goes first. Ranks a look-ahead window (see `claiming.WINDOW`)."""

    board: OutcomeBoard = field(default_factory=OutcomeBoard)
    demotion_levels: float = 3.0
    name: str = "adaptive"
    monotone: bool = False
    uses_deadline_stream: bool = False

    def key(self, op: Operation, now: float) -> tuple[float, ...]:
        penalty = 0.0
        if self.board.degraded:
            penalty = (1.0 - self.board.health(op.endpoint, op.kind.value)) * self.demotion_levels
        return (op.priority + penalty, op.next_attempt_at, op.id)


def by_name(name: str, board: OutcomeBoard) -> Strategy:
    strategies: dict[str, Strategy] = {
        "strict": StrictPriority(),
        "fifo": Fifo(),
        "weighted_fair": WeightedFair(),
        "deadline": DeadlineAware(),
        "adaptive": Adaptive(board),
    }
    try:
        return strategies[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; one of {sorted(strategies)}") from None
