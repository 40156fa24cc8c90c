"""Metric time series in the store: raw 10 s points for a day, 1-minute rollups for a month.

Rollups are built in memory as the points arrive (sum, count and max per series for the current
minute) and written with the first point of the next minute, so rolling up never scans the table.
Each minute keeps its average under the series' own key and its maximum under `<key>|max`; the
maximum row is left out when it equals the average (a value steady for the whole minute, the usual
case), which roughly halves the rollup rows. Pruning deletes per series through the
(series, resolution, at) index for the same reason: a month of points is millions of rows.
"""

from __future__ import annotations

import enum
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agent.clock import SYSTEM_CLOCK, Clock
from agent.store.connection import Store
from agent.store.models import MetricSample

RAW = 10
ROLLUP = 60
RAW_RETENTION_S = 24 * 3600.0
ROLLUP_RETENTION_S = 30 * 24 * 3600.0
# Longest range served from raw points when no resolution is asked for (~2,160 points).
RAW_SPAN_S = 6 * 3600.0
MAX_SUFFIX = "|max"
MAX_KEY_LENGTH = 120 - len(MAX_SUFFIX)


@dataclass(frozen=True)
class Point:
    at: float
    value: float


class Agg(enum.StrEnum):
    """How points that fall into one bucket are combined when downsampling."""

    AVG = "avg"
    MAX = "max"


def series_key(name: str, labels: Mapping[str, str] | None = None) -> str:
    """`name{a=1,b=2}` with labels sorted, or just `name`: the stored name of one series."""
    if not labels:
        return name
    inner = ",".join(f"{k}={labels[k]}" for k in sorted(labels))
    return f"{name}{{{inner}}}"


def downsample(points: Iterable[Point], resolution: float, agg: Agg = Agg.AVG) -> list[Point]:
    """Group points into buckets of `resolution` seconds (stamped at the bucket's start)."""
    buckets: dict[float, list[float]] = {}
    for p in points:
        buckets.setdefault(math.floor(p.at / resolution) * resolution, []).append(p.value)
    combine = max if agg is Agg.MAX else (lambda vs: math.fsum(vs) / len(vs))
    return [Point(at, combine(vs)) for at, vs in sorted(buckets.items())]


class _Minute:
    __slots__ = ("count", "maximum", "total")

    def __init__(self, value: float) -> None:
        self.count, self.total, self.maximum = 1, value, value

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.maximum = max(self.maximum, value)


class SeriesStore:
    """Writes samples, rolls them up, prunes them and answers range queries for the charts."""

    def __init__(
        self,
        store: Store,
        clock: Clock = SYSTEM_CLOCK,
        *,
        raw_retention_s: float = RAW_RETENTION_S,
        rollup_retention_s: float = ROLLUP_RETENTION_S,
        raw_span_s: float = RAW_SPAN_S,
    ) -> None:
        self.store = store
        self.clock = clock
        self.raw_retention_s = raw_retention_s
        self.rollup_retention_s = rollup_retention_s
        self.raw_span_s = raw_span_s
        self._minute_start: float | None = None
        self._minute: dict[str, _Minute] = {}
        # A sample may still be written on a worker thread while shutdown flushes the minute.
        self._lock = threading.Lock()

    def now(self) -> float:
        return self.clock.now().timestamp()

    def append(self, at: float, values: Mapping[str, float]) -> None:
        """Store one raw point per series at `at` (finite values only; NaN means no data)."""
        points = {
            k: float(v) for k, v in values.items() if math.isfinite(v) and len(k) <= MAX_KEY_LENGTH
        }
        minute = math.floor(at / ROLLUP) * ROLLUP
        rows = [{"series": k, "resolution": RAW, "at": at, "value": v} for k, v in points.items()]
        with self._lock:
            if self._minute_start is not None and minute != self._minute_start:
                rows.extend(self._rollup_rows())
            if self._minute_start != minute:
                self._minute_start, self._minute = minute, {}
            for key, value in points.items():
                acc = self._minute.get(key)
                if acc is None:
                    self._minute[key] = _Minute(value)
                else:
                    acc.add(value)
            if rows:
                self.store.write(lambda: MetricSample.insert_many(rows).execute())

    def flush(self) -> None:
        """Write the rollup of the minute in progress (e.g. before shutting down)."""
        with self._lock:
            rows = self._rollup_rows()
            self._minute = {}
            if rows:
                self.store.write(lambda: MetricSample.insert_many(rows).execute())

    def _rollup_rows(self) -> list[dict[str, object]]:
        at = self._minute_start
        rows: list[dict[str, object]] = []
        for key, acc in self._minute.items():
            avg = acc.total / acc.count
            rows.append({"series": key, "resolution": ROLLUP, "at": at, "value": avg})
            if acc.maximum != avg:
                rows.append(
                    {
                        "series": key + MAX_SUFFIX,
                        "resolution": ROLLUP,
                        "at": at,
                        "value": acc.maximum,
                    }
                )
        return rows

    def series_keys(self) -> list[str]:
        """Every stored series key, found by seeking the index once per key (no table scan)."""

        def walk() -> list[str]:
            found: list[str] = []
            last = ""
            while True:
                row = (
                    MetricSample.select(MetricSample.series)
                    .where(MetricSample.series > last)
                    .order_by(MetricSample.series)
                    .limit(1)
                    .tuples()
                    .first()
                )
                if row is None:
                    return found
                last = row[0]
                if not last.endswith(MAX_SUFFIX):
                    found.append(last)

        return self.store.read(walk)

    def prune(self, now: float | None = None) -> int:
        """Delete raw points past their day and rollups past their month; returns rows deleted."""
        now = self.now() if now is None else now
        keys = self.series_keys()
        raw_cut, rollup_cut = now - self.raw_retention_s, now - self.rollup_retention_s

        def delete() -> int:
            deleted = 0
            for key in keys:
                for series, resolution, cut in (
                    (key, RAW, raw_cut),
                    (key, ROLLUP, rollup_cut),
                    (key + MAX_SUFFIX, ROLLUP, rollup_cut),
                ):
                    deleted += (
                        MetricSample.delete()
                        .where(
                            (MetricSample.series == series)
                            & (MetricSample.resolution == resolution)
                            & (MetricSample.at < cut)
                        )
                        .execute()
                    )
            return int(deleted)

        return self.store.write(delete)

    def _points(self, key: str, resolution: int, start: float, end: float) -> list[Point]:
        query = (
            MetricSample.select(MetricSample.at, MetricSample.value)
            .where(
                (MetricSample.series == key)
                & (MetricSample.resolution == resolution)
                & (MetricSample.at >= start)
                & (MetricSample.at <= end)
            )
            .order_by(MetricSample.at)
            .tuples()
        )
        return self.store.read(lambda: [Point(at, value) for at, value in query])

    def _rollup(self, key: str, start: float, end: float, agg: Agg) -> list[Point]:
        avgs = self._points(key, ROLLUP, start, end)
        if agg is Agg.AVG:
            return avgs
        maxima = {p.at: p.value for p in self._points(key + MAX_SUFFIX, ROLLUP, start, end)}
        return [Point(p.at, maxima.get(p.at, p.value)) for p in avgs]

    def series(
        self,
        key: str,
        start: float,
        end: float,
        resolution: float | None = None,
        agg: Agg = Agg.AVG,
    ) -> list[Point]:
        """Points of `key` between `start` and `end`, downsampled to `resolution` seconds.

        Without a resolution: raw points for a recent range of up to `raw_span_s` (six hours),
        minute points otherwise; so are ranges reaching back past the raw points' retention.
        Rollups cover complete minutes; the minutes after the last rollup (the one in
        progress) come from raw points, so a chart's right edge is never missing.
        """
        recent = start >= self.now() - self.raw_retention_s
        if resolution is None:
            resolution = RAW if recent and end - start <= self.raw_span_s else ROLLUP
        if resolution < ROLLUP and recent:
            points = self._points(key, RAW, start, end)
        else:
            points = self._rollup(key, start, end, agg)
            boundary = points[-1].at + ROLLUP if points else start
            # The tail as minute points too, so each minute weighs the same when downsampled.
            points += downsample(self._points(key, RAW, boundary, end), ROLLUP, agg)
        if resolution <= RAW:
            return points
        return downsample(points, resolution, agg)

    def latest(self, key: str) -> Point | None:
        """The newest point of `key` (raw, or the newest rollup once raw points are pruned)."""

        def newest(resolution: int) -> Point | None:
            row = (
                MetricSample.select(MetricSample.at, MetricSample.value)
                .where((MetricSample.series == key) & (MetricSample.resolution == resolution))
                .order_by(MetricSample.at.desc())
                .limit(1)
                .tuples()
                .first()
            )
            return Point(row[0], row[1]) if row else None

        return self.store.read(lambda: newest(RAW) or newest(ROLLUP))
