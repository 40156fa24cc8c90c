"""Per-endpoint timeouts that follow observed latency: read limit = 4 x p95, clamped.

Autotask adds about half a second per call past 50 % of the hourly threshold and a full second
past 75 %, and query endpoints are far slower than single-record reads, so one fixed timeout is
either too tight (spurious failures, duplicate-risk on writes) or too loose (a hung call holds a
thread-limit slot for a minute). Connect time does not depend on the endpoint and keeps its own,
fixed limit.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class TimeoutSettings:
    connect: float = 5.0
    write: float = 10.0
    pool: float = 10.0
    read_min: float = 5.0
    read_max: float = 90.0
    read_default: float = 30.0
    multiplier: float = 4.0
    min_samples: int = 20
    samples: int = 200


class AdaptiveTimeouts:
    """Keeps recent latencies per endpoint and turns them into an `httpx.Timeout`."""

    def __init__(self, settings: TimeoutSettings | None = None) -> None:
        self.settings = settings or TimeoutSettings()
        self._latencies: dict[str, deque[float]] = {}

    def observe(self, endpoint: str, seconds: float) -> None:
        samples = self._latencies.get(endpoint)
        if samples is None:
            samples = self._latencies[endpoint] = deque(maxlen=self.settings.samples)
        samples.append(seconds)

    def p95(self, endpoint: str) -> float | None:
        samples = self._latencies.get(endpoint)
        if not samples or len(samples) < self.settings.min_samples:
            return None
        ordered = sorted(samples)
        rank = max(0, math.ceil(0.95 * len(ordered)) - 1)
        return ordered[rank]

    def read_limit(self, endpoint: str) -> float:
        s = self.settings
        p95 = self.p95(endpoint)
        if p95 is None:
            return s.read_default
        return min(s.read_max, max(s.read_min, s.multiplier * p95))

    def for_endpoint(self, endpoint: str) -> httpx.Timeout:
        s = self.settings
        return httpx.Timeout(
            connect=s.connect, read=self.read_limit(endpoint), write=s.write, pool=s.pool
        )
