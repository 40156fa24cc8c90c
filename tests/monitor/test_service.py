"""`Monitor` wires registry, sampler, series and alerts: a failure rate reaches subscribers."""

from __future__ import annotations

import asyncio

from agent.clock import FakeClock
from agent.monitor import AlertEvent, Monitor, names
from agent.store import Store
from agent.store.models import MetricSample
from tests.monitor.tables import add_op


def test_failures_recorded_by_the_sync_path_raise_an_alert_after_three_samples(
    store: Store, fake_clock: FakeClock
) -> None:
    monitor = Monitor(store, fake_clock, with_collectors=False)
    events: list[AlertEvent] = []
    monitor.alerts.subscribe(events.append)
    ops = names.SYNC_OPS.on(monitor.registry)
    for _ in range(3):
        ops.labels(category="ticket", outcome="failure").inc(3)
        ops.labels(category="ticket", outcome="success").inc(1)
        fake_clock.advance(10)
        monitor.sampler.tick()
    assert [(str(e.change), e.alert.key) for e in events] == [("raised", "error_rate_high")]
    stored = monitor.series.latest("sync_error_ratio")
    assert stored is not None and stored.value == 0.75


async def test_the_running_monitor_samples_the_store_and_flushes_on_stop(
    store: Store, fake_clock: FakeClock
) -> None:
    add_op(store, created_at=fake_clock.now().timestamp())
    monitor = Monitor(store, fake_clock)
    ticked = asyncio.Event()
    times: list[float] = []

    def on_sample(at: float, sample: dict[str, float]) -> None:
        times.append(at)
        ticked.set()

    monitor.sampler.subscribe(on_sample)
    task = monitor.start()
    assert monitor.start() is task  # starting twice keeps one loop
    await asyncio.wait_for(ticked.wait(), timeout=10)
    await monitor.stop()
    assert task.cancelled()
    assert monitor.sampler.latest["queue_depth{state=pending}"] == 1
    # The minute in progress was rolled up on stop.
    minute = times[-1] - times[-1] % 60
    rollup = store.read(
        lambda: MetricSample.get_or_none(
            (MetricSample.series == "queue_depth{state=pending}")
            & (MetricSample.resolution == 60)
            & (MetricSample.at == minute)
        )
    )
    assert rollup is not None and rollup.value == 1
