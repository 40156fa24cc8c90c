"""Backoff delays, decaying attempt counts and the stored next-attempt time of a queued write.

Full jitter (`uniform(0, min(cap, base * 2**n))`) is used rather than decorrelated jitter because
it depends only on the attempt number: the outbox persists the attempt count and the next attempt
time, and after a restart the schedule continues without also having to persist the previous
delay (which decorrelated jitter feeds forward). Both spread retries equally well in AWS's
published comparison; full jitter does the least total work.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agent.resilience.classify import Action, Classification


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter and a cap, honouring a server's Retry-After."""

    base: float = 1.0
    cap: float = 300.0
    multiplier: float = 2.0

    def ceiling(self, attempt: int) -> float:
        """The largest delay after `attempt` failures (attempt counts from 1)."""
        exponent = max(0, attempt - 1)
        # Avoid float overflow for absurd attempt numbers: the cap is reached long before.
        if exponent > 64:
            return self.cap
        return min(self.cap, self.base * self.multiplier**exponent)

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """A jittered delay; never shorter than the server's Retry-After."""
        jittered = rng.uniform(0.0, self.ceiling(attempt))
        if retry_after is not None:
            return max(retry_after, jittered)
        return jittered


@dataclass
class AttemptCount:
    """Failures of one key that fade away after a healthy period.

    Each `decay_after` seconds without a failure forgives one attempt, so an op that failed
    five times last week starts again near the short end of the backoff curve.
    """

    decay_after: float = 300.0
    attempts: int = 0
    last_failure: float | None = None

    def current(self, now: float) -> int:
        if self.last_failure is None or self.attempts == 0:
            return 0
        forgiven = math.floor(max(0.0, now - self.last_failure) / self.decay_after)
        return max(0, self.attempts - forgiven)

    def fail(self, now: float) -> int:
        self.attempts = self.current(now) + 1
        self.last_failure = now
        return self.attempts


@dataclass
class AttemptCounts:
    """Decaying attempt counts keyed by op id or endpoint."""

    decay_after: float = 300.0
    _counts: dict[str, AttemptCount] = field(default_factory=dict)

    def fail(self, key: str, now: float) -> int:
        count = self._counts.setdefault(key, AttemptCount(self.decay_after))
        return count.fail(now)

    def current(self, key: str, now: float) -> int:
        count = self._counts.get(key)
        return count.current(now) if count else 0

    def succeed(self, key: str) -> None:
        self._counts.pop(key, None)


def next_attempt_at(
    classification: Classification,
    attempt: int,
    now: datetime,
    rng: random.Random,
    backoff: Backoff | None = None,
) -> datetime | None:
    """When a queued write that just failed may be tried again (wall time, stored by the outbox).

    None means "not by itself": the op is parked, waits for credentials, or must be reconciled
    first. Throttling waits at least the server's Retry-After.
    """
    if classification.action not in (Action.RETRY_WITH_BACKOFF, Action.SLOW_DOWN):
        return None
    policy = backoff or Backoff()
    seconds = policy.delay(attempt, rng, classification.retry_after)
    return now + timedelta(seconds=seconds)


@dataclass
class RetrySchedule:
    """When a recurring background job that failed (the pull) may run again.

    Each failure in a row doubles the wait, with "equal jitter" (between half the ceiling and
    the ceiling, so the wait really grows, unlike full jitter), up to the cap; a success clears
    it. `not_before` (e.g. a shed call's own retry time) is a floor. Times are wall seconds,
    like the outbox's stored next-attempt times.
    """

    backoff: Backoff = field(default_factory=lambda: Backoff(base=10.0, cap=300.0))
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0
    next_at: float = 0.0
    last_error: str | None = None

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def fail(self, now: float, error: str, not_before: float | None = None) -> float:
        """Record a failure; returns the time the job may run again."""
        self.failures += 1
        self.last_error = error
        ceiling = self.backoff.ceiling(self.failures)
        wait = ceiling / 2 + self.rng.uniform(0.0, ceiling / 2)
        self.next_at = max(now + wait, not_before if not_before is not None else now)
        return self.next_at

    def postpone(self, now: float, error: str, until: float | None) -> float:
        """The job was refused before it reached the server (shed, circuit open): try again at
        the refusal's own time, without widening the wait, since a refusal costs no request."""
        self.last_error = error
        self.next_at = max(now, until if until is not None else now)
        return self.next_at

    def succeed(self) -> None:
        self.failures, self.next_at, self.last_error = 0, 0.0, None

    def reset(self) -> None:
        """Run at the next chance (the network came back), keeping the failure count."""
        self.next_at = 0.0
