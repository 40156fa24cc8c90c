"""When the pacer reads ThresholdInformation, and what it makes of each answer.

A reading is a request too: it takes a token, but never waits for headroom (it is how headroom
comes back). It runs on its own schedule (`refresh_if_due`, called before any shedding decision
and at the start of every sync round, so a mode entered on a high reading is left again when usage
falls, even while every call is being shed): at a cost-aware interval,
`max_interval * (1 - usage)**2` clamped to [min_interval, max_interval] (every five minutes when
idle, every few seconds near the limit); while this agent's allowance is spent by its own
requests, every `max_interval` for the whole fleet and at least twice a window, since only a
reading shows the others' requests leaving it; when the others alone left no room, every half
minute. While calls go out it reads again after `burst_reread_calls` of them or, while bursting,
every `burst_reread_seconds`, so a jump in the other integrations' use is seen within a few dozen
calls; past `blind_calls` since the last reading, calls wait for the next one.

A reading that fails (no answer, an error, an answer that is no reading: a value missing, not a
number, or impossible) keeps the last estimate, and the calls made since the last reading that
answered still count: past `blind_calls` calls wait, and the reading is tried again after
`min_interval`, twice that after the next failure, up to `max_interval`.

A count below this agent's own requests in the window is not believed (the others are kept as
last seen). A reading during a 429's stop that shows room ends the stop; one that finds the
tenant still full makes every call give up at once instead of waiting its turn for the next one.
The agent's own requests of the window go to the sent log at every reading.

`ThresholdReadings` is the part of `QuotaPacer` that does this; the pacer supplies the state and
the arithmetic of the allowance.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from agent.clock import Clock
from agent.resilience import allowance
from agent.resilience.active_agents import ActiveAgents
from agent.resilience.allowance import OwnRequests, QuotaSettings
from agent.resilience.budget import QuotaWaitTooLong, ThresholdInfo, ThresholdReader
from agent.resilience.bulkhead import Kind
from agent.resilience.hold import QuotaHold
from agent.resilience.sent_log import SentLog

log = logging.getLogger(__name__)

IN_FLIGHT = 10  # own requests that may be on their way when a reading is answered


class ThresholdReadings:
    """The reading schedule of `QuotaPacer` (its state is set up by the pacer)."""

    settings: QuotaSettings
    info: ThresholdInfo
    agents: ActiveAgents
    sent_log: SentLog | None
    reads: int
    _read: ThresholdReader | None
    _clock: Clock
    _own: OwnRequests
    _own_at_reading: int
    _sent_total: int
    _sent_since_read: int
    _read_failures: int
    _reread_after: float
    _read_at: float
    _next_read: float
    _reading: asyncio.Event | None
    _hold: QuotaHold
    _throttled_at: float | None
    _quota_throttled: bool
    _implausible_said: bool
    _hold_confirmed: bool
    _saving: asyncio.Future[None] | None
    _save_wanted: bool

    # -- supplied by the pacer -------------------------------------------------------------------
    @property
    def window(self) -> float:
        raise NotImplementedError

    @property
    def others(self) -> int:
        raise NotImplementedError

    @property
    def usage(self) -> float:
        raise NotImplementedError

    def own(self) -> int:
        raise NotImplementedError

    def active_agents(self) -> int:
        raise NotImplementedError

    def headroom(self) -> float:
        raise NotImplementedError

    def probe(self) -> float:
        raise NotImplementedError

    def spacing(self, kind: Kind = Kind.WRITE) -> float | None:
        raise NotImplementedError

    async def _take(self, kind: Kind, *, reading: bool = False) -> None:
        raise NotImplementedError

    # -- the schedule ----------------------------------------------------------------------------
    def spent_interval(self) -> float:
        """How often a reading goes while this agent's allowance is spent: own requests leaving
        the window bring headroom back without one, only the others' leaving needs a reading.
        Every agent of the fleet reads, so each reads that much less often: together they read
        about as often as one agent alone would (every `max_interval`), at least twice a window."""
        s = self.settings
        spaced = s.max_interval * self.active_agents()
        return max(s.min_interval, min(spaced, self.window / 2.0))

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

    async def refresh_if_due(self) -> bool:
        """Read ThresholdInformation if its interval has passed; True when a reading was taken."""
        before = self.reads
        await self._maybe_read_threshold()
        return self.reads > before

    async def save_sent(self) -> None:
        """Keep this agent's requests of the window for the pacer after a restart (when the link
        closes: after any write a reading started)."""
        if self._saving is not None:
            await asyncio.gather(self._saving, return_exceptions=True)
        if self.sent_log is not None:
            await self.sent_log.save_async(self._own.times(self._clock.monotonic(), self.window))

    def _save_sent_soon(self) -> None:
        """Write the record in the background (at a reading): a slow disk delays no call.
        While a write is under way the next ones only ask for another, which then writes the
        latest requests."""
        if self.sent_log is None:
            return
        self._save_wanted = True
        if self._saving is None or self._saving.done():
            self._saving = asyncio.ensure_future(self._save_while_wanted(self.sent_log))

    async def _save_while_wanted(self, sent_log: SentLog) -> None:
        while self._save_wanted:
            self._save_wanted = False
            await sent_log.save_async(self._own.times(self._clock.monotonic(), self.window))

    def _next_reading(self) -> float:
        return self._next_read if self._read is not None else float("inf")

    def _reading_due(self) -> bool:
        s, now = self.settings, self._clock.monotonic()
        if self._read_failures:  # tried again when its backoff has passed, not at every call
            return now >= self._next_read
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
            self._read_failures = 0
            self._reread_after = float(max(1, self.settings.burst_reread_calls))
            if not self.agents.seen(now):  # how many spend with us is not known yet
                self._reread_after = min(self._reread_after, self.probe())
            self._after_reading(now, info)
            self._save_sent_soon()
        except QuotaWaitTooLong:
            return  # no budget for the reading itself; the caller's own wait will say so
        except Exception as error:
            # A failed reading keeps the old estimate, and the calls made blind since the last
            # one still count: past `blind_calls` they wait until a reading succeeds.
            self._read_failures += 1
            log.warning("threshold reading failed: %s", error)
        finally:
            self._reading = None
            done.set()
            now = self._clock.monotonic()
            self._next_read = now + self._read_retry_interval()
            if self._hold.active(now):  # still stopped: the next reading may end it
                self._hold.reading_from = max(
                    self._hold.reading_from, now + self.settings.hold_reading_after
                )
                self._next_read = min(self._next_read, self._hold.reading_from)

    def _read_retry_interval(self) -> float:
        """The usual interval; after failed readings `min_interval`, doubling each time up to
        `max_interval`."""
        s = self.settings
        if not self._read_failures:
            return self.read_interval()
        return min(s.max_interval, s.min_interval * 2.0 ** min(self._read_failures - 1, 16))

    def blind(self) -> bool:
        """Whether the calls made since the last reading that succeeded are all that may go
        without one (the readings since failed)."""
        return (
            self._read is not None
            and self._read_failures > 0
            and self._sent_since_read >= self._blind_limit()
        )

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
        await self._take(Kind.WRITE, reading=True)
