"""Paired, interleaved timing: contenders take turns in small blocks within one run.

A ratio of two rates measured minutes apart also measures whatever the machine did in between
(another process's fsyncs on a shared disk, a busy CPU). Here every contender runs one block,
then the next contender runs one, the order reversing each block (ABC, CBA, ABC, ...), so a
slow moment falls on neighbouring blocks alike and no contender always goes first. Each block
pair gives a ratio, and a figure reports the median of those ratios with their spread.

Before the loop the harness's own objects are frozen out of the garbage collector (`gc.freeze`):
otherwise each full collection during the loop rescans them, and the figure measures the harness.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Contender:
    """`step(i)` does one unit of work (`ops` operations); a block is `per_block` steps."""

    step: Callable[[int], object]
    per_block: int = 1
    ops: int = 1
    next_step: int = 0


@dataclass
class Timings:
    """What interleaved blocks measured, pooled across runs, per contender."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    ops: dict[str, list[int]] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def rate(self, name: str) -> float:
        return round(sum(self.ops[name]) / sum(self.seconds[name]), 1)

    def ratios(self, ours: str, baseline: str) -> list[float]:
        """Per block pair: our rate over the baseline's."""
        return [
            (n_ours / t_ours) / (n_base / t_base)
            for t_ours, n_ours, t_base, n_base in zip(
                self.seconds[ours],
                self.ops[ours],
                self.seconds[baseline],
                self.ops[baseline],
                strict=True,
            )
        ]

    def p99_ms(self, name: str) -> float:
        lat = sorted(self.latencies[name])
        return round(lat[int(len(lat) * 0.99)] * 1000, 3)


def settle() -> None:
    """Freeze what exists now (inputs, modules) out of the collector's scans."""
    gc.collect()
    gc.freeze()


def interleave(contenders: dict[str, Contender], blocks: int, into: Timings) -> None:
    """Run `blocks` blocks of every contender, one contender's block after another's, the
    order reversing each block: contenders given next to each other stay next to each other."""
    names = list(contenders)
    for name in names:
        into.seconds.setdefault(name, [])
        into.ops.setdefault(name, [])
        into.latencies.setdefault(name, [])
    perf = time.perf_counter
    settle()
    try:
        for b in range(blocks):
            for name in names if b % 2 == 0 else names[::-1]:
                c = contenders[name]
                lat = into.latencies[name]
                start = perf()
                for i in range(c.next_step, c.next_step + c.per_block):
                    t = perf()
                    c.step(i)
                    lat.append(perf() - t)
                into.seconds[name].append(perf() - start)
                into.ops[name].append(c.per_block * c.ops)
                c.next_step += c.per_block
    finally:
        gc.unfreeze()


def spread(ratios: list[float]) -> dict[str, Any]:
    """The median of per-block ratios, with their quartiles and extremes."""
    q1, median, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return {
        "median": round(median, 3),
        "p25": round(q1, 3),
        "p75": round(q3, 3),
        "min": round(min(ratios), 3),
        "max": round(max(ratios), 3),
        "blocks": len(ratios),
    }
