"""Queueing into SQLite without running the general rules when they cannot apply.

Most operations act on an entity with nothing live on it: no duplicate can exist, nothing can be
merged into or cancelled, so the rules of `coalesce` reduce to "insert a pending row". One index
probe proves that, and the row is written directly (a plain INSERT after the probe, in the same
transaction: as one INSERT ... SELECT WHERE NOT EXISTS, SQLite would stage the row in a
temporary table, which costs more than the insert). A batch
of such operations is proved with one query per lookup and written with one `executemany`.
Whenever the probe finds something (or the operation refers to a not yet created entity, or
capacity applies), `coalesce.enqueue` decides, in the same transaction, exactly as on every other
backend. (See `coalesce.is_direct` for which operations qualify.)
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Sequence
from typing import Any

from agent.queue import coalesce
from agent.queue import sqlite_rows as sql
from agent.queue.ledger import Ledger
from agent.queue.operation import KIND_TEXT, PRIORITY_NAME, NewOperation, Operation
from agent.store import audit
from agent.store.connection import Store
from agent.store.models import OpKind, OpState

CHUNK = 500  # bound parameters per IN (...) lookup

PROBE_FINGERPRINT = (
    f"SELECT 1 FROM outbox_op WHERE fingerprint=? AND state IN {sql.LIVE_IN} LIMIT 1"
)
PROBE_TARGET = (
    "SELECT 1 FROM outbox_op WHERE entity_type=? AND target_id=? "
    f"AND state IN {sql.LIVE_IN} LIMIT 1"
)
LIVE_FINGERPRINTS = (
    f"SELECT 1 FROM outbox_op WHERE fingerprint IN ({{marks}}) AND state IN {sql.LIVE_IN} LIMIT 1"
)
LIVE_TARGETS = (
    "SELECT 1 FROM outbox_op WHERE entity_type=? AND target_id IN ({marks}) "
    f"AND state IN {sql.LIVE_IN} LIMIT 1"
)
_PENDING = OpState.PENDING.value


def _row(op_id: int, new: NewOperation, fp: str, now: float) -> tuple[Any, ...]:
    fields, base, _, _ = sql.sealed(op_id, new.fields, new.base)
    return (
        op_id,
        KIND_TEXT[new.kind],
        new.entity_type,
        new.target_id,
        new.temp_id,
        new.parent_id,
        None,
        fields,
        base,
        int(new.priority),
        _PENDING,
        0,
        now,
        now,
        now,
        new.deadline_at,
        fp,
        None,
        None,
        0,
        None,
        None,
        None,
        int(new.technician),
    )


def _entry(op: Operation) -> audit.Entry:
    detail = {"kind": KIND_TEXT[op.kind], "priority": PRIORITY_NAME[op.priority]}
    return audit.Entry("enqueued", op.created_at, op.entity_type, op.entity_key, op.id, detail)


class NextId:
    """The id the direct path gives its next row, kept between writes of one store so a single
    enqueue does not ask for MAX(id) each time. Only a hint: another path may have taken that id
    meanwhile (its insert then fails on the primary key, and the id is read again), and a
    rolled-back write leaves a gap, never a duplicate."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0  # 0: unknown, read MAX(id) + 1


NEXT_IDS: weakref.WeakKeyDictionary[Store, NextId] = weakref.WeakKeyDictionary()


def next_ids(store: Store) -> NextId:
    """The id hint shared by every backend on `store`."""
    return NEXT_IDS.setdefault(store, NextId())


def _insert_if_clear(
    conn: sqlite3.Connection, ids: NextId, new: NewOperation, fp: str, now: float
) -> int:
    """The new row's id, or 0 when something live was found (and nothing was written)."""
    if new.kind is OpKind.CREATE:
        found = conn.execute(PROBE_FINGERPRINT, (fp,))
    else:
        found = conn.execute(PROBE_TARGET, (new.entity_type, new.target_id))
    if found.fetchone() is not None:
        return 0
    op_id = ids.value or sql.next_id(conn)
    try:
        conn.execute(sql.INSERT, _row(op_id, new, fp, now))
    except sqlite3.IntegrityError:
        if not ids.value:
            raise
        # Another path took the hinted id: the failed statement changed nothing (SQLite undoes
        # just that statement), so the row is sealed for the next free id and written again.
        op_id = sql.next_id(conn)
        conn.execute(sql.INSERT, _row(op_id, new, fp, now))
    ids.value = op_id + 1
    return op_id


def enqueue_direct(
    conn: sqlite3.Connection,
    ids: NextId,
    new: NewOperation,
    fp: str,
    now: float,
    *,
    capacity: int | None,
    audited: bool,
) -> Operation | None:
    """Queue one operation by the direct path inside the running transaction, or None (nothing
    written) when the shared rules must decide."""
    if coalesce.is_direct(new, capacity) and (op_id := _insert_if_clear(conn, ids, new, fp, now)):
        op = coalesce.pending_operation(op_id, new, fp, now)
        if audited:
            audit.append_many([_entry(op)], conn)
        return op
    return None


def enqueue_one(
    conn: sqlite3.Connection,
    ids: NextId,
    ledger: Ledger,
    new: NewOperation,
    fp: str,
    *,
    capacity: int | None,
    audited: bool,
) -> Operation:
    """Queue one operation inside the running transaction."""
    op = enqueue_direct(conn, ids, new, fp, ledger.now, capacity=capacity, audited=audited)
    return op if op is not None else coalesce.enqueue(ledger, new, capacity=capacity, fp=fp)


def _any(conn: sqlite3.Connection, statement: str, head: list[Any], keys: list[Any]) -> bool:
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        found = conn.execute(statement.format(marks=sql.marks(len(chunk))), [*head, *chunk])
        if found.fetchone() is not None:
            return True
    return False


def enqueue_batch(
    conn: sqlite3.Connection,
    news: Sequence[NewOperation],
    fps: Sequence[str],
    now: float,
    *,
    capacity: int | None,
    audited: bool,
) -> list[Operation] | None:
    """Queue a batch whose operations all take the direct path, in bulk; None (nothing written)
    when any of them needs the rules, or two of them touch the same entity or are identical."""
    if not coalesce.independent(news, fps):
        return None
    create_fps: list[str] = []
    targets: dict[str, list[int]] = {}
    for new, fp in zip(news, fps, strict=True):
        if not coalesce.is_direct(new, capacity):
            return None
        if new.kind is OpKind.CREATE:
            create_fps.append(fp)
        else:
            targets.setdefault(new.entity_type, []).append(new.target_id)  # type: ignore[arg-type]
    if _any(conn, LIVE_FINGERPRINTS, [], create_fps):
        return None
    for entity_type, ids in targets.items():
        if _any(conn, LIVE_TARGETS, [entity_type], ids):
            return None
    # The single writer holds the write lock, so ids follow on from the highest one.
    first = sql.next_id(conn)
    conn.executemany(
        sql.INSERT,
        [_row(first + i, new, fp, now) for i, (new, fp) in enumerate(zip(news, fps, strict=True))],
    )
    ops = [
        coalesce.pending_operation(first + i, new, fp, now)
        for i, (new, fp) in enumerate(zip(news, fps, strict=True))
    ]
    if audited:
        audit.append_many([_entry(op) for op in ops], conn)
    return ops
