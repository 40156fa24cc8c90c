"""Pacing against the tenant's hourly request threshold with a token bucket.

The pacer keeps the whole tenant below `share` of its threshold. The bucket refills at
`share * threshold / timeframe` per second, throttled further as the estimated usage nears the
target and by a multiplier that drops at once on a 429 and climbs back linearly over
`recovery_seconds`. Background work (reads, metadata) is held back entirely while usage is past
the 50 % latency tier, so only technician writes ever push the tenant into the slower tier.

ThresholdInformation is read at a cost-aware interval, `max_interval * (1 - usage)**2` clamped to
[min_interval, max_interval]: every five minutes when idle, every few seconds near the limit. The
read itself is a request, so it takes a token like any other call. It runs on its own schedule
(`refresh_if_due`, called before any shedding decision and at the start of every sync round), not
only when a call gets through to `acquire`: a mode entered on a high reading must be left again
when usage falls, even while every call is being shed.

The bucket is behind the small `Budget` protocol so fleet mode can swap in a Redis-backed one.
Hand-written rather than aiolimiter or `limits`: neither takes an injected clock, and the rate
here changes on every call with the latest threshold reading and throttle state.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from agent.clock import SYSTEM_CLOCK, Clock
from agent.resilience.bulkhead import Kind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ThresholdInfo:
    """The answer of `GET /V1.0/ThresholdInformation`."""

    threshold: int = 10_000
    timeframe_minutes: float = 60.0
    current: int = 0

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ThresholdInfo:
        lowered = {str(k).lower(): v for k, v in body.items()}
        return cls(
            threshold=int(lowered.get("externalrequestthreshold", 10_000)),
            timeframe_minutes=float(lowered.get("requestthresholdtimeframe", 60)),
            current=int(lowered.get("currenttimeframerequestcount", 0)),
        )


class Budget(Protocol):
    """A token bucket: `try_take` takes `cost` tokens and returns 0, or returns seconds to wait."""

    async def try_take(self, cost: float, rate: float, capacity: float) -> float: ...


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

    async def try_take(self, cost: float, rate: float, capacity: float) -> float:
        return self.take_now(cost, rate, capacity)


class QuotaWaitTooLong(Exception):
    """Waiting for budget would take longer than the caller should block; `retry_in` seconds."""

    def __init__(self, retry_in: float, reason: str) -> None:
        super().__init__(reason)
        self.retry_in = retry_in


@dataclass(frozen=True)
class QuotaSettings:
    share: float = 0.8
    latency_tier: float = 0.5
    burst: float = 10.0
    squeeze_from: float = 0.9
    floor_rate: float = 0.01
    min_interval: float = 5.0
    max_interval: float = 300.0
    recovery_seconds: float = 120.0
    quota_throttle_multiplier: float = 0.25
    thread_throttle_factor: float = 0.5
    max_wait: float = 30.0


ThresholdReader = Callable[[], Awaitable[ThresholdInfo]]


class QuotaPacer:
    """Decides when the next request may go, from the tenant's threshold and recent throttling."""

    def __init__(
        self,
        read_threshold: ThresholdReader | None = None,
        settings: QuotaSettings | None = None,
        clock: Clock = SYSTEM_CLOCK,
        budget: Budget | None = None,
    ) -> None:
        self.settings = settings or QuotaSettings()
        self._read = read_threshold
        self._clock = clock
        self._budget: Budget = budget or TokenBucket(clock, self.settings.burst)
        self.info = ThresholdInfo()
        self._sent_since_read = 0
        self._next_read = clock.monotonic()  # read before the first call
        self._reading = False
        self._blocked_until = 0.0
        self._multiplier_floor = 1.0
        self._throttled_at: float | None = None
        self.reads = 0

    # -- what the rest of the agent reads --------------------------------------------------------
    @property
    def usage(self) -> float:
        """Estimated share of the threshold used in the current rolling timeframe."""
        return (self.info.current + self._sent_since_read) / max(1, self.info.threshold)

    @property
    def multiplier(self) -> float:
        if self._throttled_at is None:
            return 1.0
        elapsed = max(0.0, self._clock.monotonic() - self._throttled_at)
        floor = self._multiplier_floor
        return min(1.0, floor + (1.0 - floor) * elapsed / self.settings.recovery_seconds)

    def rate(self) -> float:
        """Requests per second this agent may send now."""
        s = self.settings
        target = s.share * self.info.threshold
        base = target / (self.info.timeframe_minutes * 60.0)
        used = self.usage * self.info.threshold
        if used >= target:
            return s.floor_rate
        squeeze_start = s.squeeze_from * target
        if used > squeeze_start:
            base *= (target - used) / (target - squeeze_start)
        return max(s.floor_rate, base * self.multiplier)

    def read_interval(self) -> float:
        s = self.settings
        usage = min(1.0, max(0.0, self.usage))
        return min(s.max_interval, max(s.min_interval, s.max_interval * (1.0 - usage) ** 2))

    # -- pacing ----------------------------------------------------------------------------------
    async def acquire(self, kind: Kind = Kind.READ) -> None:
        """Wait until one request may be sent, or raise `QuotaWaitTooLong`."""
        await self._maybe_read_threshold()
        await self._take(kind)

    async def refresh_if_due(self) -> bool:
        """Read ThresholdInformation if its interval has passed; True when a reading was taken."""
        before = self.reads
        await self._maybe_read_threshold()
        return self.reads > before

    async def _take(self, kind: Kind) -> None:
        s = self.settings
        waited = 0.0
        while True:
            now = self._clock.monotonic()
            if kind is not Kind.WRITE and self.usage >= s.latency_tier:
                raise QuotaWaitTooLong(
                    self.read_interval(), "background work paused: quota past 50 %"
                )
            blocked = self._blocked_until - now
            if blocked > 0:
                wait = blocked
            else:
                wait = await self._budget.try_take(1.0, self.rate(), s.burst)
                if wait <= 0:
                    self._sent_since_read += 1
                    return
            if waited + wait > s.max_wait:
                raise QuotaWaitTooLong(wait, "request budget exhausted for now")
            waited += wait
            await self._clock.sleep(wait)

    def on_quota_exceeded(self, retry_after: float) -> None:
        """A 429 for the hourly quota: stop until Retry-After, then ramp up from a quarter."""
        now = self._clock.monotonic()
        self._blocked_until = max(self._blocked_until, now + retry_after)
        self._multiplier_floor = self.settings.quota_throttle_multiplier
        self._throttled_at = now + retry_after
        self._next_read = min(self._next_read, now + retry_after)

    def on_thread_limited(self) -> None:
        """Too many concurrent calls: halve the pace at once, recover gradually."""
        now = self._clock.monotonic()
        current = self.multiplier
        self._multiplier_floor = max(0.05, current * self.settings.thread_throttle_factor)
        self._throttled_at = now

    async def _maybe_read_threshold(self) -> None:
        if self._read is None or self._reading or self._clock.monotonic() < self._next_read:
            return
        self._reading = True
        try:
            await self._take(Kind.WRITE)  # our own bookkeeping; past 50 % it must still run
            info = await self._read()
            self.reads += 1
            self.info = info
            # The reading already counts itself, and every call we made before it.
            self._sent_since_read = 0
        except QuotaWaitTooLong:
            return  # no budget for the reading itself; the caller's own wait will say so
        except Exception as error:  # a failed reading keeps the old estimate; pacing goes on
            log.warning("threshold reading failed: %s", error)
        finally:
            self._reading = False
            self._next_read = self._clock.monotonic() + self.read_interval()
