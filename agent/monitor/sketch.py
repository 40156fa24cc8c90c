"""A bounded-memory quantile sketch for latencies: log-spaced buckets with a relative-error bound.

This is the DDSketch idea (Masson, Rim, Lee, VLDB 2019) in about a hundred lines, written here
rather than taken from the `ddsketch` package because we need only non-negative values, a cheap
`add` on the sync path (one `math.log` and one dict update) and `merge`; the package brings a
protobuf dependency and a generic store we would not use. Any quantile it returns is within
`relative_accuracy` of a value actually observed at that rank. Memory is bounded by `max_buckets`:
past it, the lowest buckets are folded together, which only blurs the smallest latencies, never
the tail that p95/p99 report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_ACCURACY = 0.01
DEFAULT_MAX_BUCKETS = 2048
# Values below this are counted as zero: a latency of under a nanosecond is a zero for our uses.
MIN_VALUE = 1e-9


@dataclass(frozen=True)
class Quantiles:
    """The summary a chart or alert reads from one sketch."""

    count: int
    total: float
    minimum: float
    maximum: float
    p50: float
    p95: float
    p99: float


class LogSketch:
    """Counts of values by log-spaced bucket; not thread-safe (the owning metric holds a lock)."""

    __slots__ = (
        "_gamma",
        "_inv_log_gamma",
        "_max_buckets",
        "buckets",
        "count",
        "maximum",
        "minimum",
        "relative_accuracy",
        "total",
        "zeros",
    )

    def __init__(
        self,
        relative_accuracy: float = DEFAULT_ACCURACY,
        max_buckets: int = DEFAULT_MAX_BUCKETS,
    ) -> None:
        if not 0.0 < relative_accuracy < 1.0:
            raise ValueError("relative_accuracy must be between 0 and 1")
        if max_buckets < 2:
            raise ValueError("max_buckets must be at least 2")
        self.relative_accuracy = relative_accuracy
        self._gamma = (1.0 + relative_accuracy) / (1.0 - relative_accuracy)
        self._inv_log_gamma = 1.0 / math.log(self._gamma)
        self._max_buckets = max_buckets
        self.buckets: dict[int, int] = {}
        self.zeros = 0
        self.count = 0
        self.total = 0.0
        self.minimum = math.inf
        self.maximum = -math.inf

    def add(self, value: float) -> None:
        # Negative durations come only from clock steps; they count as zero rather than failing.
        self.count += 1
        self.total += value
        if value < self.minimum:
            self.minimum = value
        if value > self.maximum:
            self.maximum = value
        if value <= MIN_VALUE:
            self.zeros += 1
            return
        index = math.ceil(math.log(value) * self._inv_log_gamma)
        buckets = self.buckets
        buckets[index] = buckets.get(index, 0) + 1
        if len(buckets) > self._max_buckets:
            self._collapse()

    def _collapse(self) -> None:
        keys = sorted(self.buckets)
        excess = len(keys) - self._max_buckets
        folded = sum(self.buckets.pop(k) for k in keys[: excess + 1])
        target = keys[excess]
        self.buckets[target] = self.buckets.get(target, 0) + folded

    def merge(self, other: LogSketch) -> None:
        """Add every value of `other` (which must use the same accuracy) to this sketch."""
        if other.relative_accuracy != self.relative_accuracy:
            raise ValueError("cannot merge sketches of different accuracy")
        if other.count == 0:
            return
        for index, n in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + n
        self.zeros += other.zeros
        self.count += other.count
        self.total += other.total
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)
        if len(self.buckets) > self._max_buckets:
            self._collapse()

    def copy(self) -> LogSketch:
        clone = LogSketch(self.relative_accuracy, self._max_buckets)
        clone.merge(self)
        return clone

    def quantile(self, q: float) -> float:
        """The value at rank `q` (0..1); NaN when the sketch is empty."""
        if not 0.0 <= q <= 1.0:
            raise ValueError("q must be between 0 and 1")
        if self.count == 0:
            return math.nan
        rank = q * (self.count - 1)
        if rank < self.zeros:
            return max(self.minimum, 0.0)
        seen = float(self.zeros)
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen > rank:
                # The bucket's midpoint in relative terms; clamp to what was really observed.
                estimate = 2.0 * self._gamma**index / (self._gamma + 1.0)
                return min(max(estimate, self.minimum), self.maximum)
        return self.maximum

    def summary(self) -> Quantiles:
        if self.count == 0:
            nan = math.nan
            return Quantiles(0, 0.0, nan, nan, nan, nan, nan)
        return Quantiles(
            count=self.count,
            total=self.total,
            minimum=self.minimum,
            maximum=self.maximum,
            p50=self.quantile(0.50),
            p95=self.quantile(0.95),
            p99=self.quantile(0.99),
        )
