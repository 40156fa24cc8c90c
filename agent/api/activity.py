"""What happened lately, for the tray's "Recent activity" (a change sent, a conflict found, a
change that needs attention), each tied to its ticket; and the time of the last good sync, kept
in the database so a restart still knows it. Runs inside store reads and writes."""

from __future__ import annotations

import logging
from typing import Any

from agent.api.types import Activity
from agent.api.words import Words, describe
from agent.queue.outbox import Outbox
from agent.security.errors import SealedPayloadError
from agent.store import audit
from agent.store.models import AuditEvent, SyncCursor

log = logging.getLogger(__name__)
# A SyncCursor row of its own (not an entity type): `last_refresh_at` is the last good sync.
LAST_SYNC_ROW = "~last_good_sync"
KINDS = {"succeeded": "sent", "conflict_detected": "conflict", "failed": "failed"}


def last_sync_at() -> float | None:
    row = SyncCursor.get_or_none(SyncCursor.entity_type == LAST_SYNC_ROW)
    return None if row is None else row.last_refresh_at


def keep_last_sync(at: float) -> None:
    SyncCursor.insert(entity_type=LAST_SYNC_ROW, last_refresh_at=at).on_conflict(
        conflict_target=[SyncCursor.entity_type], update={SyncCursor.last_refresh_at: at}
    ).execute()


def recent(outbox: Outbox, limit: int = 5) -> list[Activity]:
    """The last `limit` things that happened to the technician's changes, newest first."""
    out: list[Activity] = []
    words = Words()
    query = (
        AuditEvent.select().where(AuditEvent.action.in_(list(KINDS))).order_by(AuditEvent.id.desc())
    )
    for event in query.iterator():
        try:
            detail = audit.detail_of(event)
        except SealedPayloadError as exc:
            log.warning("left out of recent activity: %s", exc)
            continue
        if event.action == "failed" and detail.get("action") != "park_needs_attention":
            continue  # a retry to come is not news; a change waiting for the technician is
        item = _activity(outbox, words, event, detail)
        if item is not None:
            out.append(item)
            if len(out) >= limit:
                break
    return out


def _activity(outbox: Outbox, words: Words, event: Any, detail: dict[str, Any]) -> Activity | None:
    op = outbox.get(event.op_id) if event.op_id is not None else None
    ticket_id = _ticket_of(event.entity_type, event.entity_id, op)
    if ticket_id is None:
        return None
    kind = KINDS[event.action]
    what = describe(op, words) if op is not None else f"Ticket {words.ticket(ticket_id)}"
    text = {
        "sent": f"Sent: {what}",
        "conflict": f"Conflict: {what}",
        "failed": f"Needs attention: {what}",
    }[kind]
    return Activity(at=event.at, kind=kind, ticket_id=ticket_id, text=text)


def _ticket_of(entity_type: str | None, entity_id: str | None, op: Any) -> int | None:
    if entity_type == "Tickets" and entity_id is not None and str(entity_id).isdigit():
        return int(entity_id)
    if op is None:
        return None
    parent = op.parent_id if op.parent_id is not None else op.fields.get("ticketID")
    return int(parent) if isinstance(parent, int) and not isinstance(parent, bool) else None
