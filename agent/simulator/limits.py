"""The tenant's hourly request threshold, its added latency, the 3-thread limit, and the time
each request takes the server to serve."""

from __future__ import annotations

import math
from collections import deque

from agent.clock import Clock
from agent.simulator.attachments import AttachmentBudget

THREAD_LIMIT = 3
WINDOW_MINUTES = 60


class RequestLedger:
    """Requests of one tenant in the rolling window, oldest first."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def prune(self, now: float, window: float) -> int:
        times = self.times
        while times and times[0] <= now - window:
            times.popleft()
        return len(times)


class Limits:
    """Admission for each request: threshold (429 + Retry-After), latency, concurrent threads.

    `time_scale` shrinks the simulator's hour and its latencies (0.01 makes the hour 36 s).
    `service_time` is the time, in simulated seconds, the server takes to serve any request
    (also scaled); a request holds its thread slot meanwhile, so concurrent calls overlap as
    they do in production and the thread limit fires.
    """

    def __init__(
        self, clock: Clock, threshold: int, time_scale: float, service_time: float = 0.0
    ) -> None:
        if service_time < 0 or not math.isfinite(service_time):
            raise ValueError("service_time must be zero or more seconds")
        self.clock = clock
        self.threshold = threshold
        self.time_scale = time_scale
        self.service_time = service_time
        self.latency_enabled = True
        self.thread_limit = THREAD_LIMIT
        self.ledgers: dict[str, RequestLedger] = {}
        self.in_flight: dict[tuple[str, str], int] = {}
        self.attachments = AttachmentBudget(clock, time_scale)

    @property
    def window(self) -> float:
        return WINDOW_MINUTES * 60 * self.time_scale

    @property
    def timeframe_minutes(self) -> int:
        """The window as ThresholdInformation reports it: whole minutes (the Swagger's int32),
        rounded up so that a client pacing by it never overruns a shortened window."""
        return max(1, math.ceil(WINDOW_MINUTES * self.time_scale - 1e-9))

    def service_delay(self) -> float:
        """Seconds the server spends on one request (before any threshold latency)."""
        return self.service_time * self.time_scale

    def ledger(self, tenant: str) -> RequestLedger:
        found = self.ledgers.get(tenant)
        if found is None:
            found = self.ledgers[tenant] = RequestLedger()
        return found

    def usage(self, tenant: str) -> int:
        """Requests counted in the current window."""
        return self.ledger(tenant).prune(self.clock.monotonic(), self.window)

    def admit(self, tenant: str) -> float | None:
        """Count one request; None when admitted, else the seconds until the tenant reopens."""
        now = self.clock.monotonic()
        ledger = self.ledger(tenant)
        if ledger.prune(now, self.window) >= self.threshold:
            return max(0.0, ledger.times[0] + self.window - now)
        ledger.times.append(now)
        return None

    def delay(self, tenant: str) -> float:
        """The latency the API adds at the tenant's current usage."""
        if not self.latency_enabled:
            return 0.0
        # Usage before this request (already counted) decides its latency.
        share = (len(self.ledger(tenant).times) - 1) / self.threshold
        if share >= 0.75:
            return 1.0 * self.time_scale
        if share >= 0.5:
            return 0.5 * self.time_scale
        return 0.0

    def enter(self, code: str, endpoint: str) -> bool:
        """Take a thread slot for (integration code, endpoint); False when all are busy."""
        key = (code, endpoint)
        busy = self.in_flight.get(key, 0)
        if busy >= self.thread_limit:
            return False
        self.in_flight[key] = busy + 1
        return True

    def leave(self, code: str, endpoint: str) -> None:
        key = (code, endpoint)
        left = self.in_flight.get(key, 1) - 1
        if left:
            self.in_flight[key] = left
        else:
            self.in_flight.pop(key, None)
