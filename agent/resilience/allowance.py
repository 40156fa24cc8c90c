"""What this agent may spend of the tenant's hourly threshold, and how fast near the latency tiers.

Pure arithmetic on one threshold reading, kept apart from the pacer's waiting so it can be read
(and tested) as the policy it is:

- **Allowance.** The threshold is shared by every integration of the tenant. A `reserve` of it
  (a tenth) is never spent by this agent: it is what keeps the tenant open for everyone however
  many agents run, whatever their share, and it pays for the threshold readings themselves. Of
  what the others leave below the reserve this agent may use `share`:
  `share * (threshold * (1 - reserve) - others)` requests in the rolling window, of which its own
  requests still in the window are already spent. The rest is its headroom, spendable at once.
  Several agents each doing this settle below the reserve (n agents at share 1/2 use n/(n+1) of
  what lies below it; at share 1 they share it out), however they interleave.
  Where several agents of the tenant are at work (`active_agents`: seen in the tenant's
  count, or the policy's `fleet_size`), each takes its part of that share, so together
  they stay under `share` of what lies below the reserve.
- **Tiers.** Autotask adds about 0.5 s per call from 50 % of the threshold and 1 s from 75 %
  (FACTS.md). Below its edge (40 % of the threshold for background work, 50 % for writes) a call
  may go as soon as a slot is free; past it calls are spaced out: background work slows from
  `background_rate` to nothing at 50 %, where it stops; writes go at a rate falling from
  `write_rate_at_half` to `write_rate_at_three_quarters` at 75 %, and on towards nothing at the
  full threshold. Usage is re-estimated at every call, so a burst carries the tenant up to the
  edge and the spacing takes over there.
"""

from __future__ import annotations

import contextlib
from collections import deque
from dataclasses import dataclass

from agent.resilience.bulkhead import Kind


@dataclass(frozen=True)
class QuotaSettings:
    share: float = 0.8  # of what the tenant's other integrations leave below the reserve
    reserve: float = 0.1  # of the threshold no agent spends, whatever its share
    burst: float | None = None  # at most this many requests at once (None: the headroom)
    background_slow_from: float = 0.4
    latency_tier: float = 0.5
    slow_tier: float = 0.75
    tier_burst: float = 3.0  # requests in a row once past an edge, or after a 429
    background_rate: float = 5.0  # per second at `background_slow_from`, nothing at the tier
    write_rate_at_half: float = 10.0
    write_rate_at_three_quarters: float = 2.0
    refill_seconds: float = 60.0  # a spent burst comes back within this time
    burst_reread_calls: int = 20  # read again after this many calls
    burst_reread_seconds: float = 3.0  # while bursting, read again this often
    blind_calls: int = 40  # calls since the last reading past which calls wait for the next
    hold_reading_after: float = 10.0  # after a 429 a reading may go this soon, Retry-After or not
    floor_rate: float = 0.01
    min_interval: float = 5.0
    max_interval: float = 300.0
    others_spent_interval: float = 30.0  # reading again when the others left no room at all
    recovery_seconds: float = 120.0
    quota_throttle_multiplier: float = 0.25
    thread_throttle_factor: float = 0.5
    max_wait: float = 30.0
    fleet_size: int = 1  # agents of the tenant assumed at least (`active_agents`)
    jitter_per_agent: float = 0.25  # a restart waits up to this times (agents - 1) seconds
    probe_requests: float = 20.0  # read again after this many while the fleet is not yet seen
    probe_fleet: float = 50.0  # ... and after at most this part of the allowance when alone


class OwnRequests:
    """This agent's own requests in the rolling window (monotonic send times, oldest first)."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()

    def add(self, at: float) -> None:
        self._times.append(at)

    def remove(self, at: float) -> None:
        """Take back a request added at `at` that did not go (nothing if it left the window)."""
        if self._times and self._times[-1] == at:
            self._times.pop()  # the usual case: the newest
            return
        with contextlib.suppress(ValueError):
            self._times.remove(at)

    def times(self, now: float, window: float) -> list[float]:
        """Send times still in the window, oldest first."""
        self.count(now, window)
        return list(self._times)

    def count(self, now: float, window: float) -> int:
        times = self._times
        while times and times[0] <= now - window:
            times.popleft()
        return len(times)

    def next_expiry(self, now: float, window: float) -> float | None:
        """Seconds until the oldest request leaves the window, None when there is none."""
        if not self.count(now, window):
            return None
        return max(0.0, self._times[0] + window - now)


def _between(value: float, start: float, end: float) -> float:
    """Where `value` lies from `start` (0.0) to `end` (1.0), clamped."""
    if end <= start:
        return 1.0
    return min(1.0, max(0.0, (value - start) / (end - start)))


def allowance(s: QuotaSettings, threshold: int, others: float, agents: int = 1) -> float:
    """Requests this agent may have in the window: its part (of `agents` at work, this one
    included) of its share of what the others leave below the reserve. Each of n agents
    taking `share * (spendable - others) / n` keeps them together under `share` of it,
    however they interleave: the others' use only ever shrinks each part."""
    spendable = threshold * (1.0 - min(1.0, max(0.0, s.reserve)))
    return max(0.0, s.share * (spendable - others) / max(1, agents))


def background_paused(s: QuotaSettings, usage: float) -> bool:
    return usage >= s.latency_tier


def burst(s: QuotaSettings, headroom: float) -> float:
    """Requests that may go at once: the headroom (capped by `burst` when set)."""
    cap = headroom if s.burst is None else min(headroom, s.burst)
    return max(0.0, cap)


def edge(s: QuotaSettings, kind: Kind) -> float:
    """The usage from which calls of `kind` are spaced out instead of bursting."""
    return s.latency_tier if kind is Kind.WRITE else s.background_slow_from


def tier_rate(s: QuotaSettings, kind: Kind, usage: float) -> float | None:
    """Requests per second for `kind` past its edge; None below it (the burst may go)."""
    if usage < edge(s, kind):
        return None
    if kind is not Kind.WRITE:
        left = 1.0 - _between(usage, s.background_slow_from, s.latency_tier)
        return max(s.floor_rate, s.background_rate * left)
    if usage < s.slow_tier:
        t = _between(usage, s.latency_tier, s.slow_tier)
        return s.write_rate_at_half + (s.write_rate_at_three_quarters - s.write_rate_at_half) * t
    left = 1.0 - _between(usage, s.slow_tier, 1.0)
    return max(s.floor_rate, s.write_rate_at_three_quarters * left)


def refill_rate(s: QuotaSettings, sustained: float, capacity: float) -> float:
    """How fast a spent burst comes back: within `refill_seconds`, never slower than the share's
    own hourly pace (the window rolls on, and the headroom caps what can be spent anyway)."""
    return max(sustained, capacity / s.refill_seconds)
