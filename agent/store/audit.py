"""The append-only, chained audit trail: every event's hash covers the previous event's hash.

How events are hashed (keyed, with the chain's head anchored outside the database) is in
`agent.store.audit_chain`; verification, which names what it finds (events changed, removed from
either end or the middle, reordered, or the whole file put back to an older copy), in
`agent.store.audit_verify`. Call `append` inside a store write (one transaction with the change it
records). Events salvaged from a damaged database keep their own hashes; where some could not be
read, a chained `GAP` event records the hole (see `agent.store.salvage_audit`).

Values a customer typed or the server holds (sent fields, conflict sides, chosen values, and the
server's messages and reasons, which repeat them) are kept apart from the rest of the detail in
the `values` payload column, sealed like every other payload; the hash covers them in plaintext,
so re-sealing them (a key rotation) leaves the chain intact. They are bound to their event by its
hash (`AuditEvent.Meta.row_key`), known before it is written. `detail_of` gives readers the
detail as it was appended.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from agent.store.audit_chain import (
    GAP,
    GENESIS,
    KEYED,
    PRUNED,
    REANCHORED,
    VALUES_COLUMN,
    ChainKeying,
    installed,
)
from agent.store.audit_chain import detail_json as _detail_json
from agent.store.audit_chain import digest as _keyed_digest
from agent.store.audit_verify import ChainReport, gap_resumes, verify
from agent.store.codec import get_codec, row_key
from agent.store.models import AuditEvent, database_proxy

__all__ = [
    "GAP",
    "GENESIS",
    "KEYED",
    "PRUNED",
    "REANCHORED",
    "VALUES_COLUMN",
    "ChainReport",
    "Entry",
    "append",
    "append_many",
    "detail_of",
    "gap_resumes",
    "merge_detail",
    "split_detail",
    "verify",
]

# Detail keys whose values may carry a customer's text; `append` moves them to `values`. A
# server's error message (`message`) and the reasons given for parking or dropping a change
# (`reason`) often quote the values that were refused.
VALUE_KEYS = frozenset(
    {"fields", "base", "sent", "mine", "theirs", "losing", "chosen", "value", "message", "reason"}
)

# Raw SQL on the writer's connection: appending sits inside hot writes (every queued operation),
# where peewee's query building costs several times the statements themselves.
_HEAD = "SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1"
_INSERT = (
    'INSERT INTO audit_event (at, action, entity_type, entity_id, op_id, detail, "values", '
    "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


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
    entries: Iterable[Entry],
    conn: sqlite3.Connection | None = None,
    keying: ChainKeying | None = None,
) -> list[tuple[Any, ...]]:
    """Append events in order after the current last one, in one statement (must run on the
    store's writer, on `conn` when given: the writer's connection of a particular store),
    chained with `keying` (the installed one by default); return the rows written, without
    their ids."""
    conn = conn if conn is not None else _connection()
    keying = keying if keying is not None else installed()
    key = keying.key
    head = conn.execute(_HEAD).fetchone()
    prev = head[0] if head is not None else GENESIS
    rows: list[tuple[Any, ...]] = []
    for e in entries:
        detail, values = split_detail(e.detail)
        text = _detail_json(detail)
        values_text = _values_text(values)
        eid = None if e.entity_id is None else str(e.entity_id)
        digest = _keyed_digest(
            prev, e.at, e.action, e.entity_type, eid, e.op_id, text, values_text, key=key
        )
        blob = _sealed(values, digest)
        rows.append((e.at, e.action, e.entity_type, eid, e.op_id, text, blob, prev, digest))
        prev = digest
    if rows:
        conn.executemany(_INSERT, rows)
        keying.appended()
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
    keying = installed()
    head = conn.execute(_HEAD).fetchone()
    prev = head[0] if head is not None else GENESIS
    plain, values = split_detail(detail)
    text = _detail_json(plain)
    values_text = _values_text(values)
    eid = None if entity_id is None else str(entity_id)
    digest = _keyed_digest(
        prev, at, action, entity_type, eid, op_id, text, values_text, key=keying.key
    )
    blob = _sealed(values, digest)
    cursor = conn.execute(_INSERT, (at, action, entity_type, eid, op_id, text, blob, prev, digest))
    keying.appended()
    return AuditEvent(
        id=cursor.lastrowid,
        at=at,
        action=action,
        entity_type=entity_type,
        entity_id=eid,
        op_id=op_id,
        detail=text,
        values=values,
        prev_hash=prev,
        hash=digest,
    )
