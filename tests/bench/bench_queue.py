"""Outbox throughput: our three backends beside persist-queue, huey and the physical floor.

Like is compared with like. Every SQLite contender runs at both durabilities, WAL with
`synchronous=NORMAL` (no fsync per commit) and with `synchronous=FULL` (an fsync of the WAL per
commit): ours through the store's `durability`, raw sqlite3 by PRAGMA, persist-queue and huey
by a PRAGMA on their own connections (neither exposes the setting). Each target is a ratio to
the physical floor measured in the same round at the same durability, on the same table and
indexes: a single enqueue against raw sqlite3 inserting the same row in a transaction of its
own; a batch enqueue against raw `executemany` of the same rows; claim+ack against raw sqlite3
making the same updates (select a page of pending ids, lease them, then mark them done, one
transaction each). The Redis figures are ratios to a bare EVALSHA of a script that writes the
same field/value bytes into a hash (one round trip per operation; pipelined for the batch).

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

from agent.canonical import canonical_bytes, loads
from agent.clock import SystemClock
from agent.queue import MemoryBackend, NewOperation, SQLiteBackend
from agent.queue.coalesce import _new_row, fingerprint_of
from agent.queue.sqlite_rows import INSERT, SELECT, values
from agent.security.sealing import SealingCodec, new_data_key
from agent.store import Store
from agent.store.codec import JsonCodec, set_codec
from agent.store.connection import Durability
from agent.store.models import OpKind
from tests.bench.runinfo import LoadSampler, figure, stamp

ROUNDS = 3
DURABILITIES = ("normal", "full")
SYNCHRONOUS = {"normal": 1, "full": 2}
# Single durable enqueues per contender: at FULL every one waits for the disk.
N_SINGLE = {"normal": 2000, "full": 300}
N_BASELINE = {"normal": 1000, "full": 300}
N_BATCH = 10000
BATCH = 1000
CLAIM = 100
REDIS_URL = "redis://127.0.0.1:6379/14"
# The Redis floor: the operation's field/value bytes written into a hash, nothing else.
FLOOR_LUA = "redis.call('HSET', KEYS[1], unpack(ARGV)) return 1"
NOTES = {
    "durability": "every SQLite contender at WAL + synchronous=NORMAL and at WAL + "
    "synchronous=FULL (ours: the store's durability; raw sqlite3: PRAGMA; persist-queue 1.1 "
    "SQLiteAckQueue and huey SqliteStorage: PRAGMA on their connections); a figure's suffix "
    "names its durability, and each is compared with the floor at the same one",
    "sqlite_enqueue": "one transaction per operation, one writer at a time (an idle store "
    "writes on the caller's connection)",
    "sqlite_enqueue_audited": "as sqlite_enqueue, plus the hash-chained audit event per operation",
    "sealed": "the NORMAL sqlite figures again with a sealing codec installed (`*_sealed`): "
    "every payload AES-256-GCM sealed as with encryption at rest",
    "redis_floor": "EVALSHA of a one-line script writing the operation's field/value pairs "
    "(the bytes our backend stores) into a hash: one round trip each, pipelined for batches",
    "floors": "the single-enqueue floor inserts a row made before the timed loop (it neither "
    "encodes, nor fingerprints, nor probes for live work); the batch floor makes its rows from "
    "the same operations inside the timed loop (payloads encoded, fingerprint computed: the "
    "bytes written are ours), and `*_vs_bare_executemany_*` reads the batch against rows made "
    "beforehand; the claim floor reads the rows it leases whole and decodes their payloads, but "
    "checks no ordering (ours holds back an operation behind an older one on the same record or "
    "an unfinished dependency) and re-reads nothing at the acknowledgement",
    "gc": "gc.freeze() of the harness's objects before each timed loop, for every contender",
    "rounds": f"{ROUNDS} rounds, contenders interleaved; a rate is its best round, "
    "a latency percentile its median round",
}


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


def bare_row(new: NewOperation, now: float) -> tuple[Any, ...]:
    """The row of `new` as plain code makes it: its payloads as canonical JSON, its fingerprint
    (what deduplication looks up), every other column as given."""
    return (
        None,
        new.kind.value,
        new.entity_type,
        new.target_id,
        new.temp_id,
        new.parent_id,
        new.parent_temp_id,
        canonical_bytes(new.fields),
        canonical_bytes(new.base),
        int(new.priority),
        "pending",
        0,
        now,
        now,
        now,
        new.deadline_at,
        fingerprint_of(new),
        None,
        None,
        0,
        None,
        None,
        None,
        int(new.technician),
    )


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


def bench_sqlite(tmp: pathlib.Path, results: dict[str, float], dur: str) -> None:
    clock = SystemClock()
    n = N_SINGLE[dur]
    with Store(tmp / f"q-{dur}.db", durability=Durability(dur)) as store:
        box = SQLiteBackend(store, clock, audit=False)
        # The floor under every single enqueue: an empty write (lock, BEGIN, COMMIT).
        results[f"store_write_roundtrip_{dur}"], _ = timed(n, lambda i: store.write(_nothing))
        box.enqueue(ticket_update(-1))  # warm the statement cache
        singles = [ticket_update(i) for i in range(n)]
        results[f"sqlite_enqueue_{dur}"], lat = timed(n, lambda i: box.enqueue(singles[i]))
        results[f"sqlite_enqueue_p99_ms_{dur}"] = p99_ms(lat)
        news = [ticket_update(N_SINGLE["normal"] + i) for i in range(N_BATCH)]
        results[f"sqlite_enqueue_batch_{dur}"] = timed_batches(news, box.enqueue_many)
        done = 0
        settle()
        start = time.perf_counter()
        while got := box.claim("bench", 60, limit=CLAIM):
            box.acknowledge_many({op.id: None for op in got})
            done += len(got)
        results[f"sqlite_claim_ack_{dur}"] = rate(done, time.perf_counter() - start)
        results[f"claimed_rows_{dur}"] = done
        gc.unfreeze()
    with Store(tmp / f"qa-{dur}.db", durability=Durability(dur)) as store:
        box = SQLiteBackend(store, clock, audit=True)
        results[f"sqlite_enqueue_audited_{dur}"], _ = timed(n, lambda i: box.enqueue(singles[i]))


def bench_sqlite_sealed(tmp: pathlib.Path, results: dict[str, float]) -> None:
    """`bench_sqlite` at NORMAL with every payload sealed (AES-256-GCM, bound to its column and
    row), as a profile with encryption at rest stores them; each figure named with `_sealed`."""
    folder = tmp / "sealed"
    folder.mkdir()
    set_codec(SealingCodec(seal_with=new_data_key()))
    try:
        sealed: dict[str, float] = {}
        bench_sqlite(folder, sealed, "normal")
    finally:
        set_codec(JsonCodec())
    results.update({f"{k}_sealed": v for k, v in sealed.items() if "roundtrip" not in k})


def _outbox_ddl(tmp: pathlib.Path) -> list[str]:
    with Store(tmp / "schema.db") as store:
        return store.read(
            lambda: [
                r[0]
                for r in store.db.execute_sql(
                    "SELECT sql FROM sqlite_master WHERE tbl_name='outbox_op' AND sql IS NOT NULL"
                )
            ]
        )


def bench_raw_sqlite(tmp: pathlib.Path, results: dict[str, float], dur: str) -> None:
    """The floor: the same rows into the same table and indexes, at the same durability, one
    transaction per insert; `executemany` per batch; and the claim's and ack's updates."""
    ddl = _outbox_ddl(tmp)
    conn = sqlite3.connect(tmp / f"raw-{dur}.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute(f"PRAGMA synchronous={SYNCHRONOUS[dur]}")
    for statement in ddl:
        conn.execute(statement)
    now = time.time()
    n = N_SINGLE[dur]
    rows = [
        (None, *values(_new_row(ticket_update(i), fingerprint_of(ticket_update(i)), now)))
        for i in range(n)
    ]

    def insert(i: int) -> None:
        conn.execute("BEGIN")
        conn.execute(INSERT, rows[i])
        conn.execute("COMMIT")

    results[f"raw_sqlite_enqueue_{dur}"], _ = timed(n, insert)
    batch_rows = [
        (None, *values(_new_row(new, fingerprint_of(new), now)))
        for new in (ticket_update(N_SINGLE["normal"] + i) for i in range(N_BATCH))
    ]

    def insert_batch(k: int) -> None:
        conn.execute("BEGIN")
        conn.executemany(INSERT, batch_rows[k * BATCH : (k + 1) * BATCH])
        conn.execute("COMMIT")

    batches, _ = timed(N_BATCH // BATCH, insert_batch)
    results[f"raw_sqlite_enqueue_batch_bare_{dur}"] = round(batches * BATCH, 1)
    # The same rows made from the same operations inside the timed loop: their payload columns
    # encoded and their fingerprint column computed, as any writer of these rows must.
    batch_news = [ticket_update(2 * N_BATCH + i) for i in range(N_BATCH)]

    def build_and_insert_batch(k: int) -> None:
        part = batch_news[k * BATCH : (k + 1) * BATCH]
        made = [bare_row(new, now) for new in part]
        conn.execute("BEGIN")
        conn.executemany(INSERT, made)
        conn.execute("COMMIT")

    batches, _ = timed(N_BATCH // BATCH, build_and_insert_batch)
    results[f"raw_sqlite_enqueue_batch_{dur}"] = round(batches * BATCH, 1)
    done = 0
    settle()
    start = time.perf_counter()
    while True:
        conn.execute("BEGIN")
        # The rows handed out, read whole with their payloads decoded (a claim hands out the
        # work to do, not just its ids).
        claimed = [
            (r[0], loads(r[7]), loads(r[8]))
            for r in conn.execute(SELECT + " WHERE state='pending' ORDER BY id LIMIT ?", (CLAIM,))
        ]
        ids = [r[0] for r in claimed]
        if not ids:
            conn.execute("COMMIT")
            break
        marks = ",".join("?" * len(ids))
        conn.execute(
            f"UPDATE outbox_op SET state='leased', lease_owner=?, lease_expires_at=? "
            f"WHERE id IN ({marks})",
            ("bench", now + 60, *ids),
        )
        conn.execute("COMMIT")
        conn.execute("BEGIN")
        conn.execute(
            f"UPDATE outbox_op SET state='done', lease_owner=NULL, lease_expires_at=NULL "
            f"WHERE id IN ({marks})",
            ids,
        )
        conn.execute("COMMIT")
        done += len(ids)
    results[f"raw_sqlite_claim_ack_{dur}"] = rate(done, time.perf_counter() - start)
    gc.unfreeze()
    conn.close()


def bench_memory(results: dict[str, float]) -> None:
    box = MemoryBackend(SystemClock())
    news = [ticket_update(i) for i in range(N_BATCH)]
    results["memory_enqueue"], _ = timed(N_BATCH, lambda i: box.enqueue(news[i]))


def redis_pairs(news: list[NewOperation]) -> list[list[Any]]:
    """The field/value pairs our Redis backend stores for each operation."""
    from agent.queue.redis_rows import to_pairs

    box = MemoryBackend(SystemClock())
    return [to_pairs(box.enqueue(new)) for new in news]


def bench_redis(results: dict[str, float]) -> None:
    import redis

    from agent.queue.redis_backend import RedisBackend

    prefix = f"bench:{uuid.uuid4().hex}"
    client = redis.Redis.from_url(REDIS_URL)
    box = RedisBackend(client, prefix, SystemClock())
    n = N_SINGLE["normal"]
    try:
        results["redis_roundtrip"], _ = timed(n, lambda i: client.ping())
        sha = client.script_load(FLOOR_LUA)
        pairs = redis_pairs([ticket_update(i) for i in range(n + N_BATCH)])

        def floor_one(i: int) -> None:
            client.evalsha(sha, 1, f"{prefix}:floor:{i}", *pairs[i])

        results["redis_floor_single"], _ = timed(n, floor_one)

        def floor_batch(k: int) -> None:
            pipe = client.pipeline(transaction=False)
            for i in range(n + k * BATCH, n + (k + 1) * BATCH):
                pipe.evalsha(sha, 1, f"{prefix}:floor:{i}", *pairs[i])
            pipe.execute()

        batches, _ = timed(N_BATCH // BATCH, floor_batch)
        results["redis_floor_batch"] = round(batches * BATCH, 1)
        singles = [ticket_update(i) for i in range(n)]
        results["redis_enqueue"], _ = timed(n, lambda i: box.enqueue(singles[i]))
        news = [ticket_update(n + i) for i in range(N_BATCH)]
        results["redis_enqueue_batch"] = timed_batches(news, box.enqueue_many)
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=5000))
        for k in range(0, len(keys), 5000):
            client.delete(*keys[k : k + 5000])
        client.close()


def bench_persistqueue(tmp: pathlib.Path, results: dict[str, float], dur: str) -> None:
    import persistqueue

    q = persistqueue.SQLiteAckQueue(str(tmp / f"pq-{dur}"), auto_commit=True, multithreading=True)
    for conn in {id(c): c for c in (q._conn, q._putter, q._getter)}.values():
        conn.execute(f"PRAGMA synchronous={SYNCHRONOUS[dur]}")
    n = N_BASELINE[dur]
    items = [payload(i) for i in range(n)]
    results[f"persistqueue_enqueue_{dur}"], _ = timed(n, lambda i: q.put(items[i]))

    def get_ack(i: int) -> None:
        q.ack(q.get())

    results[f"persistqueue_get_ack_{dur}"], _ = timed(n, get_ack)


def bench_huey(tmp: pathlib.Path, results: dict[str, float], dur: str) -> None:
    from huey.storage import SqliteStorage

    storage = SqliteStorage(name="bench", filename=str(tmp / f"huey-{dur}.db"))
    storage.conn.execute(f"PRAGMA synchronous={SYNCHRONOUS[dur]}")
    n = N_BASELINE[dur]
    items = [json.dumps(payload(i)).encode() for i in range(n)]
    results[f"huey_enqueue_{dur}"], _ = timed(n, lambda i: storage.enqueue(items[i]))
    storage.close()


def figures(r: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Each figure beside the floor (or contender) it is read against, at equal durability."""
    out: dict[str, dict[str, Any]] = {}
    for d in DURABILITIES:
        floor = f"raw sqlite3, same rows, same table and indexes, synchronous={d.upper()}"
        out[f"sqlite_enqueue_{d}"] = figure(
            r[f"sqlite_enqueue_{d}"],
            "ops/s",
            f"{floor}: one insert per transaction",
            r[f"raw_sqlite_enqueue_{d}"],
            target=">= 0.8x",
        )
        out[f"sqlite_enqueue_batch_{d}"] = figure(
            r[f"sqlite_enqueue_batch_{d}"],
            "ops/s",
            f"{floor}: executemany of {BATCH} rows per transaction, the rows made from the "
            "same operations in the timed loop (payloads encoded, fingerprint computed)",
            r[f"raw_sqlite_enqueue_batch_{d}"],
            target=">= 0.8x",
        )
        out[f"sqlite_enqueue_batch_vs_bare_executemany_{d}"] = figure(
            r[f"sqlite_enqueue_batch_{d}"],
            "ops/s",
            f"{floor}: executemany of {BATCH} rows made before the timed loop",
            r[f"raw_sqlite_enqueue_batch_bare_{d}"],
        )
        out[f"sqlite_claim_ack_{d}"] = figure(
            r[f"sqlite_claim_ack_{d}"],
            "ops/s",
            f"{floor}: select {CLAIM} pending rows (payloads decoded), lease them, mark them done",
            r[f"raw_sqlite_claim_ack_{d}"],
            target=">= 0.5x",
        )
        for other, key in (("persistqueue", "persistqueue_enqueue"), ("huey", "huey_enqueue")):
            out[f"sqlite_enqueue_vs_{other}_{d}"] = figure(
                r[f"sqlite_enqueue_{d}"],
                "ops/s",
                f"{other} enqueue at synchronous={d.upper()}",
                r[f"{key}_{d}"],
            )
        out[f"sqlite_claim_ack_vs_persistqueue_get_ack_{d}"] = figure(
            r[f"sqlite_claim_ack_{d}"],
            "ops/s",
            f"persist-queue get+ack at synchronous={d.upper()}",
            r[f"persistqueue_get_ack_{d}"],
        )
    if "redis_enqueue" in r:
        out["redis_enqueue"] = figure(
            r["redis_enqueue"],
            "ops/s",
            "EVALSHA writing the same field/value bytes into a hash, one round trip each",
            r["redis_floor_single"],
            target=">= 0.5x",
        )
        out["redis_enqueue_batch"] = figure(
            r["redis_enqueue_batch"],
            "ops/s",
            f"the same EVALSHA pipelined, {BATCH} per round trip",
            r["redis_floor_batch"],
            target=">= 0.5x",
        )
    return out


def met(figs: dict[str, dict[str, Any]]) -> dict[str, bool]:
    """Whether each figure with a ratio target reaches it."""
    out: dict[str, bool] = {}
    for name, f in figs.items():
        target = f.get("target")
        if target and target.startswith(">=") and target.endswith("x"):
            out[name] = f.get("ratio_to_baseline", 0.0) >= float(target[2:-1])
    return out


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
    with LoadSampler() as load, tempfile.TemporaryDirectory() as d:
        for n in range(ROUNDS):  # contenders interleaved, so each sees the same machine load
            tmp = pathlib.Path(d) / f"round{n}"
            tmp.mkdir()
            results: dict[str, float] = {}
            for dur in DURABILITIES:
                bench_raw_sqlite(tmp, results, dur)
                bench_sqlite(tmp, results, dur)
                bench_persistqueue(tmp, results, dur)
                bench_huey(tmp, results, dur)
            bench_sqlite_sealed(tmp, results)
            bench_memory(results)
            bench_redis(results)
            rounds.append(results)
    results = combine(rounds)
    figs = figures(results)
    report = stamp(
        {"figures": figs, "met": met(figs), "results": results, "notes": NOTES}, "queue", load
    )
    (out_dir / "queue.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    out = pathlib.Path("build/bench")
    out.mkdir(parents=True, exist_ok=True)
    main(out)
