"""Alert rules: each looks at the latest sample, recent series or fed conditions and gives verdicts.

A rule only says, per alert key, "raise", "clear" or "hold" (in the band between its two
thresholds, or without data); the alert engine turns runs of verdicts into raised and resolved
alerts (`raise_after` / `clear_after` consecutive evaluations), so a value hovering at a threshold
does not make an alert flap.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from agent.monitor.forecast import slope_per_hour
from agent.monitor.series import Point


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Verdict(enum.Enum):
    RAISE = "raise"
    CLEAR = "clear"
    HOLD = "hold"


class SeriesSource(Protocol):
    def series(self, key: str, start: float, end: float) -> list[Point]: ...


@dataclass(frozen=True)
class Condition:
    """A health fact fed from outside (a breaker opened, the link went down) and since when."""

    active: bool
    since: float
    message: str = ""


@dataclass(frozen=True)
class Context:
    now: float
    sample: Mapping[str, float]
    series: SeriesSource
    conditions: Mapping[str, Mapping[str, Condition]] = field(default_factory=dict)

    def recent(self, key: str, window_s: float) -> list[Point]:
        return self.series.series(key, self.now - window_s, self.now)


@dataclass(frozen=True)
class Reading:
    key: str
    verdict: Verdict
    message: str = ""
    data: Mapping[str, float | str] = field(default_factory=dict)


class Rule(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def severity(self) -> Severity: ...

    @property
    def raise_after(self) -> int: ...

    @property
    def clear_after(self) -> int: ...

    def evaluate(self, ctx: Context) -> list[Reading]: ...


def _matching(sample: Mapping[str, float], metric: str) -> list[tuple[str, str, float]]:
    """(series key, label text, value) of every series of `metric` in the sample."""
    out = []
    for key, value in sample.items():
        if key == metric:
            out.append((key, "", value))
        elif key.startswith(metric + "{") and key.endswith("}"):
            out.append((key, key[len(metric) + 1 : -1], value))
    return out


def _alert_key(rule: str, labels: str) -> str:
    return f"{rule}:{labels}" if labels else rule


def _plain(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class ThresholdRule:
    """Raise when a metric is past `raise_at`, clear once it is back past `clear_at`.

    With `above=False` the metric alarms when low (free disk space). Each labelled series of the
    metric is its own alert (one per endpoint, say).
    """

    name: str
    metric: str
    raise_at: float
    clear_at: float
    message: str  # may use {value} (formatted by `fmt`) and {labels}
    severity: Severity = Severity.WARNING
    above: bool = True
    raise_after: int = 1
    clear_after: int = 1
    fmt: Callable[[float], str] = _plain

    def __post_init__(self) -> None:
        if (self.clear_at > self.raise_at) if self.above else (self.clear_at < self.raise_at):
            raise ValueError(f"{self.name}: clear_at must be on the safe side of raise_at")

    def evaluate(self, ctx: Context) -> list[Reading]:
        readings = []
        for _, labels, value in _matching(ctx.sample, self.metric):
            if math.isnan(value):
                continue
            past_raise = value > self.raise_at if self.above else value < self.raise_at
            past_clear = value < self.clear_at if self.above else value > self.clear_at
            verdict = Verdict.RAISE if past_raise else Verdict.CLEAR if past_clear else Verdict.HOLD
            readings.append(
                Reading(
                    _alert_key(self.name, labels),
                    verdict,
                    self.message.format(value=self.fmt(value), labels=labels),
                    {"value": value},
                )
            )
        return readings


@dataclass(frozen=True)
class TrendRule:
    """Raise when a series has been climbing faster than `raise_per_hour` over `window_s`.

    `only_when` names a series that must be 1 in the latest sample (e.g. `online`): a queue that
    grows while offline is expected and clears the alert.
    """

    name: str
    series_key: str
    window_s: float
    raise_per_hour: float
    clear_per_hour: float
    message: str  # may use {slope} (per hour) and {value}
    severity: Severity = Severity.WARNING
    min_points: int = 6
    only_when: str | None = None
    min_value: float = -math.inf
    raise_after: int = 3
    clear_after: int = 3

    def evaluate(self, ctx: Context) -> list[Reading]:
        if self.only_when is not None and ctx.sample.get(self.only_when) != 1:
            return [Reading(self.name, Verdict.CLEAR, f"{self.only_when} is not 1")]
        points = ctx.recent(self.series_key, self.window_s)
        if len(points) < self.min_points:
            return [Reading(self.name, Verdict.HOLD)]
        slope = slope_per_hour(points, self.window_s)
        if slope is None:
            return [Reading(self.name, Verdict.HOLD)]
        value = points[-1].value
        if slope > self.raise_per_hour and value >= self.min_value:
            verdict = Verdict.RAISE
        elif slope < self.clear_per_hour or value < self.min_value:
            verdict = Verdict.CLEAR
        else:
            verdict = Verdict.HOLD
        text = self.message.format(slope=f"{slope:.3g}", value=f"{value:g}")
        return [Reading(self.name, verdict, text, {"slope_per_hour": slope, "value": value})]


@dataclass(frozen=True)
class ConditionRule:
    """Raise while a fed condition is active (for at least `raise_after_s`), clear when it ends."""

    name: str
    condition: str
    message: str  # may use {key} and {detail} (the condition's own message)
    severity: Severity = Severity.WARNING
    raise_after_s: float = 0.0
    raise_after: int = 1
    clear_after: int = 1

    def evaluate(self, ctx: Context) -> list[Reading]:
        readings = []
        for key, cond in ctx.conditions.get(self.condition, {}).items():
            if not cond.active:
                verdict = Verdict.CLEAR
            elif ctx.now - cond.since >= self.raise_after_s:
                verdict = Verdict.RAISE
            else:
                verdict = Verdict.HOLD
            text = self.message.format(key=key, detail=cond.message)
            readings.append(
                Reading(_alert_key(self.name, key), verdict, text, {"since": cond.since})
            )
        return readings


Estimate = Callable[[Context], "float | None"]


@dataclass(frozen=True)
class ForecastRule:
    """Capacity warning: raise when a forecast time (seconds) is past `raise_at_s`.

    `soon=True` alarms when the time is short (quota running out within the hour); `soon=False`
    when it is long (the queue needs more than a working day to drain). A forecast of None (no
    trend, or not heading there at all) clears.
    """

    name: str
    estimate: Estimate
    raise_at_s: float
    clear_at_s: float
    message: str  # may use {eta} (human readable)
    severity: Severity = Severity.WARNING
    soon: bool = True
    raise_after: int = 3
    clear_after: int = 3

    def evaluate(self, ctx: Context) -> list[Reading]:
        eta = self.estimate(ctx)
        if eta is None:
            return [Reading(self.name, Verdict.CLEAR)]
        if self.soon:
            verdict = (
                Verdict.RAISE
                if eta < self.raise_at_s
                else Verdict.CLEAR
                if eta > self.clear_at_s
                else Verdict.HOLD
            )
        else:
            verdict = (
                Verdict.RAISE
                if eta > self.raise_at_s
                else Verdict.CLEAR
                if eta < self.clear_at_s
                else Verdict.HOLD
            )
        return [
            Reading(
                self.name, verdict, self.message.format(eta=human_duration(eta)), {"eta_s": eta}
            )
        ]


def human_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
