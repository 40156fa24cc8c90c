"""Choosing which ready operations a claim hands out, the same way for every backend.

The backend supplies ready operations as streams (one per priority level, in ready order, plus
one in deadline order for the deadline strategy) and a bulk `blocked` check (an older operation
on the same entity is pending or leased, or a dependency is not done). Streams are read lazily,
so a claim near the head of a 100,000-operation queue reads only a few pages.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence

from agent.queue.operation import Operation
from agent.queue.strategies import Strategy

WINDOW = 200  # look-ahead per level for strategies whose order is not the index order
MAX_SCAN = 5000  # blocked operations skipped before a claim gives up (returns what it has)


def ordered(
    strategy: Strategy, streams: Sequence[Iterable[Operation]], now: float
) -> Iterator[Operation]:
    def key(op: Operation) -> tuple[float, ...]:
        return strategy.key(op, now)

    if strategy.monotone:
        return heapq.merge(*streams, key=key)
    window: list[Operation] = []
    for stream in streams:
        window.extend(itertools.islice(stream, WINDOW))
    window.sort(key=key)
    return iter(window)


def choose(
    strategy: Strategy,
    streams: Sequence[Iterable[Operation]],
    now: float,
    limit: int,
    blocked: Callable[[list[Operation]], set[int]],
) -> list[Operation]:
    """The first `limit` operations in the strategy's order that nothing holds back."""
    chosen: list[Operation] = []
    seen: set[int] = set()
    scanned = 0
    candidates = ordered(strategy, streams, now)
    while len(chosen) < limit and scanned < MAX_SCAN:
        chunk = [
            op
            for op in itertools.islice(candidates, max(16, limit - len(chosen) + 8))
            if op.id not in seen
        ]
        if not chunk:
            break
        scanned += len(chunk)
        seen.update(op.id for op in chunk)
        held = blocked(chunk)
        for op in chunk:
            if op.id not in held:
                chosen.append(op)
                if len(chosen) == limit:
                    break
    return chosen
