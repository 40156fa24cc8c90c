"""The in-process metrics registry: labelled counters, gauges and latency histograms.

Hand-written rather than built on `prometheus_client`'s metric classes because we need two things
they do not give: p50/p95/p99 from a bounded sketch (its Summary keeps no quantiles, its Histogram
only fixed buckets), and a per-interval view of each histogram that the sampler drains every 10 s
while the cumulative view stays intact for a Prometheus scrape. Recording is one dict lookup (when
the caller keeps the child, none) and one uncontended lock: well under a few microseconds.
"""

from __future__ import annotations

import contextlib
import enum
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from agent.monitor.sketch import LogSketch, Quantiles

LabelValues = tuple[str, ...]
_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class MetricKind(enum.StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


class Counter:
    """A value that only goes up (a count of events since the process started)."""

    __slots__ = ("_lock", "_value")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        lock = self._lock
        lock.acquire()
        self._value += amount
        lock.release()  # no `with`: a third cheaper, and `+=` on a float cannot raise

    @property
    def value(self) -> float:
        return self._value


class Gauge:
    """A value that goes up and down (a depth, a size, a state code)."""

    __slots__ = ("_lock", "_value")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0.0

    def set(self, value: float) -> None:
        self._value = float(value)  # one store: atomic under the GIL, no lock needed

    def inc(self, amount: float = 1.0) -> None:
        with self._lock:
            self._value += amount

    def dec(self, amount: float = 1.0) -> None:
        with self._lock:
            self._value -= amount

    @property
    def value(self) -> float:
        return self._value


class Histogram:
    """Observed durations (or sizes): a sketch of the current interval and one since start."""

    __slots__ = ("_cumulative", "_lock", "_window")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window = LogSketch()
        self._cumulative = LogSketch()

    def observe(self, value: float) -> None:
        with self._lock:  # `with` here: the sketch's add may raise on a non-number
            self._window.add(value)

    def drain_window(self) -> Quantiles:
        """Summarise the values observed since the last drain and start a new interval."""
        with self._lock:
            window, self._window = self._window, LogSketch()
            self._cumulative.merge(window)
        return window.summary()

    def cumulative(self) -> Quantiles:
        with self._lock:
            view = self._cumulative.copy()
            view.merge(self._window)
        return view.summary()


ChildT = TypeVar("ChildT", Counter, Gauge, Histogram)


class Family(Generic[ChildT]):
    """One metric name and its children, one per combination of label values."""

    def __init__(
        self,
        name: str,
        help: str,
        labelnames: tuple[str, ...],
        kind: MetricKind,
        child_type: type[ChildT],
    ) -> None:
        self.name = name
        self.help = help
        self.labelnames = labelnames
        self.kind = kind
        self._child_type: type[ChildT] = child_type
        self._children: dict[LabelValues, ChildT] = {}
        self._lookup: dict[tuple[object, ...], ChildT] = {}
        self._lock = threading.Lock()

    def labels(self, *values: object, **labels: object) -> ChildT:
        """The child for these label values (by position or by name); created on first use."""
        # The sync path calls this per API call with labels it used before: one dict lookup,
        # keyed by what was passed (names included), before any checking.
        key: tuple[object, ...] = tuple(labels.items()) if labels else values
        child = self._lookup.get(key)
        if child is None:
            child = self._create(key, values, labels)
        return child

    def _create(
        self, key: tuple[object, ...], values: tuple[object, ...], labels: dict[str, object]
    ) -> ChildT:
        names = self.labelnames
        if labels:
            if values or len(labels) != len(names) or set(labels) != set(names):
                raise ValueError(f"{self.name} takes labels {names}, got {sorted(labels)}")
            values = tuple(labels[n] for n in names)
        elif len(values) != len(names):
            raise ValueError(f"{self.name} takes labels {names}")
        canonical = tuple(str(v) for v in values)
        with self._lock:
            child = self._children.setdefault(canonical, self._child_type())
            # Remembered as given, so 1 and "1" find one child; an unhashable value is found
            # through its text each time.
            with contextlib.suppress(TypeError):
                self._lookup[key] = child
        return child

    def children(self) -> list[tuple[LabelValues, ChildT]]:
        with self._lock:
            return list(self._children.items())

    def unlabelled(self) -> ChildT:
        if self.labelnames:
            raise ValueError(f"{self.name} needs labels {self.labelnames}")
        return self.labels()


@dataclass(frozen=True)
class FamilySnapshot:
    """The values of one family at one moment; histograms carry summaries instead of values."""

    name: str
    kind: MetricKind
    help: str
    labelnames: tuple[str, ...]
    values: Mapping[LabelValues, float] = field(default_factory=dict)
    summaries: Mapping[LabelValues, Quantiles] = field(default_factory=dict)


class MetricsRegistry:
    """All metric families of one agent; registering a name twice returns the same family."""

    def __init__(self) -> None:
        self._families: dict[str, Family[Counter] | Family[Gauge] | Family[Histogram]] = {}
        self._lock = threading.Lock()

    def _register(
        self,
        name: str,
        help: str,
        labelnames: tuple[str, ...],
        kind: MetricKind,
        child_type: type[ChildT],
    ) -> Family[ChildT]:
        if not _NAME_RE.match(name) or not all(_NAME_RE.match(n) for n in labelnames):
            raise ValueError(f"invalid metric or label name in {name}{labelnames}")
        with self._lock:
            existing = self._families.get(name)
            if existing is None:
                family = Family(name, help, tuple(labelnames), kind, child_type)
                self._families[name] = family
                return family
        if existing.kind is not kind or existing.labelnames != tuple(labelnames):
            raise ValueError(
                f"{name} is already registered as a {existing.kind} {existing.labelnames}"
            )
        return existing  # type: ignore[return-value]

    def counter(
        self, name: str, help: str = "", labelnames: tuple[str, ...] = ()
    ) -> Family[Counter]:
        return self._register(name, help, labelnames, MetricKind.COUNTER, Counter)

    def gauge(self, name: str, help: str = "", labelnames: tuple[str, ...] = ()) -> Family[Gauge]:
        return self._register(name, help, labelnames, MetricKind.GAUGE, Gauge)

    def histogram(
        self, name: str, help: str = "", labelnames: tuple[str, ...] = ()
    ) -> Family[Histogram]:
        return self._register(name, help, labelnames, MetricKind.HISTOGRAM, Histogram)

    def families(self) -> list[Family[Counter] | Family[Gauge] | Family[Histogram]]:
        with self._lock:
            return list(self._families.values())

    def snapshot(self, *, drain_histograms: bool = False) -> list[FamilySnapshot]:
        """Every family's current values. With `drain_histograms`, histogram summaries cover
        only the interval since the previous drain (what the sampler stores); without, they cover
        everything since start (what a Prometheus scrape shows)."""
        out: list[FamilySnapshot] = []
        for family in self.families():
            values: dict[LabelValues, float] = {}
            summaries: dict[LabelValues, Quantiles] = {}
            for key, child in family.children():
                if isinstance(child, Histogram):
                    summaries[key] = (
                        child.drain_window() if drain_histograms else child.cumulative()
                    )
                else:
                    values[key] = child.value
            out.append(
                FamilySnapshot(
                    family.name, family.kind, family.help, family.labelnames, values, summaries
                )
            )
        return out
