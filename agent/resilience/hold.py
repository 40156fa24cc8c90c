"""The stop after a 429 for the tenant's hourly quota, bounded by what a reading can show.

Autotask answers a request past the threshold with 429 and a `Retry-After`. Taken at its word,
a huge value (an hour, a billion seconds, a misbehaving proxy) would stop every call until the
agent restarts, though usage in a rolling window can only fall: so the wait is capped at the
window the tenant reports, and a threshold reading may go past the stop after
`hold_reading_after` seconds (and again as often while it lasts). A reading that shows the
tenant below its threshold ends the stop at once; the pacer's own headroom and the throttle's
ramp decide how fast calls go again from there.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class QuotaHold:
    """Until when calls wait after a quota 429, and from when a reading may go anyway."""

    until: float = 0.0
    reading_from: float = 0.0

    def hold(self, now: float, retry_after: float, window: float, reading_after: float) -> float:
        """Stop calls for `retry_after` seconds, capped at `window`; returns the capped wait."""
        wait = min(max(0.0, retry_after), max(0.0, window))
        self.until = max(self.until, now + wait)
        self.reading_from = now + min(wait, max(0.0, reading_after))
        return wait

    def active(self, now: float) -> bool:
        return now < self.until

    def remaining(self, now: float, *, reading: bool = False) -> float:
        """Seconds a call (or a reading) still waits; 0 when it may go."""
        if not self.active(now):
            return 0.0
        end = min(self.until, self.reading_from) if reading else self.until
        return max(0.0, end - now)

    def next_chance(self, now: float, next_reading: float) -> float:
        """Seconds until calls may go or a reading may end the stop, whichever is sooner."""
        if not self.active(now):
            return 0.0
        chance = min(self.until, max(self.reading_from, next_reading))
        return max(0.001, chance - now)

    def read(self, now: float, below_threshold: bool) -> None:
        """A reading was answered: one showing the tenant below its threshold ends the stop."""
        if below_threshold and self.active(now):
            self.until = now
