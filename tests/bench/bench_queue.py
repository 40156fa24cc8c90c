"""Outbox throughput: our SQLite and memory backends beside persist-queue, huey and the floor.

Like is compared with like. Every SQLite contender runs at both durabilities, WAL with
`synchronous=NORMAL` (no fsync per commit) and with `synchronous=FULL` (an fsync of the WAL per
commit): ours through the store's `durability`, raw sqlite3 by PRAGMA, persist-queue and huey
by a PRAGMA on their own connections (neither exposes the setting). Each target is a ratio to
the physical floor at the same durability, on the same table and indexes: a single enqueue
against raw sqlite3 inserting the same row in a transaction of its own; a batch enqueue against
raw `executemany` of the same rows; claim+ack against raw sqlite3 making the same updates
(select a page of pending ids, lease them, then mark them done, one transaction each).

Every comparison is paired (`tests.bench.paired`): the contenders take turns in small blocks
within one run, so a slow moment of the shared disk or CPU falls on both sides alike; a ratio
is the median of the per-block ratios, reported with its quartiles and extremes.
"""

from __future__ import annotations

import json
import pathlib
import sqlite3
import tempfile
import time
from collections.abc import Callable
from typing import Any

from agent.canonical import canonical_bytes, loads
from agent.clock import SystemClock
from agent.queue import MemoryBackend, NewOperation, SQLiteBackend
from agent.queue.coalesce import fingerprint_of
from agent.queue.sqlite_rows import INSERT, SELECT
from agent.security.sealing import SealingCodec, new_data_key
from agent.store import Store
from agent.store.codec import JsonCodec, set_codec
from agent.store.connection import Durability
from agent.store.models import OpKind
from tests.bench.paired import Contender, Timings, interleave, spread
from tests.bench.runinfo import LoadSampler, figure, stamp

ROUNDS = 2
DURABILITIES = ("normal", "full")
SYNCHRONOUS = {"normal": 1, "full": 2}
# Single enqueues: blocks per round and operations per block (at FULL each waits for the disk).
SINGLE_BLOCKS = {"normal": 24, "full": 30}
SINGLE_BLOCK = {"normal": 150, "full": 10}
BATCH = 1000
BATCH_BLOCKS = 10  # one batch per contender per block
CLAIM = 100
CLAIM_BLOCKS = 20
CLAIM_BLOCK = 5  # claim+ack cycles per block
NOTES = {
    "durability": "every SQLite contender at WAL + synchronous=NORMAL and at WAL + "
    "synchronous=FULL (ours: the store's durability; raw sqlite3: PRAGMA; persist-queue 1.1 "
    "SQLiteAckQueue and huey SqliteStorage: PRAGMA on their connections); a figure's suffix "
    "names its durability, and each is compared with the floor at the same one",
    "pairing": "contenders take turns in blocks within one run, the order reversing each block "
    f"(single enqueue: {SINGLE_BLOCK} operations per block; batch: one batch of {BATCH}; "
    f"claim+ack: {CLAIM_BLOCK} cycles of {CLAIM}); `ratio_to_baseline` is the median of the "
    "per-block ratios of rates, `paired` their quartiles and extremes; `value` and the "
    f"baseline's value are rates over all blocks of {ROUNDS} rounds",
    "sqlite_enqueue": "one transaction per operation, one writer at a time (an idle store "
    "writes on the caller's connection), probing for live work on the same record first",
    "sqlite_enqueue_audited": "as sqlite_enqueue, plus the hash-chained audit event per operation",
    "sealed": "the NORMAL sqlite comparisons again with a sealing codec installed (`*_sealed`): "
    "every payload AES-256-GCM sealed as with encryption at rest (the floor seals nothing)",
    "floors": "the single-enqueue floor inserts a row made before the timed loop (it neither "
    "encodes, nor fingerprints, nor probes for live work); the batch floor makes its rows from "
    "the same operations inside the timed loop (payloads encoded, fingerprint computed: the "
    "bytes written are ours), and `*_vs_bare_executemany_*` reads the batch against rows made "
    "beforehand; the claim floor reads the rows it leases whole and decodes their payloads, but "
    "checks no ordering (ours holds back an operation behind an older one on the same record or "
    "an unfinished dependency) and re-reads nothing at the acknowledgement",
    "gc": "gc.freeze() of the harness's objects before each interleaved loop",
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


def _nothing() -> None:
    return None


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


class RawFloor:
    """Raw sqlite3 on the same table and indexes at the same durability: the physical floor."""

    def __init__(self, path: pathlib.Path, ddl: list[str], dur: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=wal")
        self.conn.execute(f"PRAGMA synchronous={SYNCHRONOUS[dur]}")
        for statement in ddl:
            self.conn.execute(statement)
        self.now = time.time()

    def rows(self, news: list[NewOperation]) -> list[tuple[Any, ...]]:
        """Rows made before the timed loop; plain JSON payloads (the floor seals nothing)."""
        return [bare_row(new, self.now) for new in news]

    def insert(self, row: tuple[Any, ...]) -> None:
        self.conn.execute("BEGIN")
        self.conn.execute(INSERT, row)
        self.conn.execute("COMMIT")

    def insert_many(self, rows: list[tuple[Any, ...]]) -> None:
        self.conn.execute("BEGIN")
        self.conn.executemany(INSERT, rows)
        self.conn.execute("COMMIT")

    def claim_ack(self) -> None:
        """One page claimed (rows read whole, payloads decoded), leased, then marked done."""
        conn = self.conn
        conn.execute("BEGIN")
        claimed = [
            (r[0], loads(r[7]), loads(r[8]))
            for r in conn.execute(SELECT + " WHERE state='pending' ORDER BY id LIMIT ?", (CLAIM,))
        ]
        ids = [r[0] for r in claimed]
        marks = ",".join("?" * len(ids))
        conn.execute(
            f"UPDATE outbox_op SET state='leased', lease_owner=?, lease_expires_at=? "
            f"WHERE id IN ({marks})",
            ("bench", self.now + 60, *ids),
        )
        conn.execute("COMMIT")
        conn.execute("BEGIN")
        conn.execute(
            f"UPDATE outbox_op SET state='done', lease_owner=NULL, lease_expires_at=NULL "
            f"WHERE id IN ({marks})",
            ids,
        )
        conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def claim_ack(box: SQLiteBackend) -> Callable[[int], None]:
    def step(_: int) -> None:
        got = box.claim("bench", 60, limit=CLAIM)
        box.acknowledge_many({op.id: None for op in got})

    return step


def bench_sqlite(
    tmp: pathlib.Path, t: dict[str, Timings], dur: str, *, others: bool = True
) -> None:
    """Single enqueue, batch enqueue and claim+ack at `dur`, each paired with its floor (and,
    when `others`, with persist-queue and huey)."""
    clock = SystemClock()
    floor = RawFloor(tmp / f"raw-{dur}.db", _outbox_ddl(tmp), dur)
    n = SINGLE_BLOCKS[dur] * SINGLE_BLOCK[dur]
    with (
        Store(tmp / f"q-{dur}.db", durability=Durability(dur)) as store,
        Store(tmp / f"qa-{dur}.db", durability=Durability(dur)) as audited_store,
    ):
        box = SQLiteBackend(store, clock, audit=False)
        audited = SQLiteBackend(audited_store, clock, audit=True)
        for b in (box, audited):
            b.enqueue(ticket_update(-1))  # warm the statement cache
        singles = [ticket_update(i) for i in range(n)]
        floor_rows = floor.rows(singles)
        single = {  # each beside what it is compared with (`interleave`)
            "ours_audited": Contender(lambda i: audited.enqueue(singles[i]), SINGLE_BLOCK[dur]),
            "ours": Contender(lambda i: box.enqueue(singles[i]), SINGLE_BLOCK[dur]),
            "floor": Contender(lambda i: floor.insert(floor_rows[i]), SINGLE_BLOCK[dur]),
            # The floor under every single enqueue: an empty write (lock, BEGIN, COMMIT).
            "store_write": Contender(lambda i: store.write(_nothing), SINGLE_BLOCK[dur]),
        }
        pq = huey = None
        if others:
            pq, huey = persistqueue_at(tmp, dur), huey_at(tmp, dur)
            items = [payload(i) for i in range(n)]
            blobs = [json.dumps(item).encode() for item in items]
            single["persistqueue"] = Contender(lambda i: pq.put(items[i]), SINGLE_BLOCK[dur])
            single["huey"] = Contender(lambda i: huey.enqueue(blobs[i]), SINGLE_BLOCK[dur])
        interleave(single, SINGLE_BLOCKS[dur], t.setdefault(f"single_{dur}", Timings()))

        news = [ticket_update(n + i) for i in range(BATCH_BLOCKS * BATCH)]
        floor_news = [ticket_update(n + (BATCH_BLOCKS + 1) * BATCH + i) for i in range(len(news))]
        bare_rows = floor.rows(floor_news)

        def floor_batch(k: int) -> None:
            part = floor_news[k * BATCH : (k + 1) * BATCH]
            floor.insert_many([bare_row(new, floor.now) for new in part])

        batch = {
            "ours": Contender(lambda k: box.enqueue_many(news[k * BATCH : (k + 1) * BATCH]), 1),
            "floor": Contender(floor_batch, 1),
            "floor_bare": Contender(
                lambda k: floor.insert_many(bare_rows[k * BATCH : (k + 1) * BATCH]), 1
            ),
        }
        for c in batch.values():
            c.ops = BATCH
        interleave(batch, BATCH_BLOCKS, t.setdefault(f"batch_{dur}", Timings()))

        claims = {
            "ours": Contender(claim_ack(box), CLAIM_BLOCK, CLAIM),
            "floor": Contender(lambda i: floor.claim_ack(), CLAIM_BLOCK, CLAIM),
        }
        if pq is not None:
            claims["persistqueue"] = Contender(
                lambda i: pq.ack(pq.get()), max(1, n // CLAIM_BLOCKS)
            )
        interleave(claims, CLAIM_BLOCKS, t.setdefault(f"claim_{dur}", Timings()))
    floor.close()
    if huey is not None:
        huey.close()


def persistqueue_at(tmp: pathlib.Path, dur: str) -> Any:
    import persistqueue

    q = persistqueue.SQLiteAckQueue(str(tmp / f"pq-{dur}"), auto_commit=True, multithreading=True)
    for conn in {id(c): c for c in (q._conn, q._putter, q._getter)}.values():
        conn.execute(f"PRAGMA synchronous={SYNCHRONOUS[dur]}")
    return q


def huey_at(tmp: pathlib.Path, dur: str) -> Any:
    from huey.storage import SqliteStorage

    storage = SqliteStorage(name="bench", filename=str(tmp / f"huey-{dur}.db"))
    storage.conn.execute(f"PRAGMA synchronous={SYNCHRONOUS[dur]}")
    return storage


def bench_sqlite_sealed(tmp: pathlib.Path, t: dict[str, Timings]) -> None:
    """`bench_sqlite` at NORMAL with every payload sealed (AES-256-GCM, bound to its column and
    row), as a profile with encryption at rest stores them."""
    folder = tmp / "sealed"
    folder.mkdir()
    set_codec(SealingCodec(seal_with=new_data_key()))
    try:
        sealed: dict[str, Timings] = {}
        bench_sqlite(folder, sealed, "normal", others=False)
    finally:
        set_codec(JsonCodec())
    for key, timings in sealed.items():
        merged = t.setdefault(f"{key}_sealed", Timings())
        for attr in ("seconds", "ops", "latencies"):
            for name, got in getattr(timings, attr).items():
                getattr(merged, attr).setdefault(name, []).extend(got)


def bench_memory(results: dict[str, float]) -> None:
    box = MemoryBackend(SystemClock())
    news = [ticket_update(i) for i in range(10_000)]
    t = Timings()
    interleave({"memory": Contender(lambda i: box.enqueue(news[i]), 1000)}, 10, t)
    results["memory_enqueue"] = max(results.get("memory_enqueue", 0.0), t.rate("memory"))


def paired_figure(
    t: Timings,
    ours: str,
    baseline: str,
    unit: str,
    name: str,
    *,
    target: str | None = None,
) -> dict[str, Any]:
    """`ours` beside `baseline`, its ratio the median of their per-block ratios."""
    out = figure(t.rate(ours), unit, name, t.rate(baseline), target=target)
    summary = spread(t.ratios(ours, baseline))
    out["ratio_to_baseline"] = summary["median"]
    out["paired"] = summary
    return out


def figures(t: dict[str, Timings]) -> dict[str, dict[str, Any]]:
    """Each figure beside the floor (or contender) it is read against, at equal durability."""
    out: dict[str, dict[str, Any]] = {}
    for d, suffix in (*((d, d) for d in DURABILITIES), ("normal", "normal_sealed")):
        floor = f"raw sqlite3, same rows, same table and indexes, synchronous={d.upper()}"
        single, batch, claim = (t[f"{k}_{suffix}"] for k in ("single", "batch", "claim"))
        # Sealed figures are read against a floor that seals nothing: what sealing costs.
        to, half = (None, None) if "sealed" in suffix else (">= 0.8x", ">= 0.5x")
        out[f"sqlite_enqueue_{suffix}"] = paired_figure(
            single,
            "ours",
            "floor",
            "ops/s",
            f"{floor}: one insert per transaction",
            target=to,
        )
        out[f"sqlite_enqueue_{suffix}"]["p99_ms"] = single.p99_ms("ours")
        out[f"sqlite_enqueue_audited_{suffix}"] = paired_figure(
            single, "ours_audited", "floor", "ops/s", f"{floor}: one insert per transaction"
        )
        out[f"sqlite_enqueue_batch_{suffix}"] = paired_figure(
            batch,
            "ours",
            "floor",
            "ops/s",
            f"{floor}: executemany of {BATCH} rows per transaction, the rows made from the "
            "same operations in the timed loop (payloads encoded, fingerprint computed)",
            target=to,
        )
        out[f"sqlite_enqueue_batch_vs_bare_executemany_{suffix}"] = paired_figure(
            batch,
            "ours",
            "floor_bare",
            "ops/s",
            f"{floor}: executemany of {BATCH} rows made before the timed loop",
        )
        out[f"sqlite_claim_ack_{suffix}"] = paired_figure(
            claim,
            "ours",
            "floor",
            "ops/s",
            f"{floor}: select {CLAIM} pending rows (payloads decoded), lease them, mark them done",
            target=half,
        )
        if "persistqueue" in single.seconds:
            for other in ("persistqueue", "huey"):
                out[f"sqlite_enqueue_vs_{other}_{suffix}"] = paired_figure(
                    single, "ours", other, "ops/s", f"{other} enqueue at synchronous={d.upper()}"
                )
            out[f"sqlite_claim_ack_vs_persistqueue_get_ack_{suffix}"] = paired_figure(
                claim,
                "ours",
                "persistqueue",
                "ops/s",
                f"persist-queue get+ack at synchronous={d.upper()}",
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


def rates(t: dict[str, Timings]) -> dict[str, float]:
    """Every contender's rate over all its blocks, by comparison and contender."""
    return {
        f"{key}.{name}": timings.rate(name)
        for key, timings in t.items()
        for name in timings.seconds
    }


def main(out_dir: pathlib.Path) -> None:
    timings: dict[str, Timings] = {}
    memory: dict[str, float] = {}
    with LoadSampler() as load, tempfile.TemporaryDirectory() as d:
        for n in range(ROUNDS):
            tmp = pathlib.Path(d) / f"round{n}"
            tmp.mkdir()
            for dur in DURABILITIES:
                bench_sqlite(tmp, timings, dur)
            bench_sqlite_sealed(tmp, timings)
            bench_memory(memory)
    figs = figures(timings)
    report = stamp(
        {
            "figures": figs,
            "met": met(figs),
            "results": {**rates(timings), **memory},
            "notes": NOTES,
        },
        "queue",
        load,
    )
    (out_dir / "queue.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    out = pathlib.Path("build/bench")
    out.mkdir(parents=True, exist_ok=True)
    main(out)
