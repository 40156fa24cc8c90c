"""Collectors read queue depth, conflicts, database size and quota into the registry's gauges."""

from __future__ import annotations

import pytest

from agent.clock import FakeClock
from agent.monitor import names
from agent.monitor.collectors import (
    conflict_collector,
    database_collector,
    process_collector,
    queue_collector,
    record_threshold_information,
)
from agent.monitor.registry import MetricsRegistry
from agent.store import Store
from agent.store.models import OpState, Priority
from tests.monitor.conftest import now
from tests.monitor.tables import add_conflict, add_op


def gauge_values(registry: MetricsRegistry, name: str) -> dict[tuple[str, ...], float]:
    (family,) = [f for f in registry.snapshot() if f.name == name]
    return dict(family.values)


def test_queue_depth_counts_work_by_state_and_waiting_work_by_priority(
    store: Store, fake_clock: FakeClock
) -> None:
    t = now(fake_clock)
    add_op(store, created_at=t - 300, priority=Priority.HIGH)
    add_op(store, created_at=t - 100)
    add_op(store, state=OpState.LEASED, created_at=t - 50)
    add_op(store, state=OpState.PARKED, created_at=t - 9000)
    add_op(store, state=OpState.DONE, created_at=t - 20000)
    registry = MetricsRegistry()
    queue_collector(store, registry, fake_clock)()
    assert gauge_values(registry, "queue_depth") == {
        ("pending",): 2,
        ("leased",): 1,
        ("parked",): 1,
        ("conflict",): 0,
    }
    waiting = gauge_values(registry, "queue_waiting")
    assert waiting[("high",)] == 1 and waiting[("normal",)] == 2 and waiting[("low",)] == 0
    # The parked and done ops are not waiting: the oldest waiting one is 300 s old.
    assert gauge_values(registry, "queue_oldest_pending_age_seconds") == {(): 300.0}


def test_an_empty_queue_has_no_age(store: Store, fake_clock: FakeClock) -> None:
    registry = MetricsRegistry()
    queue_collector(store, registry, fake_clock)()
    assert gauge_values(registry, "queue_oldest_pending_age_seconds") == {(): 0.0}


def test_only_open_conflicts_are_counted(store: Store) -> None:
    add_conflict(store)
    add_conflict(store, field="status")
    add_conflict(store, status="resolved")
    registry = MetricsRegistry()
    conflict_collector(store, registry)()
    assert gauge_values(registry, "conflicts_open") == {(): 2}


def test_database_size_includes_the_write_ahead_log(store: Store) -> None:
    add_op(store)
    registry = MetricsRegistry()
    database_collector(store, registry)()
    wal = store.path.with_name(store.path.name + "-wal")
    expected = store.path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    assert gauge_values(registry, "database_size_bytes") == {(): expected}
    assert gauge_values(registry, "disk_free_bytes")[()] > 0


def test_process_memory_and_cpu_are_read_from_the_process() -> None:
    registry = MetricsRegistry()
    process_collector(registry)()
    assert gauge_values(registry, "process_resident_memory_bytes")[()] > 1_000_000
    assert gauge_values(registry, "process_cpu_percent")[()] >= 0


def test_threshold_information_sets_usage_threshold_and_our_share() -> None:
    registry = MetricsRegistry()
    body = {
        "externalRequestThreshold": 10000,
        "requestThresholdTimeframe": 60,
        "currentTimeframeRequestCount": 4000,
    }
    assert record_threshold_information(registry, body, share=0.5) == pytest.approx(0.8)
    assert gauge_values(registry, names.QUOTA_USED.name) == {(): 4000}
    assert gauge_values(registry, names.QUOTA_THRESHOLD.name) == {(): 10000}
    assert gauge_values(registry, names.QUOTA_SHARE_USED.name) == {(): pytest.approx(0.8)}


def test_an_unusable_threshold_answer_records_nothing() -> None:
    registry = MetricsRegistry()
    assert record_threshold_information(registry, {"externalRequestThreshold": "x"}, 0.5) is None
    assert registry.families() == []
