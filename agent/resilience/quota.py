"""Pacing against the tenant's hourly request threshold: spend what is left, slow near the tiers.

Each reading of ThresholdInformation says how many requests the tenant has made in its rolling
window; those that are not this agent's own belong to its other integrations. This agent may use
`share` of what they leave (`agent.resilience.allowance`); what it has not yet used of that is
its headroom, which goes out as a burst, as fast as the bulkheads let calls overlap. A burst
stops at the next latency tier edge it has not reached (Autotask slows every call of the tenant
from 50 % of the threshold); past the edges background work slows and then waits, and writes go
at a rate that falls as usage climbs. A 429 for the hourly quota stops everything until
Retry-After (capped at the window, and ended early by a reading that shows room:
`agent.resilience.hold`), then resumes at a quarter of the share's hourly pace without bursts,
recovering over `recovery_seconds`; a thread-limit 429 halves the pace at once.

The rate and burst feed a token bucket (`agent.resilience.budget`), so fleet mode can swap in a
Redis-backed one and every agent of a fleet draws from one pool. When ThresholdInformation is
read, and what a reading changes, is `agent.resilience.readings`. The agent's own requests of the
window survive a restart (`agent.resilience.sent_log`).

Hand-written rather than aiolimiter or `limits`: neither takes an injected clock, and the rate
and burst here change on every call with the latest reading and throttle state.
"""

from __future__ import annotations

import asyncio
import math
import random

from agent.clock import SYSTEM_CLOCK, Clock
from agent.resilience import allowance
from agent.resilience.active_agents import ActiveAgents
from agent.resilience.allowance import OwnRequests, QuotaSettings
from agent.resilience.budget import (
    USAGE_UNKNOWN,
    Budget,
    QuotaWaitTooLong,
    ThresholdInfo,
    ThresholdReader,
    TokenBucket,
)
from agent.resilience.bulkhead import Kind
from agent.resilience.hold import QuotaHold
from agent.resilience.readings import ThresholdReadings
from agent.resilience.sent_log import SentLog

__all__ = [
    "Budget",
    "QuotaPacer",
    "QuotaSettings",
    "QuotaWaitTooLong",
    "ThresholdInfo",
    "TokenBucket",
]


class QuotaPacer(ThresholdReadings):
    """Decides when the next request may go, from the tenant's threshold and recent throttling."""

    def __init__(
        self,
        read_threshold: ThresholdReader | None = None,
        settings: QuotaSettings | None = None,
        clock: Clock = SYSTEM_CLOCK,
        budget: Budget | None = None,
        rng: random.Random | None = None,
        sent_log: SentLog | None = None,
    ) -> None:
        self.settings = settings or QuotaSettings()
        self._read = read_threshold
        self._clock = clock
        self._rng = rng or random.Random()
        self.agents = ActiveAgents(self.settings.fleet_size, up_to=self.settings.latency_tier)
        self._sent_total = 0
        # Starts full: the whole burst is there from the first call.
        self._budget: Budget = budget or TokenBucket(clock, float("inf"))
        # Spacing near the tiers is each agent's own: every agent sees the same tenant usage.
        self._spaced = {kind: TokenBucket(clock, self.settings.tier_burst) for kind in Kind}
        self.info = ThresholdInfo()
        self._own = OwnRequests()
        # Requests sent before a restart are still in the tenant's window: they are our own.
        self.sent_log = sent_log
        for sent in sent_log.load(self.window) if sent_log is not None else ():
            self._own.add(sent)
        self._own_at_reading = 0  # own requests in the window when the reading was answered
        self._sent_since_read = 0
        self._read_failures = 0  # readings that failed since the last one answered
        self._reread_after: float = self.settings.burst_reread_calls
        self._read_at = clock.monotonic()
        self._next_read = clock.monotonic()  # read before the first call
        self._reading: asyncio.Event | None = None  # set when the reading under way is answered
        self._hold = QuotaHold()
        self._multiplier_floor = 1.0
        self._throttled_at: float | None = None
        self._quota_throttled = False  # the throttle came from the hourly quota (else threads)
        self.reads = 0
        self._hold_until = 0.0
        self._implausible_said = False
        self._hold_confirmed = False  # a reading during the 429 stop showed the tenant still full
        self._saving: asyncio.Future[None] | None = None  # the sent log's write under way
        self._save_wanted = False  # a reading asked for a write while one was under way
        self._spread_start()

    # -- what the rest of the agent reads --------------------------------------------------------
    @property
    def window(self) -> float:
        return self.info.timeframe_minutes * 60.0

    def own(self) -> int:
        """This agent's requests in the current rolling window."""
        return self._own.count(self._clock.monotonic(), self.window)

    @property
    def others(self) -> int:
        """Requests of the tenant's other integrations at the last reading."""
        return max(0, self.info.current - self._own_at_reading)

    @property
    def usage(self) -> float:
        """Estimated share of the threshold used in the current rolling timeframe."""
        return (self.others + self.own()) / max(1, self.info.threshold)

    def active_agents(self) -> int:
        """Agents of the tenant planned for: the shared budget's roster when there is one (it
        counts every agent that drew from it: nothing to guess), else what the readings show;
        never fewer than the policy's `fleet_size`."""
        floor = max(1, self.settings.fleet_size)
        # The roster counts by the tenant's window, known from the first reading on.
        roster = self._budget.agents() if self.reads else 0
        if roster:
            return max(floor, roster)
        self.agents.fleet_size = floor
        return self.agents.count(self._clock.monotonic())

    def headroom(self) -> float:
        """Requests this agent may still make in the window: its allowance less its own use and
        the readings it will make while its allowance is spent (they go even then)."""
        s, info = self.settings, self.info
        agents = self.active_agents()
        mine = allowance.allowance(s, info.threshold, self.others, agents)
        return mine - self.own() - math.ceil(self.window / self.spent_interval())

    def probe(self) -> float:
        """Requests sent before the first reading that can show how many agents spend with this
        one: a part of what this agent alone would be allowed, as if `probe_fleet` agents came
        back at once (each learns the real number from the readings after its probe)."""
        s, info = self.settings, self.info
        alone = allowance.allowance(s, info.threshold, self.others, 1)
        return max(self.agents.min_own + 1.0, min(s.probe_requests, alone / s.probe_fleet))

    @property
    def multiplier(self) -> float:
        if self._throttled_at is None:
            return 1.0
        elapsed = max(0.0, self._clock.monotonic() - self._throttled_at)
        floor = self._multiplier_floor
        return min(1.0, floor + (1.0 - floor) * elapsed / self.settings.recovery_seconds)

    def terms(self, *, reading: bool = False) -> tuple[float, float]:
        """(refill per second, requests at once) of the request budget now."""
        s = self.settings
        sustained = s.share * self.info.threshold / self.window
        head = max(1.0, self.headroom()) if reading else self.headroom()
        capacity = allowance.burst(s, head)
        rate = allowance.refill_rate(s, sustained, capacity)
        multiplier = self.multiplier
        if multiplier < 1.0 and self._quota_throttled:
            # after a quota 429: no bursts, and at most the share's hourly pace
            rate = min(rate, sustained) * multiplier
            capacity = min(capacity, max(1.0, s.tier_burst))
        elif multiplier < 1.0:  # too many calls at once: the pace falls, the hour is not the issue
            rate *= multiplier
            capacity = min(capacity, max(1.0, s.tier_burst))
        return max(s.floor_rate, rate), capacity

    def spacing(self, kind: Kind = Kind.WRITE) -> float | None:
        """Requests per second for `kind` near the latency tiers; None below its edge."""
        tier = allowance.tier_rate(self.settings, kind, self.usage)
        if tier is None:
            return None
        return max(self.settings.floor_rate, tier * self.multiplier)

    def rate(self, kind: Kind = Kind.WRITE) -> float:
        """Requests per second this agent may send once its burst is spent."""
        refill = self.terms()[0]
        spaced = self.spacing(kind)
        return refill if spaced is None else min(refill, spaced)

    async def acquire(self, kind: Kind = Kind.READ) -> None:
        """Wait until one request may be sent, or raise `QuotaWaitTooLong`."""
        await self._take(kind)

    async def _take(self, kind: Kind, *, reading: bool = False) -> None:
        """Wait for a token of `kind` (a call reads the threshold first when it is due; the
        reading's own token is taken with `reading`), or raise `QuotaWaitTooLong`."""
        waited = 0.0
        while True:
            if not reading:
                await self._maybe_read_threshold()
            wait, reason = await self._try(kind, reading=reading)
            if wait <= 0:
                return
            if waited + wait > self.settings.max_wait:
                raise QuotaWaitTooLong(wait, reason)
            waited += wait
            await self._clock.sleep(wait)

    async def _try(self, kind: Kind, *, reading: bool = False) -> tuple[float, str]:
        """Take one token now: (0, "") when granted, else (seconds to wait, why)."""
        s = self.settings
        now = self._clock.monotonic()
        held = self._hold_until - now
        if not reading and held > 0:
            return held, "agents of the tenant restart one after another"
        if not reading and kind is not Kind.WRITE and allowance.background_paused(s, self.usage):
            raise QuotaWaitTooLong(self.read_interval(), "background work paused: quota past 50 %")
        blocked = self._hold.remaining(now, reading=reading)
        if blocked > 0:
            reason = "Autotask asked to wait (429)"
            if reading:
                return blocked, reason
            chance = self._hold.next_chance(now, self._next_reading())  # a reading may end it
            if self._hold_confirmed:
                # A reading during the stop found the tenant still full: every call gives up at
                # once (its work stays queued for a later round) rather than each holding a
                # write slot for `max_wait` while hundreds queue behind it.
                raise QuotaWaitTooLong(chance, reason)
            return chance, reason
        if not reading and self.blind():
            wait = max(0.001, self._next_read - now)
            return wait, USAGE_UNKNOWN
        if not reading and self.headroom() < 1.0:
            return self._until_headroom(now), "this agent's share of the hour is used"
        spaced = None if reading else self.spacing(kind)
        if spaced is not None:
            wait = self._spaced[kind].take_now(1.0, spaced, max(1.0, s.tier_burst))
            if wait > 0:
                return wait, "near the tenant's latency tier: calls spaced out"
        rate, capacity = self.terms(reading=reading)
        # Counted before the budget is asked (a shared one answers after a round trip): calls
        # asking meanwhile see this one in the headroom and in the calls made blind.
        sent_at = self._clock.monotonic()
        self._own.add(sent_at)
        self._sent_total += 1  # every request of ours reaches the tenant's count
        blind = 0 if reading else 1
        self._sent_since_read += blind
        try:
            wait = await self._budget.try_take(1.0, rate, capacity, self.window)
        except BaseException:  # cancelled while the budget answered (the agent closing): not sent
            wait = -1.0
            raise
        finally:
            if wait != 0.0:
                self._own.remove(sent_at)
                self._sent_total -= 1
                self._sent_since_read = max(0, self._sent_since_read - blind)
        if wait > 0:
            return wait, "request budget exhausted for now"
        return 0.0, ""

    def _until_headroom(self, now: float) -> float:
        """Headroom comes back when an own request leaves the window or at the next reading."""
        waits = [max(self.settings.min_interval, self._next_read - now)]
        expiry = self._own.next_expiry(now, self.window)
        if expiry is not None:
            waits.append(expiry)
        return max(0.001, min(waits))

    def expire_reading(self) -> None:
        """The last reading may be old news (the link was down): read again before the next call,
        and let the tenant's other agents, back at the same moment, start at different ones."""
        self._next_read = self._clock.monotonic()
        self._spread_start()

    def _spread_start(self) -> None:
        """Hold calls for a random part of `jitter_per_agent * (agents - 1)` seconds: an office
        whose link returns must not send every agent's first burst in the same second. Alone,
        an agent starts at once."""
        spread = self.settings.jitter_per_agent * (self.active_agents() - 1)
        if spread > 0:
            self._hold_until = self._clock.monotonic() + self._rng.uniform(0.0, spread)

    def on_quota_exceeded(self, retry_after: float) -> float:
        """A 429 for the hourly quota: stop until Retry-After (at most the window, and only until a
        reading shows room), then ramp up from a quarter. Returns the seconds until a call may be
        tried again: when the stop ends or a reading may end it."""
        now = self._clock.monotonic()
        s = self.settings
        wait = self._hold.hold(now, retry_after, self.window, s.hold_reading_after)
        self._hold_confirmed = False  # calls may wait for the reading that could end it
        self._multiplier_floor = s.quota_throttle_multiplier
        self._throttled_at = now + wait
        self._quota_throttled = True
        self._next_read = min(self._next_read, self._hold.reading_from)
        return self._hold.next_chance(now, self._next_reading())

    def on_thread_limited(self) -> None:
        """Too many concurrent calls: halve the pace at once, recover gradually."""
        now = self._clock.monotonic()
        current = self.multiplier
        self._multiplier_floor = max(0.05, current * self.settings.thread_throttle_factor)
        self._throttled_at = now
        self._quota_throttled = self._quota_throttled and current < 1.0
