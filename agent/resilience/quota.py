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

The rate and burst feed a token bucket (`Budget`), so fleet mode can swap in a Redis-backed one and
every agent of a fleet draws from one pool. ThresholdInformation is read at a cost-aware interval,
`max_interval * (1 - usage)**2` clamped to [min_interval, max_interval] (every five minutes when
idle, every few seconds near the limit; while this agent's allowance is spent by its own requests,
every `max_interval` for the whole fleet and at least twice a window, since only a reading shows
the others' requests leaving it; when the others alone left no room, every half minute), and while
calls go out again after `burst_reread_calls` of them or, while bursting, every
`burst_reread_seconds`, so a jump in the other integrations' use is seen within a few dozen calls
(fewer if less headroom is left): past `blind_calls` since the last reading, calls wait for the
next one. The reading is a request too: it takes a token, but never waits for headroom (it is how
headroom comes back). It runs on its own schedule (`refresh_if_due`, called before any shedding
decision and at the start of every sync round): a mode entered on a high reading must be left again
when usage falls, even while every call is being shed.

A reading whose count is below this agent's own requests in the window is not believed (the
others are kept as last seen). Once a reading during a 429's stop finds the tenant still full,
every call gives up at once instead of waiting its turn for the next one. The agent's own requests
of the window survive a restart (`agent.resilience.sent_log`).

Hand-written rather than aiolimiter or `limits`: neither takes an injected clock, and the rate
and burst here change on every call with the latest reading and throttle state.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from agent.clock import SYSTEM_CLOCK, Clock
from agent.resilience import allowance
from agent.resilience.active_agents import ActiveAgents
from agent.resilience.allowance import OwnRequests, QuotaSettings
from agent.resilience.bulkhead import Kind
from agent.resilience.hold import QuotaHold
from agent.resilience.sent_log import SentLog

__all__ = [
    "Budget",
    "QuotaPacer",
    "QuotaSettings",
    "QuotaWaitTooLong",
    "ThresholdInfo",
    "TokenBucket",
]

log = logging.getLogger(__name__)

IN_FLIGHT = 10  # own requests that may be on their way when a reading is answered


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


class QuotaWaitTooLong(Exception):
    """Waiting for budget would take longer than the caller should block; `retry_in` seconds."""

    def __init__(self, retry_in: float, reason: str) -> None:
        super().__init__(reason)
        self.retry_in = retry_in


ThresholdReader = Callable[[], Awaitable[ThresholdInfo]]


class QuotaPacer:
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

    def spent_interval(self) -> float:
        """How often a reading goes while this agent's allowance is spent: own requests leaving
        the window bring headroom back without one, only the others' leaving needs a reading.
        Every agent of the fleet reads, so each reads that much less often: together they read
        about as often as one agent alone would (every `max_interval`), at least twice a window."""
        s = self.settings
        spaced = s.max_interval * self.active_agents()
        return max(s.min_interval, min(spaced, self.window / 2.0))

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

    def read_interval(self) -> float:
        s = self.settings
        if self.headroom() < 1.0:
            mine = allowance.allowance(s, self.info.threshold, self.others, self.active_agents())
            if mine >= 1.0 and mine >= self.own() / 2:  # spent by its own requests
                return self.spent_interval()
            # Spent by the others alone: only a reading can show their requests gone (a spike
            # of another integration may pass in seconds), as often as `others_spent_interval`
            # for the whole fleet.
            spaced = s.others_spent_interval * self.active_agents()
            return max(s.min_interval, min(spaced, self.spent_interval()))
        usage = min(1.0, max(0.0, self.usage))
        return min(s.max_interval, max(s.min_interval, s.max_interval * (1.0 - usage) ** 2))

    # -- pacing ----------------------------------------------------------------------------------
    async def acquire(self, kind: Kind = Kind.READ) -> None:
        """Wait until one request may be sent, or raise `QuotaWaitTooLong`."""
        waited = 0.0
        while True:
            await self._maybe_read_threshold()
            wait, reason = await self._try(kind)
            if wait <= 0:
                return
            if waited + wait > self.settings.max_wait:
                raise QuotaWaitTooLong(wait, reason)
            waited += wait
            await self._clock.sleep(wait)

    async def refresh_if_due(self) -> bool:
        """Read ThresholdInformation if its interval has passed; True when a reading was taken."""
        before = self.reads
        await self._maybe_read_threshold()
        return self.reads > before

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
        if not reading and self.headroom() < 1.0:
            return self._until_headroom(now), "this agent's share of the hour is used"
        spaced = None if reading else self.spacing(kind)
        if spaced is not None:
            wait = self._spaced[kind].take_now(1.0, spaced, max(1.0, s.tier_burst))
            if wait > 0:
                return wait, "near the tenant's latency tier: calls spaced out"
        rate, capacity = self.terms(reading=reading)
        wait = await self._budget.try_take(1.0, rate, capacity, self.window)
        if wait > 0:
            return wait, "request budget exhausted for now"
        self._own.add(self._clock.monotonic())
        self._sent_total += 1  # every request of ours reaches the tenant's count
        if not reading:
            self._sent_since_read += 1
        return 0.0, ""

    def _until_headroom(self, now: float) -> float:
        """Headroom comes back when an own request leaves the window or at the next reading."""
        waits = [max(self.settings.min_interval, self._next_read - now)]
        expiry = self._own.next_expiry(now, self.window)
        if expiry is not None:
            waits.append(expiry)
        return max(0.001, min(waits))

    def save_sent(self) -> None:
        """Keep this agent's requests of the window for the pacer after a restart."""
        if self.sent_log is not None:
            self.sent_log.save(self._own.times(self._clock.monotonic(), self.window))

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

    def _next_reading(self) -> float:
        return self._next_read if self._read is not None else float("inf")

    def on_thread_limited(self) -> None:
        """Too many concurrent calls: halve the pace at once, recover gradually."""
        now = self._clock.monotonic()
        current = self.multiplier
        self._multiplier_floor = max(0.05, current * self.settings.thread_throttle_factor)
        self._throttled_at = now
        self._quota_throttled = self._quota_throttled and current < 1.0

    def _reading_due(self) -> bool:
        s, now = self.settings, self._clock.monotonic()
        if now >= self._next_read or self._sent_since_read >= self._reread_after:
            return True
        elapsed = now - self._read_at
        if elapsed < s.burst_reread_seconds or self.spacing(Kind.WRITE) is not None:
            return False
        # Bursting: spending faster than twice the share's hourly pace since the reading.
        sustained = s.share * self.info.threshold / self.window
        return self._sent_since_read > 2.0 * sustained * elapsed

    async def _maybe_read_threshold(self) -> None:
        if self._read is None:
            return
        while (under_way := self._reading) is not None:
            if self._sent_since_read < self._blind_limit():
                return
            await under_way.wait()  # spent enough blind: the answer is due any moment
        if not self._reading_due():
            return
        done = self._reading = asyncio.Event()
        try:
            await self._take_for_reading()
            info = await self._read()
            self.reads += 1
            now = self._clock.monotonic()
            # The reading counts itself and every request of ours that reached the server.
            own = self._own.count(now, info.timeframe_minutes * 60)
            info = self._plausible(info, own)
            self._own_at_reading = own
            self.info = info
            # Agents seen at work are counted while the window still holds their requests.
            self.agents.memory = self.window
            own_held = self._own_at_reading
            self.agents.observe(now, info.current, self._sent_total, info.threshold, own_held)
            self._read_at, self._sent_since_read = now, 0
            self._reread_after = float(max(1, self.settings.burst_reread_calls))
            if not self.agents.seen(now):  # how many spend with us is not known yet
                self._reread_after = min(self._reread_after, self.probe())
            self._after_reading(now, info)
            self.save_sent()
        except QuotaWaitTooLong:
            return  # no budget for the reading itself; the caller's own wait will say so
        except Exception as error:  # a failed reading keeps the old estimate; pacing goes on
            log.warning("threshold reading failed: %s", error)
            self._read_at, self._sent_since_read = self._clock.monotonic(), 0
        finally:
            self._reading = None
            done.set()
            now = self._clock.monotonic()
            self._next_read = now + self.read_interval()
            if self._hold.active(now):  # still stopped: the next reading may end it
                self._hold.reading_from = max(
                    self._hold.reading_from, now + self.settings.hold_reading_after
                )
                self._next_read = min(self._next_read, self._hold.reading_from)

    def _plausible(self, info: ThresholdInfo, own: int) -> ThresholdInfo:
        """A count below this agent's own requests in the window (less those still on their way)
        is no count of the tenant: the others are taken as the last reading showed them. Said
        once, not at every reading."""
        if info.current + IN_FLIGHT >= own:
            self._implausible_said = False
            return info
        if not self._implausible_said:
            self._implausible_said = True
            log.warning(
                "the tenant's request count (%d) is below this agent's own requests in the "
                "window (%d): the count is not believed, the last one's others are kept",
                info.current,
                own,
            )
        return replace(info, current=own + self.others)

    def _after_reading(self, now: float, info: ThresholdInfo) -> None:
        """A reading answered while stopped by a 429: room ends the stop and the ramp starts now.
        Usage below the latency tier ends the ramp after a quota 429, whether the stop is still
        on or has ended (a short Retry-After ends it before the first reading may go): the 429
        no longer says anything about the tenant, usage cannot fall that far within seconds of
        reaching the threshold."""
        held = self._hold.active(now)
        if held:
            room = info.current < info.threshold
            self._hold.read(now, room)
            self._hold_confirmed = not room
            if not room:
                return
        if self._throttled_at is None or not self._quota_throttled:
            return
        if info.current < self.settings.latency_tier * info.threshold:
            self._throttled_at = None
        elif held:
            self._throttled_at = min(self._throttled_at, now)

    def _blind_limit(self) -> float:
        """Calls that may go while a reading is under way: `blind_calls`, or only the probe
        while the fleet is not yet seen."""
        if self.agents.seen(self._clock.monotonic()):
            return self.settings.blind_calls
        return min(float(self.settings.blind_calls), self.probe())

    async def _take_for_reading(self) -> None:
        """Our own bookkeeping takes a token like any request, past 50 % and without headroom."""
        waited = 0.0
        while True:
            wait, reason = await self._try(Kind.WRITE, reading=True)
            if wait <= 0:
                return
            if waited + wait > self.settings.max_wait:
                raise QuotaWaitTooLong(wait, reason)
            waited += wait
            await self._clock.sleep(wait)
