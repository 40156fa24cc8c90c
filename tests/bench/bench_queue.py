"""Outbox throughput: our three backends beside persist-queue, huey and raw sqlite3, same payload.

Every figure is operations per second measured in this run; targets are ratios against the
baselines measured alongside, plus a few absolute floors. Single enqueues are one durable
transaction (or one Redis round trip) each; ours and raw sqlite3 run WAL, synchronous=NORMAL;
persist-queue and huey keep their own defaults (see `NOTES`, also written to the JSON).

Floors measured alongside, to read the targets against: an empty `Store.write` (on an idle
store, the writer's lock and an empty transaction on the caller's connection,
`store_write_roundtrip`), raw sqlite3 `executemany` of the same prebuilt rows
(`raw_sqlite_enqueue_batch`), and a bare Redis PING round trip through the same client
(`redis_roundtrip`).

Before each timed loop the harness's own objects (prebuilt inputs, imported modules) are frozen
out of the garbage collector (`gc.freeze`), for every contender alike: otherwise each full
collection during the loop rescans them, and the figure measures the harness. Objects a contender
allocates while timed are collected as usual.
"""

from __future__ import annotations

import gc
import json
import pathlib
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

from agent.clock import SystemClock
from agent.queue import MemoryBackend, NewOperation, SQLiteBackend
from agent.queue.coalesce import _new_row, fingerprint_of
from agent.queue.sqlite_rows import INSERT, values
from agent.security.sealing import SealingCodec, new_data_key
from agent.store import Store
from agent.store.codec import JsonCodec, set_codec
from agent.store.models import OpKind

ROUNDS = 3
NOTES = {
    "durability": "ours and raw sqlite3: WAL, synchronous=NORMAL (no fsync per commit); "
    "persist-queue 1.1 (SQLiteAckQueue, auto_commit) and huey SqliteStorage: WAL, "
    "synchronous=FULL (their defaults: an fsync of the WAL per commit)",
    "sqlite_enqueue": "one transaction per operation, one writer at a time (an idle store "
    "writes on the caller's connection)",
    "sqlite_enqueue_audited": "as sqlite_enqueue, plus the hash-chained audit event per operation",
    "sealed": "the sqlite figures again with a sealing codec installed (`*_sealed`): every "
    "payload AES-256-GCM sealed as with encryption at rest",
    "gc": "gc.freeze() of the harness's objects before each timed loop, for every contender",
    "rounds": f"{ROUNDS} rounds, contenders interleaved; a rate is its best round, "
    "a latency percentile its median round",
}
N_SINGLE = 2000
N_BATCH = 10000
N_BASELINE = 1000
BATCH = 1000
REDIS_URL = "redis://127.0.0.1:6379/14"


def ticket_update(i: int) -> NewOperation:
    """A technician's typical edit: status, resource, title, a paragraph, a due date."""
    return NewOperation(
        OpKind.UPDATE,
        "Ticket",
        {
            "status": 5,
            "assignedResourceID": 29683 + i % 7,
            "title": f"Printer on floor 3 jams on duplex jobs (#{i})",
            "description": "Replaced the fuser; jams persist with duplex. Ordered a new "
            "pickup roller, customer informed, follow-up on Thursday. " * 3,
            "dueDateTime": "2026-01-06T17:00:00Z",
        },
        {"status": 1, "assignedResourceID": None, "title": "Printer jams", "description": ""},
        target_id=100_000 + i,
    )


def payload(i: int) -> dict[str, Any]:
    new = ticket_update(i)
    return {
        "entity": new.entity_type,
        "id": new.target_id,
        "fields": dict(new.fields),
        "base": dict(new.base),
        "fingerprint": fingerprint_of(new),
    }


def rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1)


def settle() -> None:
    """Freeze what exists now (inputs, modules) out of the collector's scans (module docstring)."""
    gc.collect()
    gc.freeze()


def timed(n: int, fn: Callable[[int], object]) -> tuple[float, list[float]]:
    lat = [0.0] * n
    settle()
    start = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        lat[i] = time.perf_counter() - t
    elapsed = time.perf_counter() - start
    gc.unfreeze()
    return rate(n, elapsed), lat


def timed_batches(news: list[NewOperation], fn: Callable[[list[NewOperation]], object]) -> float:
    settle()
    start = time.perf_counter()
    for k in range(0, len(news), BATCH):
        fn(news[k : k + BATCH])
    elapsed = time.perf_counter() - start
    gc.unfreeze()
    return rate(len(news), elapsed)


def p99_ms(lat: list[float]) -> float:
    return round(sorted(lat)[int(len(lat) * 0.99)] * 1000, 3)


def _nothing() -> None:
    return None


def bench_sqlite(tmp: pathlib.Path, results: dict[str, float]) -> None:
    clock = SystemClock()
    with Store(tmp / "q.db") as store:
        box = SQLiteBackend(store, clock, audit=False)
        # The floor under every single enqueue: an empty write (lock, BEGIN, COMMIT).
        results["store_write_roundtrip"], _ = timed(N_SINGLE, lambda i: store.write(_nothing))
        box.enqueue(ticket_update(-1))  # warm the statement cache
        singles = [ticket_update(i) for i in range(N_SINGLE)]
        results["sqlite_enqueue"], lat = timed(N_SINGLE, lambda i: box.enqueue(singles[i]))
        results["sqlite_enqueue_p99_ms"] = p99_ms(lat)
        news = [ticket_update(N_SINGLE + i) for i in range(N_BATCH)]
        results["sqlite_enqueue_batch"] = timed_batches(news, box.enqueue_many)
        done = 0
        settle()
        start = time.perf_counter()
        while got := box.claim("bench", 60, limit=100):
            box.acknowledge_many({op.id: None for op in got})
            done += len(got)
        results["sqlite_claim_ack"] = rate(done, time.perf_counter() - start)
        gc.unfreeze()
    with Store(tmp / "qa.db") as store:
        box = SQLiteBackend(store, clock, audit=True)
        results["sqlite_enqueue_audited"], _ = timed(N_SINGLE, lambda i: box.enqueue(singles[i]))


def bench_sqlite_sealed(tmp: pathlib.Path, results: dict[str, float]) -> None:
    """`bench_sqlite` with every payload sealed (AES-256-GCM, bound to its column and row), as
    a profile with encryption at rest stores them; each figure named with `_sealed`."""
    folder = tmp / "sealed"
    folder.mkdir()
    set_codec(SealingCodec(seal_with=new_data_key()))
    try:
        sealed: dict[str, float] = {}
        bench_sqlite(folder, sealed)
    finally:
        set_codec(JsonCodec())
    results.update({f"{k}_sealed": v for k, v in sealed.items() if k != "store_write_roundtrip"})


def bench_raw_sqlite(tmp: pathlib.Path, results: dict[str, float]) -> None:
    """The floor: the same row into the same table and indexes, one transaction per insert."""
    with Store(tmp / "schema.db") as store:
        ddl = store.read(
            lambda: [
                r[0]
                for r in store.db.execute_sql(
                    "SELECT sql FROM sqlite_master WHERE tbl_name='outbox_op' AND sql IS NOT NULL"
                )
            ]
        )
    conn = sqlite3.connect(tmp / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("PRAGMA synchronous=NORMAL")
    for statement in ddl:
        conn.execute(statement)
    now = time.time()
    rows = [
        (None, *values(_new_row(ticket_update(i), fingerprint_of(ticket_update(i)), now)))
        for i in range(N_SINGLE)
    ]

    def insert(i: int) -> None:
        conn.execute("BEGIN")
        conn.execute(INSERT, rows[i])
        conn.execute("COMMIT")

    results["raw_sqlite_enqueue"], _ = timed(N_SINGLE, insert)
    batch_rows = [
        (None, *values(_new_row(new, fingerprint_of(new), now)))
        for new in (ticket_update(N_SINGLE + i) for i in range(N_BATCH))
    ]

    def insert_batch(k: int) -> None:
        conn.execute("BEGIN")
        conn.executemany(INSERT, batch_rows[k * BATCH : (k + 1) * BATCH])
        conn.execute("COMMIT")

    batches, _ = timed(N_BATCH // BATCH, insert_batch)
    results["raw_sqlite_enqueue_batch"] = round(batches * BATCH, 1)
    conn.close()


def bench_memory(results: dict[str, float]) -> None:
    box = MemoryBackend(SystemClock())
    news = [ticket_update(i) for i in range(N_BATCH)]
    results["memory_enqueue"], _ = timed(N_BATCH, lambda i: box.enqueue(news[i]))


def bench_redis(results: dict[str, float]) -> None:
    import redis

    from agent.queue.redis_backend import RedisBackend

    prefix = f"bench:{uuid.uuid4().hex}"
    client = redis.Redis.from_url(REDIS_URL)
    box = RedisBackend(client, prefix, SystemClock())
    try:
        results["redis_roundtrip"], _ = timed(N_SINGLE, lambda i: client.ping())
        singles = [ticket_update(i) for i in range(N_SINGLE)]
        results["redis_enqueue"], _ = timed(N_SINGLE, lambda i: box.enqueue(singles[i]))
        news = [ticket_update(N_SINGLE + i) for i in range(N_BATCH)]
        results["redis_enqueue_batch"] = timed_batches(news, box.enqueue_many)
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=5000))
        for k in range(0, len(keys), 5000):
            client.delete(*keys[k : k + 5000])
        client.close()


def bench_persistqueue(tmp: pathlib.Path, results: dict[str, float]) -> None:
    import persistqueue

    q = persistqueue.SQLiteAckQueue(str(tmp / "pq"), auto_commit=True, multithreading=True)
    items = [payload(i) for i in range(N_BASELINE)]
    results["persistqueue_enqueue"], _ = timed(N_BASELINE, lambda i: q.put(items[i]))

    def get_ack(i: int) -> None:
        q.ack(q.get())

    results["persistqueue_get_ack"], _ = timed(N_BASELINE, get_ack)


def bench_huey(tmp: pathlib.Path, results: dict[str, float]) -> None:
    from huey.storage import SqliteStorage

    storage = SqliteStorage(name="bench", filename=str(tmp / "huey.db"))
    items = [json.dumps(payload(i)).encode() for i in range(N_BASELINE)]
    results["huey_enqueue"], _ = timed(N_BASELINE, lambda i: storage.enqueue(items[i]))
    storage.close()


def targets_met(r: dict[str, float]) -> tuple[dict[str, str], dict[str, bool]]:
    checks: dict[str, tuple[str, bool]] = {
        "sqlite_enqueue_vs_persistqueue": (
            ">= 3x",
            r["sqlite_enqueue"] >= 3 * r["persistqueue_enqueue"],
        ),
        "sqlite_enqueue_vs_huey": (">= 3x", r["sqlite_enqueue"] >= 3 * r["huey_enqueue"]),
        "sqlite_enqueue_vs_raw_sqlite": (
            ">= 0.7x",
            r["sqlite_enqueue"] >= 0.7 * r["raw_sqlite_enqueue"],
        ),
        "sqlite_claim_ack_vs_persistqueue_get_ack": (
            ">= 15x",
            r["sqlite_claim_ack"] >= 15 * r["persistqueue_get_ack"],
        ),
        "sqlite_enqueue_batch": (">= 100000/s", r["sqlite_enqueue_batch"] >= 100_000),
        "memory_enqueue": (">= 100000/s", r["memory_enqueue"] >= 100_000),
        "redis_enqueue": (">= 15000/s", r.get("redis_enqueue", 0) >= 15_000),
        "redis_enqueue_batch": (">= 100000/s", r.get("redis_enqueue_batch", 0) >= 100_000),
        "sqlite_enqueue_p99_ms": ("<= 2", r["sqlite_enqueue_p99_ms"] <= 2),
    }
    return {k: v[0] for k, v in checks.items()}, {k: v[1] for k, v in checks.items()}


def combine(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Each rate is its best round (other processes on the machine only ever slow a round down);
    a latency percentile is its median round."""
    out: dict[str, float] = {}
    for key in rounds[0]:
        values = [r[key] for r in rounds if key in r]
        out[key] = statistics.median(values) if key.endswith("_ms") else max(values)
    return out


def main(out_dir: pathlib.Path) -> None:
    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as d:
        for n in range(ROUNDS):  # contenders interleaved, so each sees the same machine load
            tmp = pathlib.Path(d) / f"round{n}"
            tmp.mkdir()
            results: dict[str, float] = {}
            bench_raw_sqlite(tmp, results)
            bench_sqlite(tmp, results)
            bench_sqlite_sealed(tmp, results)
            bench_memory(results)
            bench_redis(results)
            bench_persistqueue(tmp, results)
            bench_huey(tmp, results)
            rounds.append(results)
    results = combine(rounds)
    targets, met = targets_met(results)
    report = {"results": results, "targets": targets, "met": met, "notes": NOTES}
    (out_dir / "queue.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    out = pathlib.Path("build/bench")
    out.mkdir(parents=True, exist_ok=True)
    main(out)
