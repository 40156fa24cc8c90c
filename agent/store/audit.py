"""The append-only, hash-chained audit trail: every event's hash covers the previous event's hash.

Verification recomputes the chain from the first kept event, so a changed, removed or reordered
event breaks it at a point `verify` names. Call `append` inside a store write (one transaction with
the change it records). Events salvaged from a damaged database keep their own hashes; where some
could not be read, a chained `GAP` event records the hole (see `agent.store.salvage_audit`).

Values a customer typed or the server holds (sent fields, conflict sides, chosen values) are kept
apart from the rest of the detail in the `values` payload column, sealed like every other payload;
the hash covers them in plaintext, so re-sealing them (a key rotation) leaves the chain intact.
They are bound to their event by its hash (`AuditEvent.Meta.row_key`), known before it is written.
`detail_of` gives readers the detail as it was appended.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from agent.store.codec import column_context, get_codec, row_key
from agent.store.models import AuditEvent, database_proxy

GENESIS = "0" * 64
# An event recording that the events after it were salvaged from a damaged database and do not
# follow on from it: its detail's `resumes_after` names the `prev_hash` of the next event. It is
# chained like any other, so the gap it admits cannot be moved or widened without breaking it.
GAP = "audit_gap"

# Detail keys whose values may carry a customer's text; `append` moves them to `values`.
VALUE_KEYS = frozenset({"fields", "base", "sent", "mine", "theirs", "losing", "chosen", "value"})

# Built once: `json.dumps` with options builds a new encoder on every call.
_chain_json = json.JSONEncoder(separators=(",", ":")).encode
_detail_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode

# Raw SQL on the writer's connection: appending sits inside hot writes (every queued operation),
# where peewee's query building costs several times the statements themselves.
_HEAD = "SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1"
_INSERT = (
    'INSERT INTO audit_event (at, action, entity_type, entity_id, op_id, detail, "values", '
    "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _digest(
    prev_hash: str,
    at: float,
    action: str,
    entity_type: str | None,
    entity_id: str | None,
    op_id: int | None,
    detail: str,
    values: str | None = None,
) -> str:
    fields: list[Any] = [prev_hash, repr(float(at)), action, entity_type, entity_id, op_id, detail]
    if values is not None:  # events without values hash as they always did
        fields.append(values)
    body = _chain_json(fields)
    return hashlib.sha256(body.encode()).hexdigest()


def split_detail(
    detail: dict[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The detail without its value-bearing keys, and those keys (None when there are none)."""
    if not detail:
        return {}, None
    values = {k: v for k, v in detail.items() if k in VALUE_KEYS}
    if not values:
        return detail, None
    return {k: v for k, v in detail.items() if k not in VALUE_KEYS}, values


def merge_detail(detail: str | dict[str, Any], values: dict[str, Any] | None) -> dict[str, Any]:
    """The detail as appended: the stored detail (JSON text or dict) with its values put back."""
    merged: dict[str, Any] = json.loads(detail) if isinstance(detail, str) else dict(detail)
    if values:
        merged.update(values)
    return merged


def detail_of(event: AuditEvent) -> dict[str, Any]:
    """An event's detail with its values, as it was appended."""
    return merge_detail(event.detail, event.values)


VALUES_COLUMN = column_context("audit_event", "values")


def _values_text(values: dict[str, Any] | None) -> str | None:
    """The canonical text of an event's values that its hash covers."""
    return None if values is None else _detail_json(values)


def _sealed(values: dict[str, Any] | None, digest: str) -> bytes | None:
    """The blob stored for an event's values, bound to the event by its hash."""
    return None if values is None else get_codec().encode(values, VALUES_COLUMN, row_key(digest))


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
        detail, values = split_detail(e.detail)
        text = _detail_json(detail)
        key = None if e.entity_id is None else str(e.entity_id)
        digest = _digest(
            prev, e.at, e.action, e.entity_type, key, e.op_id, text, _values_text(values)
        )
        blob = _sealed(values, digest)
        rows.append((e.at, e.action, e.entity_type, key, e.op_id, text, blob, prev, digest))
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
    """Append one event after the current last one (must run on the store's writer); the
    detail's value-bearing keys (`VALUE_KEYS`) are stored apart, sealed (see module docstring)."""
    conn = _connection()
    head = conn.execute(_HEAD).fetchone()
    prev = head[0] if head is not None else GENESIS
    plain, values = split_detail(detail)
    text = _detail_json(plain)
    key = None if entity_id is None else str(entity_id)
    digest = _digest(prev, at, action, entity_type, key, op_id, text, _values_text(values))
    blob = _sealed(values, digest)
    cursor = conn.execute(_INSERT, (at, action, entity_type, key, op_id, text, blob, prev, digest))
    return AuditEvent(
        id=cursor.lastrowid,
        at=at,
        action=action,
        entity_type=entity_type,
        entity_id=key,
        op_id=op_id,
        detail=text,
        values=values,
        prev_hash=prev,
        hash=digest,
    )


def gap_resumes(event: AuditEvent) -> str | None:
    """The hash after which the chain resumes, when `event` records a gap (see `GAP`)."""
    if event.action != GAP:
        return None
    resumes = json.loads(event.detail).get("resumes_after")
    return resumes if isinstance(resumes, str) else None


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str = ""


_STORED = (
    'SELECT id, at, action, entity_type, entity_id, op_id, detail, "values", prev_hash, hash '
    "FROM audit_event ORDER BY id"
)
_UNREADABLE = object()


def _stored_events() -> Iterator[AuditEvent]:
    """Every event in id order; values that cannot be opened are marked, not raised, so a
    tampered blob is reported as a broken chain."""
    codec = get_codec()
    for row in _connection().execute(_STORED):
        values: Any = None
        if row[7] is not None:
            try:
                values = codec.decode(row[7], VALUES_COLUMN, row_key(row[9]))
            except Exception:  # any failure to open is evidence of tampering
                values = _UNREADABLE
        yield AuditEvent(
            id=row[0],
            at=row[1],
            action=row[2],
            entity_type=row[3],
            entity_id=row[4],
            op_id=row[5],
            detail=row[6],
            values=values,
            prev_hash=row[8],
            hash=row[9],
        )


def verify(events: Iterable[AuditEvent] | None = None) -> ChainReport:
    """Recompute the chain in id order; report the first event where it breaks."""
    rows: Iterator[AuditEvent] = iter(events if events is not None else _stored_events())
    prev: str | None = None
    resumes: str | None = None  # where a recorded gap says the chain picks up again
    count = 0
    for ev in rows:
        count += 1
        if prev is not None and ev.prev_hash != prev and ev.prev_hash != resumes:
            return ChainReport(
                False, count, ev.id, "an event before this one was removed or reordered"
            )
        if ev.values is _UNREADABLE:
            return ChainReport(False, count, ev.id, "this event's values cannot be opened")
        values_text = None if ev.values is None else _detail_json(ev.values)
        expected = _digest(
            ev.prev_hash,
            ev.at,
            ev.action,
            ev.entity_type,
            ev.entity_id,
            ev.op_id,
            ev.detail,
            values_text,
        )
        if expected != ev.hash:
            return ChainReport(False, count, ev.id, "this event was changed after it was written")
        prev = ev.hash
        resumes = gap_resumes(ev)
    return ChainReport(True, count)
