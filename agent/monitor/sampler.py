"""The sampler: every 10 s, runs the collectors and stores the registry as time series points.

Counters become rates per second over the interval, histograms their interval p50/p95/p99 and
observation rate, gauges their value (see `agent.monitor.names`). Ticks are driven by the
injected clock, so tests step it by hand; `run` is the loop the agent starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from agent.clock import SYSTEM_CLOCK, Clock
from agent.monitor import names
from agent.monitor.collectors import Collector
from agent.monitor.registry import FamilySnapshot, LabelValues, MetricKind, MetricsRegistry
from agent.monitor.series import SeriesStore, series_key

log = logging.getLogger(__name__)

INTERVAL_S = 10.0
PRUNE_EVERY_S = 3600.0
Sample = dict[str, float]
SampleListener = Callable[[float, Sample], None]


def _labels(snapshot: FamilySnapshot, values: LabelValues) -> dict[str, str]:
    return dict(zip(snapshot.labelnames, values, strict=True))


class Sampler:
    """Turns registry snapshots into stored points and tells listeners (the alert engine)."""

    def __init__(
        self,
        registry: MetricsRegistry,
        series: SeriesStore,
        clock: Clock = SYSTEM_CLOCK,
        *,
        collectors: Sequence[Collector] = (),
        interval_s: float = INTERVAL_S,
        prune_every_s: float = PRUNE_EVERY_S,
    ) -> None:
        self.registry = registry
        self.series = series
        self.clock = clock
        self.collectors = list(collectors)
        self.interval_s = interval_s
        self.prune_every_s = prune_every_s
        self._listeners: list[SampleListener] = []
        self._last_at = clock.now().timestamp()
        self._last_pruned = self._last_at
        self._last_counts = self._counter_values(registry.snapshot())
        self._last_sample_keys: set[str] = set()  # derived series that have had a value
        self.latest: Sample = {}

    def subscribe(self, listener: SampleListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    @staticmethod
    def _counter_values(snapshot: list[FamilySnapshot]) -> dict[str, float]:
        return {
            series_key(f.name, _labels(f, key)): v
            for f in snapshot
            if f.kind is MetricKind.COUNTER
            for key, v in f.values.items()
        }

    def tick(self) -> Sample:
        """Collect, snapshot and store one sample; returns the values written, by series key."""
        for collect in self.collectors:
            try:
                collect()
            except Exception:  # one failing source must not stop every other series
                log.exception(
                    "metric collector %s failed", getattr(collect, "__qualname__", collect)
                )
        now = self.clock.now().timestamp()
        elapsed = max(now - self._last_at, 1e-9)
        snapshot = self.registry.snapshot(drain_histograms=True)
        counts = self._counter_values(snapshot)
        sample: Sample = {}
        for family in snapshot:
            for key, value in family.values.items():
                name = series_key(family.name, _labels(family, key))
                if family.kind is MetricKind.GAUGE:
                    sample[name] = value
                else:
                    # A child first seen since the last tick counted all of its value in this one.
                    delta = value - self._last_counts.get(name, 0.0)
                    sample[series_key(family.name + names.RATE, _labels(family, key))] = (
                        max(delta, 0.0) / elapsed
                    )
            for key, q in family.summaries.items():
                labels = _labels(family, key)
                sample[series_key(family.name + names.RATE, labels)] = q.count / elapsed
                if q.count:
                    sample[series_key(family.name + names.P50, labels)] = q.p50
                    sample[series_key(family.name + names.P95, labels)] = q.p95
                    sample[series_key(family.name + names.P99, labels)] = q.p99
        self._derive_error_ratio(sample, counts)
        self._last_counts, self._last_at = counts, now
        self.series.append(now, sample)
        if now - self._last_pruned >= self.prune_every_s:
            self._last_pruned = now
            self.series.prune(now)
        self.latest = sample
        for listener in list(self._listeners):
            try:
                listener(now, sample)
            except Exception:
                log.exception("sample listener failed")
        return sample

    def _derive_error_ratio(self, sample: Sample, counts: dict[str, float]) -> None:
        prefix = names.SYNC_OPS.name + "{"
        done = failed = 0.0
        for key, value in counts.items():
            if key.startswith(prefix):
                delta = value - self._last_counts.get(key, 0.0)
                done += delta
                if "outcome=failure" in key:
                    failed += delta
        ratio_key = names.SYNC_ERROR_RATIO.name
        if done <= 0:
            # Nothing finished: nothing failed either. Said as 0 once the link has had a rate,
            # so an alert raised on failures clears when the link goes quiet; never before.
            if ratio_key in self._last_sample_keys:
                names.SYNC_ERROR_RATIO.on(self.registry).unlabelled().set(0.0)
                sample[ratio_key] = 0.0
            else:
                sample.pop(ratio_key, None)
            return
        self._last_sample_keys.add(ratio_key)
        ratio = failed / done
        names.SYNC_ERROR_RATIO.on(self.registry).unlabelled().set(ratio)
        sample[ratio_key] = ratio

    async def run(self) -> None:
        """Tick every `interval_s` until cancelled; storage work runs off the event loop."""
        next_at = self.clock.monotonic() + self.interval_s
        while True:
            await self.clock.sleep(max(0.0, next_at - self.clock.monotonic()))
            try:
                await asyncio.to_thread(self.tick)
            except Exception:
                log.exception("metrics sample failed")
            next_at += self.interval_s
            # After a long stall (laptop asleep), resume the cadence instead of catching up.
            if next_at < self.clock.monotonic():
                next_at = self.clock.monotonic() + self.interval_s
