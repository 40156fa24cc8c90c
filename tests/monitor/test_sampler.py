"""The sampler stores gauges, counter rates and histogram quantiles every 10 s of the clock."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from agent.clock import FakeClock
from agent.monitor import names
from agent.monitor.registry import MetricsRegistry
from agent.monitor.sampler import Sampler
from agent.monitor.series import SeriesStore
from agent.store import Store
from agent.store.models import MetricSample
from tests.monitor.conftest import now
from tests.monitor.tables import add_op


def test_gauges_counter_rates_and_latency_quantiles_become_series(
    series: SeriesStore, fake_clock: FakeClock
) -> None:
    registry = MetricsRegistry()
    sampler = Sampler(registry, series, fake_clock)
    names.ONLINE.on(registry).unlabelled().set(1)
    requests = names.API_REQUESTS.on(registry).labels(endpoint="Tickets")
    latency = names.API_LATENCY.on(registry).labels(endpoint="Tickets")
    for i in range(100):
        requests.inc()
        latency.observe(0.01 * (i + 1))  # 10 ms .. 1 s
    fake_clock.advance(10)
    sample = sampler.tick()
    assert sample["online"] == 1
    assert sample["api_requests_total:rate{endpoint=Tickets}"] == pytest.approx(10.0)
    assert sample["api_latency_seconds:rate{endpoint=Tickets}"] == pytest.approx(10.0)
    assert sample["api_latency_seconds:p50{endpoint=Tickets}"] == pytest.approx(0.50, rel=0.02)
    assert sample["api_latency_seconds:p95{endpoint=Tickets}"] == pytest.approx(0.95, rel=0.02)
    assert sample["api_latency_seconds:p99{endpoint=Tickets}"] == pytest.approx(0.99, rel=0.02)
    stored = series.latest("api_latency_seconds:p95{endpoint=Tickets}")
    assert stored is not None and stored.at == now(fake_clock)

    # A quiet interval: the rate falls to zero and no latency quantile is invented.
    fake_clock.advance(10)
    quiet = sampler.tick()
    assert quiet["api_requests_total:rate{endpoint=Tickets}"] == 0.0
    assert quiet["api_latency_seconds:rate{endpoint=Tickets}"] == 0.0
    assert "api_latency_seconds:p95{endpoint=Tickets}" not in quiet


def test_the_error_ratio_is_derived_from_finished_operations_of_the_interval(
    series: SeriesStore, fake_clock: FakeClock
) -> None:
    registry = MetricsRegistry()
    sampler = Sampler(registry, series, fake_clock)
    ops = names.SYNC_OPS.on(registry)
    ops.labels(category="ticket", outcome="success").inc(6)
    ops.labels(category="time_entry", outcome="failure").inc(2)
    fake_clock.advance(10)
    assert sampler.tick()["sync_error_ratio"] == pytest.approx(0.25)
    ops.labels(category="ticket", outcome="failure").inc(1)
    ops.labels(category="ticket", outcome="success").inc(1)
    fake_clock.advance(10)
    assert sampler.tick()["sync_error_ratio"] == pytest.approx(0.5)
    fake_clock.advance(10)
    assert sampler.tick()["sync_error_ratio"] == 0.0  # nothing finished, so nothing failed
    fresh = Sampler(MetricsRegistry(), series, fake_clock)
    fake_clock.advance(10)
    assert "sync_error_ratio" not in fresh.tick()  # no operation ever: no ratio at all


def test_collectors_run_before_each_sample_and_a_failing_one_does_not_stop_the_rest(
    store: Store, series: SeriesStore, fake_clock: FakeClock
) -> None:
    from agent.monitor.collectors import queue_collector

    def broken() -> None:
        raise RuntimeError("sensor unplugged")

    registry = MetricsRegistry()
    collectors = [broken, queue_collector(store, registry, fake_clock)]
    sampler = Sampler(registry, series, fake_clock, collectors=collectors)
    add_op(store, created_at=now(fake_clock))
    add_op(store, created_at=now(fake_clock))
    fake_clock.advance(10)
    assert sampler.tick()["queue_depth{state=pending}"] == 2


def test_listeners_receive_each_sample_and_pruning_runs_on_its_cadence(
    store: Store, fake_clock: FakeClock
) -> None:
    series = SeriesStore(store, fake_clock, raw_retention_s=30)
    registry = MetricsRegistry()
    names.ONLINE.on(registry).unlabelled().set(1)
    sampler = Sampler(registry, series, fake_clock, prune_every_s=60)
    seen: list[float] = []
    unsubscribe = sampler.subscribe(lambda at, sample: seen.append(at))
    for _ in range(6):
        fake_clock.advance(10)
        sampler.tick()
    unsubscribe()
    fake_clock.advance(10)
    sampler.tick()
    assert len(seen) == 6
    # Pruned at the sixth tick: only the last 30 s of raw points were kept then.
    raw = store.read(lambda: MetricSample.select().where(MetricSample.resolution == 10).count())
    assert raw == 4 + 1


async def test_run_ticks_every_interval_of_the_injected_clock(
    series: SeriesStore, fake_clock: FakeClock
) -> None:
    registry = MetricsRegistry()
    sampler = Sampler(registry, series, fake_clock)
    times: list[float] = []
    three = asyncio.Event()

    def on_sample(at: float, sample: dict[str, float]) -> None:
        times.append(at)
        if len(times) == 3:
            three.set()

    sampler.subscribe(on_sample)
    task = asyncio.create_task(sampler.run())
    await asyncio.wait_for(three.wait(), timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [b - a for a, b in itertools.pairwise(times[:3])] == [10.0, 10.0]
    assert fake_clock.sleeps[:3] == [10.0, 10.0, 10.0]
