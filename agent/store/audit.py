"""The append-only, hash-chained audit trail: every event's hash covers the previous event's hash.

Verification recomputes the chain from the first kept event, so a changed, removed or reordered
event breaks it at a point `verify` names. Call `append` inside a store write (one transaction with
the change it records).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from agent.store.models import AuditEvent, database_proxy

GENESIS = "0" * 64

# Built once: `json.dumps` with options builds a new encoder on every call.
_chain_json = json.JSONEncoder(separators=(",", ":")).encode
_detail_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode

# Raw SQL on the writer's connection: appending sits inside hot writes (every queued operation),
# where peewee's query building costs several times the statements themselves.
_HEAD = "SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1"
_INSERT = (
    "INSERT INTO audit_event (at, action, entity_type, entity_id, op_id, detail, prev_hash, hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _digest(
    prev_hash: str,
    at: float,
    action: str,
    entity_type: str | None,
    entity_id: str | None,
    op_id: int | None,
    detail: str,
) -> str:
    body = _chain_json([prev_hash, repr(float(at)), action, entity_type, entity_id, op_id, detail])
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    """One event to append (see `append_many`)."""

    action: str
    at: float
    entity_type: str | None = None
    entity_id: str | int | None = None
    op_id: int | None = None
    detail: dict[str, Any] | None = None


def _connection() -> sqlite3.Connection:
    conn: sqlite3.Connection = database_proxy.connection()
    return conn


def append_many(
    entries: Iterable[Entry], conn: sqlite3.Connection | None = None
) -> list[tuple[Any, ...]]:
    """Append events in order after the current last one, in one statement (must run on the
    store's writer, on `conn` when given: the writer's connection of a particular store);
    return the rows written, without their ids."""
    conn = conn if conn is not None else _connection()
    head = conn.execute(_HEAD).fetchone()
    prev = head[0] if head is not None else GENESIS
    rows: list[tuple[Any, ...]] = []
    for e in entries:
        text = _detail_json(e.detail or {})
        key = None if e.entity_id is None else str(e.entity_id)
        digest = _digest(prev, e.at, e.action, e.entity_type, key, e.op_id, text)
        rows.append((e.at, e.action, e.entity_type, key, e.op_id, text, prev, digest))
        prev = digest
    if rows:
        conn.executemany(_INSERT, rows)
    return rows


def append(
    action: str,
    *,
    at: float,
    entity_type: str | None = None,
    entity_id: str | int | None = None,
    op_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event after the current last one (must run on the store's writer)."""
    conn = _connection()
    head = conn.execute(_HEAD).fetchone()
    prev = head[0] if head is not None else GENESIS
    text = _detail_json(detail or {})
    key = None if entity_id is None else str(entity_id)
    digest = _digest(prev, at, action, entity_type, key, op_id, text)
    cursor = conn.execute(_INSERT, (at, action, entity_type, key, op_id, text, prev, digest))
    return AuditEvent(
        id=cursor.lastrowid,
        at=at,
        action=action,
        entity_type=entity_type,
        entity_id=key,
        op_id=op_id,
        detail=text,
        prev_hash=prev,
        hash=digest,
    )


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str = ""


def verify(events: Iterable[AuditEvent] | None = None) -> ChainReport:
    """Recompute the chain in id order; report the first event where it breaks."""
    rows: Iterator[AuditEvent] = iter(
        events if events is not None else AuditEvent.select().order_by(AuditEvent.id).iterator()
    )
    prev: str | None = None
    count = 0
    for ev in rows:
        count += 1
        if prev is not None and ev.prev_hash != prev:
            return ChainReport(
                False, count, ev.id, "an event before this one was removed or reordered"
            )
        expected = _digest(
            ev.prev_hash, ev.at, ev.action, ev.entity_type, ev.entity_id, ev.op_id, ev.detail
        )
        if expected != ev.hash:
            return ChainReport(False, count, ev.id, "this event was changed after it was written")
        prev = ev.hash
    return ChainReport(True, count)
