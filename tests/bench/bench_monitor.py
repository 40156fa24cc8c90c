"""Cost of recording one metric observation, against an empty function call in the same run.

The sync benchmark relates these figures to the time of one synced operation (the budget is 3 %).
"""

from __future__ import annotations

import json
import platform
import random
import time
from collections.abc import Callable
from pathlib import Path

from agent.monitor import names
from agent.monitor.registry import MetricsRegistry

N = 200_000
ROUNDS = 5


def _empty(value: float) -> None:
    return None


def _per_call_ns(fn: Callable[[float], None], values: list[float]) -> float:
    """Best of several rounds (the least disturbed by other processes), in ns per call."""
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        for v in values:
            fn(v)
        best = min(best, (time.perf_counter_ns() - start) / len(values))
    return best


def main(out_dir: Path) -> None:
    registry = names.register_all(MetricsRegistry())
    rng = random.Random(1)
    values = [rng.lognormvariate(-2.0, 1.0) for _ in range(N)]
    requests = names.API_REQUESTS.on(registry)
    latency = names.API_LATENCY.on(registry)
    held_counter = requests.labels(endpoint="Tickets")
    held_histogram = latency.labels(endpoint="Tickets")
    depth = names.QUEUE_DEPTH.on(registry).labels(state="pending")

    cases: dict[str, Callable[[float], None]] = {
        "empty_call": _empty,
        "counter_inc": lambda v: held_counter.inc(),
        "counter_inc_by_labels": lambda v: requests.labels(endpoint="Tickets").inc(),
        "histogram_observe": held_histogram.observe,
        "histogram_observe_by_labels": lambda v: latency.labels(endpoint="Tickets").observe(v),
        "gauge_set": depth.set,
    }
    ns = {name: _per_call_ns(fn, values) for name, fn in cases.items()}
    baseline = ns["empty_call"]
    # One synced operation records about one API call (count + latency) and one outcome.
    per_synced_op = ns["counter_inc_by_labels"] * 2 + ns["histogram_observe_by_labels"]
    result = {
        "observations_per_case": N,
        "rounds": ROUNDS,
        "ns_per_call": {k: round(v, 1) for k, v in ns.items()},
        "ratio_to_empty_call": {k: round(v / baseline, 2) for k, v in ns.items()},
        "ns_recording_per_synced_op": round(per_synced_op, 1),
        "python": platform.python_version(),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "monitor.json").write_text(json.dumps(result, indent=2) + "\n")
    for name, value in ns.items():
        print(f"{name:30s} {value:8.1f} ns  x{value / baseline:5.1f}")
