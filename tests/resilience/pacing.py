"""Driving pacers in tests: each request goes when its pacer lets it, the fake clock moved by hand
between rounds (a pacer that would wait says so at once with `max_wait` 0)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agent.clock import FakeClock
from agent.resilience.bulkhead import Kind
from agent.resilience.quota import QuotaPacer, QuotaWaitTooLong


async def send_up_to(pacer: QuotaPacer, request: Callable[[], None], calls: int) -> int:
    """Up to `calls` requests, each when the pacer lets it; stops at the first refusal."""
    sent = 0
    for _ in range(calls):
        try:
            await pacer.acquire(Kind.WRITE)
        except QuotaWaitTooLong:
            break
        request()
        sent += 1
    return sent


async def round_robin(
    pacers: Sequence[QuotaPacer],
    request: Callable[[], None],
    clock: FakeClock,
    *,
    rounds: int,
    step: float,
    after: Callable[[], None] | None = None,
) -> int:
    """`rounds` rounds, in each of which every pacer may send one request, then `step` seconds
    pass; `after` runs after each request. Returns the requests sent."""
    sent = 0
    for _ in range(rounds):
        for pacer in pacers:
            try:
                await pacer.acquire(Kind.WRITE)
            except QuotaWaitTooLong:
                continue
            request()
            sent += 1
            if after is not None:
                after()
        clock.advance(step)
    return sent
