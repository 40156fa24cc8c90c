"""The tenant's threshold reading and the token bucket the pacer draws its requests from.

`Budget` is what fleet mode swaps: an in-process `TokenBucket` alone, a Redis-backed one shared
by every agent of a fleet (`agent.resilience.fleet`). Hand-written rather than aiolimiter or
`limits`: neither takes an injected clock, and the rate and capacity change on every call with
the latest reading and throttle state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from agent.autotask.metadata import threshold_from_wire
from agent.clock import SYSTEM_CLOCK, Clock

__all__ = ["Budget", "QuotaWaitTooLong", "ThresholdInfo", "ThresholdReader", "TokenBucket"]


@dataclass(frozen=True)
class ThresholdInfo:
    """The answer of `GET /V1.0/ThresholdInformation`."""

    threshold: int = 10_000
    timeframe_minutes: float = 60.0
    current: int = 0

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ThresholdInfo:
        """The reading, or `ValueError` when it cannot be one (`threshold_from_wire`'s rule: a
        value missing, not a number, or impossible)."""
        wire = threshold_from_wire(body)
        return cls(wire.limit, float(wire.timeframe_minutes), wire.used)


class Budget(Protocol):
    """A token bucket: `try_take` takes `cost` tokens and returns 0, or returns seconds to wait;
    `agents` is how many agents draw from it (the fleet's roster; 0 when it cannot say)."""

    async def try_take(
        self, cost: float, rate: float, capacity: float, window: float = 3600.0
    ) -> float: ...

    def agents(self) -> int: ...


class TokenBucket:
    """An in-process token bucket on the injected clock."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK, capacity: float = 10.0) -> None:
        self._clock = clock
        self._tokens = capacity
        self._stamp = clock.monotonic()

    def take_now(self, cost: float, rate: float, capacity: float) -> float:
        now = self._clock.monotonic()
        self._tokens = min(capacity, self._tokens + (now - self._stamp) * rate)
        self._stamp = now
        # The tolerance keeps float rounding from asking for waits too small to move the clock.
        if self._tokens >= cost - 1e-9:
            self._tokens = max(0.0, self._tokens - cost)
            return 0.0
        return max(0.001, (cost - self._tokens) / rate) if rate > 0 else float("inf")

    async def try_take(
        self, cost: float, rate: float, capacity: float, window: float = 3600.0
    ) -> float:
        return self.take_now(cost, rate, capacity)

    def agents(self) -> int:
        return 0  # no roster: the pacer counts the agents from the tenant's readings


USAGE_UNKNOWN = "the tenant's usage could not be read: calls wait for a reading"


class QuotaWaitTooLong(Exception):
    """Waiting for budget would take longer than the caller should block; `retry_in` seconds."""

    def __init__(self, retry_in: float, reason: str) -> None:
        super().__init__(reason)
        self.retry_in = retry_in

    @property
    def usage_unknown(self) -> bool:
        """The wait is for a threshold reading that answers, not for the allowance."""
        return str(self) == USAGE_UNKNOWN


ThresholdReader = Callable[[], Awaitable[ThresholdInfo]]
