"""What every benchmark file says about how it was made: the command, and the machine's load.

`LoadSampler` reads the one-minute load average before, during (every half second, on a
thread) and after a run; `stamp` adds that and the command to a benchmark's JSON, so a figure
measured on a busy machine says so. `figure` is one measured value beside the baseline it is
compared to, measured in the same run.
"""

from __future__ import annotations

import os
import shlex
import sys
import threading
import time
from typing import Any

INTERVAL = 0.5


def _load() -> float:
    return round(os.getloadavg()[0], 2)


class LoadSampler:
    """Samples the one-minute load average on a thread while a run lasts."""

    def __init__(self) -> None:
        self.before = _load()
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load-sampler", daemon=True)
        self.started = time.perf_counter()

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL):
            self.samples.append(_load())

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.after = _load()
        self.seconds = time.perf_counter() - self.started

    def report(self) -> dict[str, Any]:
        during = self.samples or [self.before]
        return {
            "before": self.before,
            "during_max": max(during),
            "during_mean": round(sum(during) / len(during), 2),
            "after": getattr(self, "after", None),
            "cpus": os.cpu_count(),
            "note": "one-minute load average; above the number of cpus the machine was busy",
        }


def command(module: str) -> str:
    """The command that reproduces one benchmark module's file."""
    return f"{shlex.quote(sys.executable)} -m tests.bench {module}"


def stamp(result: dict[str, Any], module: str, load: LoadSampler) -> dict[str, Any]:
    """`result` with the command and the load average of its run."""
    return {
        "command": command(module),
        "load_average": load.report(),
        "run_seconds": round(getattr(load, "seconds", 0.0), 1),
        **result,
    }


def figure(
    value: float,
    unit: str,
    baseline: str | None = None,
    baseline_value: float | None = None,
    *,
    higher_is_better: bool = True,
    target: str | None = None,
) -> dict[str, Any]:
    """One measured value with the baseline it is read against (and their ratio)."""
    out: dict[str, Any] = {"value": value, "unit": unit}
    if baseline is not None and baseline_value is not None:
        out["baseline"] = {"name": baseline, "value": baseline_value}
        if baseline_value and value:
            ratio = value / baseline_value if higher_is_better else baseline_value / value
            out["ratio_to_baseline"] = round(ratio, 3)
    if target is not None:
        out["target"] = target
    return out
