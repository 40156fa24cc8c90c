"""Circuit breakers per (zone, endpoint): stop calling what is failing, probe, and recover.

A breaker trips on the very call whose outcome crosses a threshold, synchronously, so it is open
before the caller's next line runs. States:

    CLOSED --(failure or slow-call ratio over the window, min calls met)--> OPEN
    OPEN --(break time elapsed, checked on access)--> HALF_OPEN
    HALF_OPEN --(all `probes` probe calls succeed)--> CLOSED
    HALF_OPEN --(any probe fails)--> OPEN, with a longer break
    any --isolate()--> ISOLATED (rejects everything) --reset()--> CLOSED

Break time doubles with each opening (capped) and the count of openings is forgotten after the
breaker has stayed closed for `stable_seconds`.

Adaptive threshold: the breaker keeps a slow exponentially weighted average of the failure rate
it sees while closed (`baseline`, alpha `baseline_alpha` per call). The failure ratio that trips
it is `clamp(baseline + adapt_margin, failure_threshold, max_failure_threshold)`: an endpoint that
chronically fails 30 % of calls (a noisy link) trips at 55 % rather than on its everyday noise,
while a healthy endpoint keeps the configured 50 %. The baseline moves slowly, so a sudden outage
still trips quickly.

Hand-written rather than taken from pybreaker/aiobreaker: those count consecutive failures only,
with no sliding ratio, slow calls, probe count, growing break time or injected clock.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from agent.clock import SYSTEM_CLOCK, Clock
from agent.resilience.events import BreakerChanged, EventHub

ZONE_WIDE = "*"


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"
    ISOLATED = "isolated"


@dataclass(frozen=True)
class BreakerSettings:
    """Thresholds and timings of a breaker; defaults suit one Autotask endpoint."""

    window_seconds: float = 60.0
    window_size: int = 100
    min_calls: int = 10
    failure_threshold: float = 0.5
    max_failure_threshold: float = 0.9
    adapt_margin: float = 0.25
    baseline_alpha: float = 0.02
    slow_call_seconds: float = 10.0
    slow_threshold: float = 0.8
    probes: int = 3
    break_seconds: float = 5.0
    max_break_seconds: float = 300.0
    stable_seconds: float = 300.0


class BreakerOpenError(Exception):
    """The breaker refused the call; `retry_in` says when it may admit calls again (seconds)."""

    def __init__(self, zone: str, endpoint: str, state: BreakerState, retry_in: float) -> None:
        super().__init__(f"circuit {state} for {endpoint} in zone {zone}")
        self.zone = zone
        self.endpoint = endpoint
        self.state = state
        self.retry_in = retry_in


@dataclass(frozen=True)
class Permit:
    """Admission of one call; outcomes of permits from an earlier state are ignored."""

    generation: int
    probe: bool


class CircuitBreaker:
    """One breaker; not thread-safe, meant for one asyncio loop."""

    def __init__(
        self,
        zone: str,
        endpoint: str,
        settings: BreakerSettings | None = None,
        clock: Clock = SYSTEM_CLOCK,
        on_change: Callable[[BreakerChanged], None] | None = None,
    ) -> None:
        self.zone = zone
        self.endpoint = endpoint
        self.settings = settings or BreakerSettings()
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._generation = 0
        self._window: deque[tuple[float, bool, bool]] = deque(maxlen=self.settings.window_size)
        self._opened_until = 0.0
        self._openings = 0
        self._closed_since = clock.monotonic()
        self._probes_admitted = 0
        self._probe_successes = 0
        self.baseline = 0.0

    # -- reading ---------------------------------------------------------------------------------
    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock.monotonic() >= self._opened_until:
            self._move(BreakerState.HALF_OPEN, "break time over; probing")
        return self._state

    @property
    def failure_threshold(self) -> float:
        s = self.settings
        return min(
            s.max_failure_threshold, max(s.failure_threshold, self.baseline + s.adapt_margin)
        )

    @property
    def opened_until(self) -> float:
        return self._opened_until

    @property
    def openings(self) -> int:
        return self._openings

    def ratios(self) -> tuple[int, float, float]:
        """Calls in the window, their failure ratio and their slow-call ratio."""
        self._prune()
        n = len(self._window)
        if n == 0:
            return 0, 0.0, 0.0
        failures = sum(1 for _, failed, _ in self._window if failed)
        slow = sum(1 for _, _, was_slow in self._window if was_slow)
        return n, failures / n, slow / n

    # -- calls -----------------------------------------------------------------------------------
    def acquire(self) -> Permit:
        """Admit a call or raise `BreakerOpenError`."""
        state = self.state
        if state is BreakerState.CLOSED:
            return Permit(self._generation, probe=False)
        if state is BreakerState.HALF_OPEN and self._probes_admitted < self.settings.probes:
            self._probes_admitted += 1
            return Permit(self._generation, probe=True)
        retry_in = max(0.0, self._opened_until - self._clock.monotonic())
        if state is BreakerState.HALF_OPEN:
            retry_in = min(1.0, self.settings.break_seconds)
        raise BreakerOpenError(self.zone, self.endpoint, state, retry_in)

    def success(self, permit: Permit, duration: float = 0.0) -> None:
        slow = duration >= self.settings.slow_call_seconds
        if permit.generation != self._generation:
            return
        if permit.probe:
            if slow:
                self._trip("probe call was slow")
                return
            self._probe_successes += 1
            if self._probe_successes >= self.settings.probes:
                self._close("probe calls succeeded")
            return
        self._record(failed=False, slow=slow)

    def failure(self, permit: Permit, duration: float = 0.0) -> None:
        if permit.generation != self._generation:
            return
        if permit.probe:
            self._trip("probe call failed")
            return
        self._record(failed=True, slow=duration >= self.settings.slow_call_seconds)

    def release(self, permit: Permit) -> None:
        """The call ended without an outcome that says anything about the endpoint."""
        if permit.generation == self._generation and permit.probe:
            self._probes_admitted -= 1

    # -- manual control --------------------------------------------------------------------------
    def isolate(self, reason: str = "isolated by hand") -> None:
        self._move(BreakerState.ISOLATED, reason)

    def reset(self, reason: str = "reset by hand") -> None:
        self._openings = 0
        self._close(reason)

    def end_break(self) -> None:
        """The cause of the opening is gone (e.g. the network came back): probe at once."""
        if self._state is BreakerState.OPEN:
            self._opened_until = self._clock.monotonic()

    def force_open(self, until: float, reason: str) -> None:
        """Open until a given monotonic time, e.g. because another agent's breaker opened."""
        if (
            self._state in (BreakerState.OPEN, BreakerState.ISOLATED)
            and until <= self._opened_until
        ):
            return
        self._opened_until = until
        self._move(BreakerState.OPEN, reason)

    # -- internals -------------------------------------------------------------------------------
    def _record(self, *, failed: bool, slow: bool) -> None:
        now = self._clock.monotonic()
        self._window.append((now, failed, slow))
        a = self.settings.baseline_alpha
        self.baseline = (1 - a) * self.baseline + a * (1.0 if failed else 0.0)
        n, failure_ratio, slow_ratio = self.ratios()
        if n < self.settings.min_calls:
            return
        if failure_ratio >= self.failure_threshold:
            self._trip(f"{failure_ratio:.0%} of the last {n} calls failed")
        elif slow_ratio >= self.settings.slow_threshold:
            self._trip(f"{slow_ratio:.0%} of the last {n} calls were slow")

    def _prune(self) -> None:
        horizon = self._clock.monotonic() - self.settings.window_seconds
        while self._window and self._window[0][0] < horizon:
            self._window.popleft()

    def _trip(self, reason: str) -> None:
        now = self._clock.monotonic()
        s = self.settings
        if self._state is BreakerState.CLOSED and now - self._closed_since >= s.stable_seconds:
            self._openings = 0
        self._openings += 1
        # The doubling stops long before a float would overflow (openings go on counting).
        pause = min(s.max_break_seconds, s.break_seconds * 2.0 ** min(self._openings - 1, 60))
        self._opened_until = now + pause
        self._move(BreakerState.OPEN, reason)

    def _close(self, reason: str) -> None:
        self._window.clear()
        self._closed_since = self._clock.monotonic()
        self._move(BreakerState.CLOSED, reason)

    def _move(self, new: BreakerState, reason: str) -> None:
        old = self._state
        self._state = new
        self._generation += 1
        self._probes_admitted = 0
        self._probe_successes = 0
        if old is not new and self._on_change is not None:
            event = BreakerChanged(
                self.zone, self.endpoint, str(old), str(new), reason, self._clock.monotonic()
            )
            self._on_change(event)


class BreakerRegistry:
    """Creates and holds one breaker per (zone, endpoint); `ZONE_WIDE` names a zone's breaker."""

    def __init__(
        self,
        settings: BreakerSettings | None = None,
        clock: Clock = SYSTEM_CLOCK,
        hub: EventHub | None = None,
    ) -> None:
        self.settings = settings or BreakerSettings()
        self.hub = hub or EventHub()
        self._clock = clock
        self._breakers: dict[tuple[str, str], CircuitBreaker] = {}

    def get(self, zone: str, endpoint: str = ZONE_WIDE) -> CircuitBreaker:
        key = (zone, endpoint)
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = CircuitBreaker(zone, endpoint, self.settings, self._clock, self.hub.publish)
            self._breakers[key] = breaker
        return breaker

    def states(self) -> dict[tuple[str, str], BreakerState]:
        return {key: breaker.state for key, breaker in self._breakers.items()}

    def __iter__(self) -> Iterator[CircuitBreaker]:
        return iter(list(self._breakers.values()))
