"""Forecasts over metric series: when the queue drains, when the quota share runs out, trends.

Pure functions of points (no store, no clock), so each is tested with synthetic series. Rates are
least-squares slopes over a recent window: robust to the jitter of single samples and cheap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from agent.monitor.series import Point

QUOTA_WINDOW_S = 3600.0  # Autotask counts requests over a rolling 60 minutes


@dataclass(frozen=True)
class Fit:
    """`value ≈ intercept + slope * at` (slope in units per second)."""

    slope: float
    intercept: float
    count: int

    def at(self, t: float) -> float:
        return self.intercept + self.slope * t


def recent(points: Sequence[Point], window_s: float) -> list[Point]:
    """The points within `window_s` of the newest one."""
    if not points:
        return []
    cut = points[-1].at - window_s
    return [p for p in points if p.at >= cut]


def linear_fit(points: Sequence[Point]) -> Fit | None:
    """Least-squares line through the points; None with fewer than two distinct times."""
    n = len(points)
    if n < 2:
        return None
    # Centre the times: epoch seconds squared lose precision in a float.
    t0 = points[0].at
    mean_t = math.fsum(p.at - t0 for p in points) / n
    mean_v = math.fsum(p.value for p in points) / n
    sxx = math.fsum((p.at - t0 - mean_t) ** 2 for p in points)
    if sxx == 0:
        return None
    sxy = math.fsum((p.at - t0 - mean_t) * (p.value - mean_v) for p in points)
    slope = sxy / sxx
    return Fit(slope=slope, intercept=mean_v - slope * (mean_t + t0), count=n)


def slope_per_hour(points: Sequence[Point], window_s: float) -> float | None:
    """How fast the series moves per hour over the last `window_s`; None without enough data."""
    fit = linear_fit(recent(points, window_s))
    return None if fit is None else fit.slope * 3600.0


def time_to_drain(depth: Sequence[Point], window_s: float = 600.0) -> float | None:
    """Seconds until the queue is empty at the rate it shrank over the last `window_s`.

    0 when it is already empty; None when it is not shrinking (flat or growing) or there are too
    few points to tell.
    """
    if not depth:
        return None
    now_depth = depth[-1].value
    if now_depth <= 0:
        return 0.0
    fit = linear_fit(recent(depth, window_s))
    if fit is None or fit.slope >= 0:
        return None
    return now_depth / -fit.slope


def quota_exhaustion_eta(
    share_used: float, request_rate: float, window_s: float = QUOTA_WINDOW_S
) -> float | None:
    """Seconds until the quota share is used up, for a rolling window.

    `share_used` is the share of our quota already used in the window (1.0 = all of it) and
    `request_rate` our current rate in shares per second. In a rolling window old requests age
    out too; taking the requests in the window as evenly spread, they leave at
    `share_used / window_s`, so usage only reaches 1.0 if the steady state `rate * window_s` is
    above it. Returns 0 when already used up, None when the current rate never gets there.
    """
    if share_used >= 1.0:
        return 0.0
    if request_rate * window_s <= 1.0:
        return None
    net = request_rate - share_used / window_s
    return (1.0 - share_used) / net


def quota_eta_from_series(
    share_used: Sequence[Point],
    window_s: float = 900.0,
    quota_window_s: float = QUOTA_WINDOW_S,
    *,
    steady: bool = False,
) -> float | None:
    """`quota_exhaustion_eta` with the request rate estimated from the share-used series.

    The series' slope is the rate in minus the rate aging out, so the rate in is the slope plus
    `share / quota_window_s`. `steady` (no work waiting): the rate is the quota window's average
    instead, so a burst that has ended is not extrapolated.
    """
    if not share_used:
        return None
    share = share_used[-1].value
    if steady:
        return quota_exhaustion_eta(share, share / quota_window_s, quota_window_s)
    fit = linear_fit(recent(share_used, window_s))
    if fit is None:
        return None
    rate = max(0.0, fit.slope + share / quota_window_s)
    return quota_exhaustion_eta(share, rate, quota_window_s)
