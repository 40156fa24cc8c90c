"""The registry records labelled counters, gauges and histograms safely from many threads."""

from __future__ import annotations

import threading

import pytest

from agent.monitor import names
from agent.monitor.registry import MetricKind, MetricsRegistry


def test_each_label_combination_is_its_own_child() -> None:
    registry = MetricsRegistry()
    ops = registry.counter("sync_ops_total", "ops", ("category", "outcome"))
    ops.labels(category="ticket", outcome="success").inc()
    ops.labels("ticket", "success").inc(2)
    ops.labels(category="ticket", outcome="failure").inc()
    (snap,) = registry.snapshot()
    assert snap.kind is MetricKind.COUNTER
    assert snap.values == {("ticket", "success"): 3.0, ("ticket", "failure"): 1.0}


def test_wrong_or_missing_labels_are_refused() -> None:
    latency = MetricsRegistry().histogram("api_latency_seconds", "", ("endpoint",))
    with pytest.raises(ValueError):
        latency.labels(zone="x")
    with pytest.raises(ValueError):
        latency.labels()
    with pytest.raises(ValueError):
        latency.unlabelled()


def test_registering_a_name_again_returns_the_same_family_but_not_as_another_kind() -> None:
    registry = MetricsRegistry()
    assert registry.gauge("online") is registry.gauge("online")
    with pytest.raises(ValueError):
        registry.counter("online")
    with pytest.raises(ValueError):
        registry.gauge("online", labelnames=("zone",))
    with pytest.raises(ValueError):
        registry.gauge("not a name")


def test_a_counter_never_goes_down() -> None:
    counter = MetricsRegistry().counter("c").unlabelled()
    with pytest.raises(ValueError):
        counter.inc(-1)


def test_gauges_set_and_move() -> None:
    gauge = MetricsRegistry().gauge("queue_depth", labelnames=("state",)).labels(state="pending")
    gauge.set(5)
    gauge.inc(2)
    gauge.dec()
    assert gauge.value == 6.0


def test_concurrent_increments_and_observations_are_all_counted() -> None:
    registry = MetricsRegistry()
    counter = registry.counter("api_requests_total", "", ("endpoint",))
    latency = registry.histogram("api_latency_seconds", "", ("endpoint",))

    def work() -> None:
        for i in range(2000):
            counter.labels(endpoint="Tickets").inc()
            latency.labels(endpoint="Tickets").observe(0.001 * (i % 50 + 1))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.labels(endpoint="Tickets").value == 8000
    assert latency.labels(endpoint="Tickets").cumulative().count == 8000


def test_draining_a_histogram_gives_the_interval_while_the_cumulative_view_keeps_all() -> None:
    registry = MetricsRegistry()
    child = registry.histogram("api_latency_seconds").unlabelled()
    for v in (0.1, 0.2, 0.3):
        child.observe(v)
    (first,) = registry.snapshot(drain_histograms=True)
    assert first.summaries[()].count == 3
    child.observe(5.0)
    (second,) = registry.snapshot(drain_histograms=True)
    assert second.summaries[()].count == 1
    assert second.summaries[()].p50 == pytest.approx(5.0, rel=0.01)
    (total,) = registry.snapshot()
    assert total.summaries[()].count == 4
    assert total.summaries[()].maximum == 5.0


def test_register_all_creates_every_documented_name() -> None:
    registry = names.register_all(MetricsRegistry())
    registered = {f.name for f in registry.families()}
    assert registered == {spec.name for spec in names.ALL_SPECS}
    assert names.API_LATENCY.on(registry).kind is MetricKind.HISTOGRAM


def test_label_values_given_in_any_order_or_type_reach_the_same_child() -> None:
    ops = MetricsRegistry().counter("sync_ops_total", "", ("category", "outcome"))
    a = ops.labels(category="ticket", outcome=1)
    b = ops.labels(outcome="1", category="ticket")
    c = ops.labels("ticket", "1")
    assert a is b is c
    assert [key for key, _ in ops.children()] == [("ticket", "1")]
