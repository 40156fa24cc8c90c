"""The latency sketch answers quantiles within its relative accuracy, in bounded memory."""

from __future__ import annotations

import math
import random

import pytest

from agent.monitor.sketch import LogSketch


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_quantiles_are_within_the_relative_accuracy_of_the_exact_ones(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.lognormvariate(-1.5, 0.8) for _ in range(5000)]
    sketch = LogSketch(relative_accuracy=0.01)
    for v in values:
        sketch.add(v)
    for q in (0.5, 0.95, 0.99):
        assert sketch.quantile(q) == pytest.approx(exact(values, q), rel=0.0101)
    summary = sketch.summary()
    assert summary.count == 5000
    assert summary.total == pytest.approx(math.fsum(values))
    assert summary.minimum == min(values) and summary.maximum == max(values)


def test_an_empty_sketch_reports_no_quantile_rather_than_zero() -> None:
    summary = LogSketch().summary()
    assert summary.count == 0 and math.isnan(summary.p95)


def test_zero_and_negative_durations_count_as_zero() -> None:
    sketch = LogSketch()
    for v in (0.0, -0.5, 0.0, 2.0):
        sketch.add(v)
    assert sketch.quantile(0.0) == 0.0
    assert sketch.quantile(0.5) == 0.0
    assert sketch.quantile(1.0) == pytest.approx(2.0, rel=0.01)


def test_memory_stays_bounded_and_the_tail_stays_accurate_when_buckets_fold() -> None:
    sketch = LogSketch(relative_accuracy=0.01, max_buckets=64)
    values = [10 ** (i / 1000) for i in range(-6000, 3000)]  # 1e-6 .. 1e3, far beyond 64 buckets
    for v in values:
        sketch.add(v)
    assert len(sketch.buckets) <= 64
    assert sketch.quantile(0.99) == pytest.approx(exact(values, 0.99), rel=0.0101)


def test_merging_two_sketches_equals_one_sketch_of_all_values() -> None:
    rng = random.Random(7)
    a, b, both = LogSketch(), LogSketch(), LogSketch()
    for i in range(2000):
        v = rng.expovariate(3.0)
        (a if i % 2 else b).add(v)
        both.add(v)
    a.merge(b)
    assert a.count == both.count
    for q in (0.5, 0.95, 0.99):
        assert a.quantile(q) == both.quantile(q)


def test_sketches_of_different_accuracy_refuse_to_merge() -> None:
    with pytest.raises(ValueError):
        LogSketch(0.01).merge(LogSketch(0.02))
