"""Salvage benchmark: how long opening a damaged profile takes when its unsent work is salvaged.

A database with N queued operations (each with its audit event) gets random bytes over 1% of
its outbox leaf pages (at least one); the time to open it (probe, move aside, fresh schema,
salvage) is measured, with what came back. Writes `salvage.json`.
"""

from __future__ import annotations

import json
import pathlib
import tempfile
import time

from agent.clock import SystemClock
from agent.queue import SQLiteBackend
from agent.store import Store
from tests.bench.bench_queue import ticket_update
from tests.store.salvage_world import leaf_rowids, scribble

SIZES = (10_000, 50_000)


def run(tmp: pathlib.Path, n: int) -> dict[str, float]:
    path = tmp / f"agent-{n}.sqlite3"
    with Store(path) as store:
        box = SQLiteBackend(store, SystemClock())
        news = [ticket_update(i) for i in range(n)]
        for k in range(0, n, 1000):
            box.enqueue_many(news[k : k + 1000])
        store.checkpoint()
    leaves = sorted(leaf_rowids(path, "outbox_op"))
    hit = leaves[1 : 1 + max(1, len(leaves) // 100)]
    scribble(path, hit)
    start = time.perf_counter()
    with Store(path) as store:
        elapsed = time.perf_counter() - start
        assert store.recovery is not None and store.recovery.salvage is not None
        report = store.recovery.salvage
    return {
        "operations": n,
        "damaged_pages": len(hit),
        "recovered": report.operations.recovered,
        "unreadable": report.operations.unreadable,
        "audit_recovered": report.audit_events.recovered,
        "open_with_salvage_s": round(elapsed, 3),
    }


def main(out_dir: pathlib.Path) -> None:
    with tempfile.TemporaryDirectory() as d:
        results = [run(pathlib.Path(d), n) for n in SIZES]
    for r in results:
        print(json.dumps(r))
    (out_dir / "salvage.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main(pathlib.Path("build/bench"))
