"""Where the verification walk reads a trail from: the open store (with its indexes, so a hash is
looked up rather than remembered) or a list of events given in order.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from agent.store.audit_chain import VALUES_COLUMN, Anchor
from agent.store.codec import get_codec, row_key
from agent.store.models import AuditEvent, database_proxy


def detail_dict(event: AuditEvent | None) -> dict[str, Any]:
    if event is None:
        return {}
    try:
        data = json.loads(event.detail)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class Trail(Protocol):
    def events(self) -> Iterator[AuditEvent]: ...
    def holds(self, hash_: str) -> bool: ...
    def first(self, action: str) -> AuditEvent | None: ...
    def last(self, action: str) -> AuditEvent | None: ...
    def witness(self) -> Anchor | None: ...


_STORED = (
    'SELECT id, at, action, entity_type, entity_id, op_id, detail, "values", prev_hash, hash '
    "FROM audit_event"
)
UNOPENED = object()


def _event(row: tuple[Any, ...]) -> AuditEvent:
    """An event as stored; values that cannot be opened are marked, not raised, so a tampered
    blob is reported as such."""
    values: Any = None
    if row[7] is not None:
        try:
            values = get_codec().decode(row[7], VALUES_COLUMN, row_key(row[9]))
        except Exception:  # any failure to open is evidence of tampering
            values = UNOPENED
    return AuditEvent(
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


class StoredTrail:
    """The open store's trail, read on this thread's connection."""

    def __init__(self) -> None:
        self.conn: sqlite3.Connection = database_proxy.connection()

    def events(self) -> Iterator[AuditEvent]:
        for row in self.conn.execute(_STORED + " ORDER BY id"):
            yield _event(row)

    def holds(self, hash_: str) -> bool:
        sql = "SELECT 1 FROM audit_event WHERE hash = ?"
        return self.conn.execute(sql, (hash_,)).fetchone() is not None

    def _one(self, action: str, order: str) -> AuditEvent | None:
        sql = _STORED + f" WHERE action = ? ORDER BY id {order} LIMIT 1"
        row = self.conn.execute(sql, (action,)).fetchone()
        return None if row is None else _event(row)

    def first(self, action: str) -> AuditEvent | None:
        return self._one(action, "ASC")

    def last(self, action: str) -> AuditEvent | None:
        return self._one(action, "DESC")

    def witness(self) -> Anchor | None:
        row = self.conn.execute('SELECT "count", head, pruned FROM audit_anchor').fetchone()
        return None if row is None else Anchor(int(row[0]), str(row[1]), int(row[2]))


class ListTrail:
    """Events given in order (tests, or a trail read from elsewhere)."""

    def __init__(self, events: Iterable[AuditEvent]) -> None:
        self.rows = list(events)
        self.hashes = {e.hash for e in self.rows}

    def events(self) -> Iterator[AuditEvent]:
        return iter(self.rows)

    def holds(self, hash_: str) -> bool:
        return hash_ in self.hashes

    def first(self, action: str) -> AuditEvent | None:
        return next((e for e in self.rows if e.action == action), None)

    def last(self, action: str) -> AuditEvent | None:
        return next((e for e in reversed(self.rows) if e.action == action), None)

    def witness(self) -> Anchor | None:
        return None
