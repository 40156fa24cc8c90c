"""Forecasts over series: drain time, quota exhaustion and trends from least-squares slopes."""

from __future__ import annotations

import pytest

from agent.monitor.forecast import (
    linear_fit,
    quota_eta_from_series,
    quota_exhaustion_eta,
    recent,
    slope_per_hour,
    time_to_drain,
)
from agent.monitor.series import Point

T0 = 1_767_600_000.0


def line(start: float, per_s: float, n: int = 30, step: float = 10.0) -> list[Point]:
    return [Point(T0 + i * step, start + per_s * i * step) for i in range(n)]


def test_a_fit_recovers_the_slope_and_intercept_of_a_line_at_epoch_times() -> None:
    fit = linear_fit(line(100.0, -0.5))
    assert fit is not None
    assert fit.slope == pytest.approx(-0.5)
    assert fit.at(T0) == pytest.approx(100.0)
    assert fit.count == 30


def test_a_fit_needs_two_distinct_times() -> None:
    assert linear_fit([Point(T0, 1.0)]) is None
    assert linear_fit([Point(T0, 1.0), Point(T0, 2.0)]) is None


def test_noise_does_not_hide_the_trend() -> None:
    points = [Point(p.at, p.value + (3 if i % 2 else -3)) for i, p in enumerate(line(0, 0.1, 60))]
    assert slope_per_hour(points, 600) == pytest.approx(360.0, rel=0.05)


def test_recent_keeps_only_the_window_before_the_newest_point() -> None:
    points = line(0, 1, 10)
    assert [p.at - T0 for p in recent(points, 30)] == [60, 70, 80, 90]
    assert recent([], 30) == []


def test_a_shrinking_queue_drains_in_depth_over_rate() -> None:
    depth = line(200.0, -0.1)  # 200 -> 171 over 290 s, 0.1 op/s
    assert time_to_drain(depth) == pytest.approx(depth[-1].value / 0.1)


def test_a_flat_or_growing_queue_has_no_drain_time_and_an_empty_one_is_drained() -> None:
    assert time_to_drain(line(50.0, 0.0)) is None
    assert time_to_drain(line(50.0, 0.2)) is None
    assert time_to_drain(line(0.0, 0.0)) == 0.0
    assert time_to_drain([]) is None


def test_the_quota_runs_out_only_if_the_steady_rate_is_above_the_share() -> None:
    # 60 % used and a rate that would use 2 shares an hour: the rest goes at (2 - 0.6) per hour.
    assert quota_exhaustion_eta(0.6, 2.0 / 3600) == pytest.approx(0.4 / 1.4 * 3600)
    # A rate of half a share an hour settles at 50 %: never used up.
    assert quota_exhaustion_eta(0.4, 0.5 / 3600) is None
    assert quota_exhaustion_eta(1.0, 0.0) == 0.0


def test_the_quota_forecast_from_a_series_adds_back_what_ages_out() -> None:
    # Share grows 0.2 in 15 min from 0.5: 0.8 a hour net, plus 0.7 an hour aging out = 1.5 in.
    points = [Point(T0 + i * 60, 0.5 + 0.2 * i / 15) for i in range(16)]
    eta = quota_eta_from_series(points)
    assert eta == pytest.approx(0.3 / 0.8 * 3600)
    assert quota_eta_from_series([]) is None
    steady = [Point(T0 + i * 60, 0.3) for i in range(16)]
    assert quota_eta_from_series(steady) is None


def test_a_steady_quota_forecast_does_not_extrapolate_an_ended_burst() -> None:
    from agent.monitor.forecast import quota_eta_from_series
    from agent.monitor.series import Point

    burst = [Point(10.0 * i, 0.1 * i) for i in range(5)]  # +10 % of the share every 10 s
    assert quota_eta_from_series(burst) is not None  # while work remains: at this pace
    assert quota_eta_from_series(burst, steady=True) is None  # the hour's average never gets there
    assert quota_eta_from_series([Point(0.0, 1.0)], steady=True) == 0.0  # used up already
