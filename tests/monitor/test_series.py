"""Series keep raw 10 s points for a day and minute rollups for a month, and answer ranges."""

from __future__ import annotations

import math

import pytest

from agent.clock import FakeClock
from agent.monitor.series import (
    MAX_SUFFIX,
    RAW,
    ROLLUP,
    Agg,
    Point,
    SeriesStore,
    downsample,
    series_key,
)
from agent.store import Store
from agent.store.models import MetricSample
from tests.monitor.conftest import now


def feed(series: SeriesStore, clock: FakeClock, values: list[float], key: str = "q") -> float:
    """Append one point per 10 s (the clock moves with them); returns the first point's time."""
    start = now(clock)
    for v in values:
        series.append(now(clock), {key: v})
        clock.advance(10)
    return start


def rows(store: Store, resolution: int) -> list[tuple[str, float, float]]:
    return store.read(
        lambda: list(
            MetricSample.select(MetricSample.series, MetricSample.at, MetricSample.value)
            .where(MetricSample.resolution == resolution)
            .order_by(MetricSample.series, MetricSample.at)
            .tuples()
        )
    )


def test_series_keys_sort_labels_so_one_series_has_one_name() -> None:
    assert series_key("queue_depth", {"state": "pending", "a": "1"}) == (
        "queue_depth{a=1,state=pending}"
    )
    assert series_key("online") == "online"


def test_recent_ranges_come_back_as_the_raw_points(
    series: SeriesStore, fake_clock: FakeClock
) -> None:
    start = feed(series, fake_clock, [1, 2, 3, 4])
    points = series.series("q", start, now(fake_clock))
    assert points == [Point(start + 10 * i, float(v)) for i, v in enumerate([1, 2, 3, 4])]


def test_each_completed_minute_is_rolled_up_into_its_average_and_maximum(
    store: Store, series: SeriesStore, fake_clock: FakeClock
) -> None:
    fake_clock.advance(-(now(fake_clock) % 60))  # start on a minute boundary
    start = feed(series, fake_clock, [1, 2, 3, 4, 5, 9] + [7] * 6 + [0])
    rollups = rows(store, ROLLUP)
    assert ("q", start, pytest.approx(4.0)) in rollups
    assert ("q" + MAX_SUFFIX, start, 9.0) in rollups
    # The steady second minute keeps its average only: its maximum is the same value.
    assert ("q", start + 60, 7.0) in rollups
    assert ("q" + MAX_SUFFIX, start + 60, 7.0) not in rollups
    # The minute in progress is not rolled up until it is complete (or flushed).
    assert all(at < start + 120 for _, at, _ in rollups)
    series.flush()
    assert ("q", start + 120, 0.0) in rows(store, ROLLUP)


def test_a_long_range_is_answered_from_rollups_with_the_unrolled_tail_from_raw_points(
    store: Store, fake_clock: FakeClock
) -> None:
    series = SeriesStore(store, fake_clock, raw_span_s=1800)
    fake_clock.advance(-(now(fake_clock) % 60))
    start = feed(series, fake_clock, [float(i % 6) for i in range(6 * 40 + 3)])  # 40 min + 30 s
    points = series.series("q", start, now(fake_clock))
    assert all(p.at % 60 == 0 for p in points)
    assert len(points) == 40 + 1
    assert points[0] == Point(start, 2.5)
    assert points[-1] == Point(start + 40 * 60, 1.0)  # average of the raw 0, 1, 2 so far
    assert len(series.series("q", now(fake_clock) - 1800, now(fake_clock))) == 180
    peaks = series.series("q", start, now(fake_clock), agg=Agg.MAX)
    assert peaks[0].value == 5.0 and peaks[-1].value == 2.0


def test_any_resolution_can_be_asked_for(series: SeriesStore, fake_clock: FakeClock) -> None:
    fake_clock.advance(-(now(fake_clock) % 300))
    start = feed(series, fake_clock, [float(i) for i in range(60)])  # 10 minutes
    five = series.series("q", start, now(fake_clock), resolution=300)
    assert five == [Point(start, 14.5), Point(start + 300, 44.5)]
    thirty = series.series("q", start, start + 50, resolution=30)
    assert thirty == [Point(start, 1.0), Point(start + 30, 4.0)]
    highs = series.series("q", start, now(fake_clock), resolution=300, agg=Agg.MAX)
    assert [p.value for p in highs] == [29.0, 59.0]


def test_ranges_older_than_a_day_use_rollups_and_pruning_drops_expired_points(
    store: Store, fake_clock: FakeClock
) -> None:
    series = SeriesStore(store, fake_clock, raw_retention_s=600, rollup_retention_s=1800)
    fake_clock.advance(-(now(fake_clock) % 60))
    start = feed(series, fake_clock, [3.0] * (6 * 60))  # an hour
    deleted = series.prune()
    assert deleted == (360 - 60) + (60 - 30)
    left_raw = [at for _, at, _ in rows(store, RAW)]
    left_rollups = [at for _, at, _ in rows(store, ROLLUP)]
    assert min(left_raw) >= now(fake_clock) - 600
    assert min(left_rollups) >= now(fake_clock) - 1800
    # Asked at 10 s from before the raw points' horizon: minute points, as far back as kept.
    old = series.series("q", start, now(fake_clock), resolution=10)
    assert old[0].at == min(left_rollups) and old[0].value == 3.0
    assert old[-1].at == left_raw[-1] - left_raw[-1] % 60


def test_latest_is_the_newest_point_and_none_for_an_unknown_series(
    series: SeriesStore, fake_clock: FakeClock
) -> None:
    start = feed(series, fake_clock, [1, 5])
    assert series.latest("q") == Point(start + 10, 5.0)
    assert series.latest("nothing") is None


def test_not_a_number_and_overlong_keys_are_not_stored(
    store: Store, series: SeriesStore, fake_clock: FakeClock
) -> None:
    series.append(now(fake_clock), {"nan": math.nan, "x" * 200: 1.0, "ok": 2.0})
    assert [r[0] for r in rows(store, RAW)] == ["ok"]


def test_every_stored_series_is_listed_once(series: SeriesStore, fake_clock: FakeClock) -> None:
    for i in range(8):
        series.append(now(fake_clock), {"b": float(i), "a{x=1}": 1.0, "c": float(i % 2)})
        fake_clock.advance(10)
    assert series.series_keys() == ["a{x=1}", "b", "c"]


def test_downsampling_averages_or_takes_the_peak_of_each_bucket() -> None:
    points = [Point(0, 1), Point(10, 3), Point(60, 10)]
    assert downsample(points, 60) == [Point(0, 2.0), Point(60, 10.0)]
    assert downsample(points, 60, Agg.MAX) == [Point(0, 3.0), Point(60, 10.0)]
