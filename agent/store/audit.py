"""The append-only, hash-chained audit trail: every event's hash covers the previous event's hash.

Verification recomputes the chain from the first kept event, so a changed, removed or reordered
event breaks it at a point `verify` names. Call `append` inside a store write (one transaction with
the change it records).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from agent.store.models import AuditEvent

GENESIS = "0" * 64


def _digest(
    prev_hash: str,
    at: float,
    action: str,
    entity_type: str | None,
    entity_id: str | None,
    op_id: int | None,
    detail: str,
) -> str:
    body = json.dumps(
        [prev_hash, repr(float(at)), action, entity_type, entity_id, op_id, detail],
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


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
    last = AuditEvent.select(AuditEvent.hash).order_by(AuditEvent.id.desc()).first()
    prev = last.hash if last is not None else GENESIS
    text = json.dumps(detail or {}, sort_keys=True, separators=(",", ":"), default=str)
    key = None if entity_id is None else str(entity_id)
    digest = _digest(prev, at, action, entity_type, key, op_id, text)
    event: AuditEvent = AuditEvent.create(
        at=at,
        action=action,
        entity_type=entity_type,
        entity_id=key,
        op_id=op_id,
        detail=text,
        prev_hash=prev,
        hash=digest,
    )
    return event


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
