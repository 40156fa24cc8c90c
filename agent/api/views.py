"""Building the facade's plain views from the store: ticket lists and pages, queue rows in words.

Every function runs inside a store read.
"""

from __future__ import annotations

import itertools
import json
import logging
from typing import Any

from agent.api.audit_words import detail_rows, record_text, summary_text
from agent.api.types import (
    AuditEntry,
    FieldValue,
    NoteView,
    QueueItem,
    TicketDetail,
    TicketSummary,
    TimeEntryView,
    UploadProgress,
)
from agent.api.words import Words, describe
from agent.queue.operation import Operation
from agent.resilience.errors import USAGE_UNKNOWN_MESSAGE
from agent.security.errors import SealedPayloadError
from agent.store import audit
from agent.store.models import (
    AuditEvent,
    CachedEntity,
    OpKind,
    OpState,
    OverlayValue,
    Priority,
)
from agent.sync import localview

log = logging.getLogger(__name__)
ERROR_WORDS = {
    "transient_network": "The network was unavailable; it will be retried.",
    "certificate": "The server's certificate was not trusted, so nothing was sent (a network "
    "that intercepts secure connections?); it is tried again, and goes once a trusted connection "
    "works.",
    "transient_server": "Autotask had a temporary problem; it will be retried.",
    "throttled_quota": "Autotask's hourly request limit was reached; waiting before retrying.",
    "throttled_threads": "Too many requests at once; it will be retried shortly.",
    "throttled_attachments": "Autotask's limit on attachment uploads was reached; attachments "
    "wait until it accepts them again, other changes go on.",
    "authentication": "Autotask rejected the sign-in; check your credentials.",
    "permission": "Your API user is not allowed to make this change.",
    "validation": "Autotask refused the change",
    "not_found": "The record no longer exists in Autotask.",
    "protocol": "Autotask sent an answer that could not be read; it will be retried.",
    "reconcile": "Checking whether an earlier attempt already reached Autotask.",
}
# What went wrong on the way to a change that is done since (nothing about it is retried).
CAUSE_WORDS = {
    "transient_network": "the network was unavailable",
    "transient_server": "Autotask had a temporary problem",
    "throttled_quota": "Autotask's hourly request limit was reached",
    "throttled_threads": "too many requests were under way at once",
    "throttled_attachments": "Autotask's limit on attachment uploads was reached",
    "protocol": "Autotask's answer could not be read",
}


def _label(lists: dict[str, dict[int, str]], field: str, value: Any) -> str:
    if isinstance(value, int):
        return lists.get(field, {}).get(value, str(value))
    return "" if value is None else str(value)


def _left_out(problem: SealedPayloadError) -> None:
    """A row whose stored values do not open is left out of a list (the rest still shows);
    the log names it. A cached record is replaced when the next sync downloads it again."""
    log.warning("left out of the list: %s", problem)


def _names(entity_type: str) -> dict[int, str]:
    rows = CachedEntity.select(
        CachedEntity.entity_type, CachedEntity.entity_id, CachedEntity.data
    ).where(CachedEntity.entity_type == entity_type)
    out: dict[int, str] = {}
    for r in rows:
        try:
            d = r.data
        except SealedPayloadError as exc:
            _left_out(exc)
            continue
        name = (
            d.get("companyName")
            or " ".join(str(x) for x in (d.get("firstName"), d.get("lastName")) if x)
            or f"#{r.entity_id}"
        )
        out[int(r.entity_id)] = str(name)
    return out


# A ticket's children and the field naming their ticket: each one left to send keeps its ticket
# pending (a ticket with unsent notes, parts or photos is not "Synced").
CHILD_PARENT = {
    "TicketNotes": "ticketID",
    "TimeEntries": "ticketID",
    "TicketCharges": "ticketID",
    "TicketChecklistItems": "ticketID",
    "TicketAttachments": "parentID",
}


def pending_children() -> dict[int, dict[str, int]]:
    """Per ticket id and child type, how many of its children have something left to send."""
    children: dict[tuple[str, str], Any] = {}
    # Keys first, without the values: an attachment's pending value is the whole file.
    for entity_type, key in (
        OverlayValue.select(OverlayValue.entity_type, OverlayValue.entity_key)
        .where(OverlayValue.entity_type.in_(list(CHILD_PARENT)))
        .distinct()
        .tuples()
    ):
        children[(entity_type, key)] = None
    for entity_type, parent in CHILD_PARENT.items():
        # Only the parent's value is opened (a sealed value opens with its row's key).
        o = OverlayValue
        for row in o.select(o.entity_type, o.entity_key, o.field, o.value).where(
            (o.entity_type == entity_type) & (o.field == parent)
        ):
            children[(entity_type, row.entity_key)] = row.value
    out: dict[int, dict[str, int]] = {}
    for (entity_type, key), ticket in children.items():
        if ticket is None and key.isdigit():  # a server record changed here: its cached parent
            cached = localview.cached(entity_type, int(key)) or {}
            ticket = cached.get(CHILD_PARENT[entity_type])
        if isinstance(ticket, int) and not isinstance(ticket, bool):
            per = out.setdefault(ticket, {})
            per[entity_type] = per.get(entity_type, 0) + 1
    return out


def ticket_summaries() -> list[TicketSummary]:
    lists = localview.picklists("Tickets")
    companies = _names("Companies")
    pending: dict[str, list[str]] = {}
    for o in OverlayValue.select(OverlayValue.entity_key, OverlayValue.field).where(
        OverlayValue.entity_type == "Tickets"
    ):
        pending.setdefault(o.entity_key, []).append(o.field)
    children = pending_children()
    out = []
    for row in CachedEntity.select(CachedEntity.entity_id).where(
        CachedEntity.entity_type == "Tickets"
    ):
        try:
            v = localview.view("Tickets", str(row.entity_id))
        except SealedPayloadError as exc:
            _left_out(exc)
            continue
        if v is None:
            continue
        d = v.values
        mine = children.get(int(row.entity_id), {})
        out.append(
            TicketSummary(
                id=int(row.entity_id),
                number=str(d.get("ticketNumber") or row.entity_id),
                title=str(d.get("title") or ""),
                status=d.get("status"),
                status_label=_label(lists, "status", d.get("status")),
                priority=d.get("priority"),
                priority_label=_label(lists, "priority", d.get("priority")),
                company_id=d.get("companyID"),
                company=companies.get(d.get("companyID") or -1, ""),
                due=d.get("dueDateTime"),
                last_activity=d.get("lastActivityDate"),
                pending_fields=tuple(sorted(pending.get(str(row.entity_id), []))),
                conflicts=len(v.conflicts),
                pending_notes=mine.get("TicketNotes", 0),
                pending_time_entries=mine.get("TimeEntries", 0),
                pending_parts=mine.get("TicketCharges", 0),
                pending_checklist=mine.get("TicketChecklistItems", 0),
                pending_files=mine.get("TicketAttachments", 0),
            )
        )
    return out


def _children(entity_type: str, ticket_id: int) -> list[localview.EntityView]:
    keys = []
    for r in CachedEntity.select(
        CachedEntity.entity_type, CachedEntity.entity_id, CachedEntity.data
    ).where(CachedEntity.entity_type == entity_type):
        try:
            if r.data.get("ticketID") == ticket_id:
                keys.append(str(r.entity_id))
        except SealedPayloadError as exc:
            _left_out(exc)
    for o in OverlayValue.select(OverlayValue.entity_key).where(
        (OverlayValue.entity_type == entity_type)
        & (OverlayValue.field == "ticketID")
        & (OverlayValue.entity_key.startswith("~"))
    ):
        keys.append(o.entity_key)
    views = []
    for k in dict.fromkeys(keys):
        try:
            views.append(localview.view(entity_type, k))
        except SealedPayloadError as exc:
            _left_out(exc)
    return [v for v in views if v is not None and v.values.get("ticketID") == ticket_id]


def ticket_detail(ticket_id: int) -> TicketDetail | None:
    v = localview.view("Tickets", str(ticket_id))
    if v is None:
        return None
    fields = {
        name: FieldValue(
            name,
            value,
            pending=name in v.pending,
            conflict_id=v.conflicts.get(name),
            op_id=v.pending.get(name),
        )
        for name, value in v.values.items()
    }
    notes = sorted(
        (
            NoteView(
                key=n.key,
                ticket_id=ticket_id,
                title=n.values.get("title"),
                description=str(n.values.get("description") or ""),
                note_type=n.values.get("noteType"),
                publish=n.values.get("publish"),
                created=n.values.get("createDateTime"),
                pending=bool(n.pending),
            )
            for n in _children("TicketNotes", ticket_id)
        ),
        key=lambda n: n.created or "~",
    )
    entries = sorted(
        (
            TimeEntryView(
                key=t.key,
                ticket_id=ticket_id,
                resource_id=t.values.get("resourceID"),
                role_id=t.values.get("roleID"),
                date_worked=t.values.get("dateWorked"),
                start=t.values.get("startDateTime"),
                end=t.values.get("endDateTime"),
                hours=t.values.get("hoursWorked"),
                summary=t.values.get("summaryNotes"),
                pending=bool(t.pending) or t.deleted_locally,
                deleted=t.deleted_locally,
                pending_fields=tuple(sorted(t.pending)),
            )
            for t in _children("TimeEntries", ticket_id)
        ),
        key=lambda t: t.date_worked or "~",
    )
    d = v.values
    company = _names("Companies").get(d.get("companyID") or -1, "")
    contact = _names("Contacts").get(d.get("contactID") or -1, "")
    children = pending_children().get(ticket_id, {})
    return TicketDetail(
        id=ticket_id,
        fields=fields,
        notes=notes,
        time_entries=entries,
        company=company,
        contact=contact,
        deleted_on_server=v.deleted_on_server,
        pending_parts=children.get("TicketCharges", 0),
        pending_checklist=children.get("TicketChecklistItems", 0),
        pending_files=children.get("TicketAttachments", 0),
    )


def uncertain(op: Operation) -> bool:
    """Whether an earlier attempt's answer was lost, so it is checked before anything is sent
    again. An operation being sent right now is outcome-unknown too, until its answer comes:
    that is normal sending, not a problem to show."""
    return op.outcome_unknown and op.state is not OpState.LEASED


def plain_error(op: Operation) -> str | None:
    if op.state is OpState.DONE:  # what went wrong on the way is history: nothing is retried
        if not op.last_error and not op.error_category:
            return None
        cause = CAUSE_WORDS.get(op.error_category or "", "an attempt failed")
        return f"Done: Autotask has this change (earlier, {cause})."
    if op.state.value == "conflict":
        return "Waiting for you: the same field was changed in Autotask. Resolve the conflict."
    if op.state.value == "parked":  # why it waits for the technician: the server's own words
        detail = op.last_error or op.reason
        if op.error_category == "validation" and detail:
            return f"{ERROR_WORDS['validation']}: {detail}"
        return detail or ERROR_WORDS.get(op.error_category or "") or None
    if uncertain(op) and (op.kind is OpKind.CREATE or not (op.last_error or op.error_category)):
        # A create is looked up before it goes again. An update's next attempt reads the
        # server first, so what it waits for is the retry its last failure earned.
        return ERROR_WORDS["reconcile"]
    if not op.last_error and not op.error_category:
        return None
    if op.last_error and op.last_error.startswith(USAGE_UNKNOWN_MESSAGE):
        return USAGE_UNKNOWN_MESSAGE  # waiting for a reading, not for the hour
    words = ERROR_WORDS.get(op.error_category or "", "")
    if op.error_category == "validation":
        return f"{words}: {op.last_error}"
    return words or op.last_error


def queue_item(
    op: Operation, words: Words | None = None, upload: UploadProgress | None = None
) -> QueueItem:
    """`op` as the Queue shows it; `upload`: how far its file's upload is, while it runs."""
    return QueueItem(
        id=op.id,
        kind=op.kind.value,
        entity_type=op.entity_type,
        entity_key=op.entity_key,
        description=describe(op, words),
        priority=Priority(op.priority).name.lower(),
        state=op.state.value,
        attempts=op.attempts,
        next_attempt_at=op.next_attempt_at or None,
        last_error=plain_error(op),
        created_at=op.created_at,
        outcome_unknown=uncertain(op),
        upload=upload if upload is not None and op.is_live else None,
    )


def audit_entries(
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    since: float | None = None,
    until: float | None = None,
    text: str | None = None,
    limit: int = 500,
    before_id: int | None = None,
) -> list[AuditEntry]:
    q = AuditEvent.select().order_by(AuditEvent.id.desc())
    if entity_id and entity_type in (None, "Tickets"):
        ticket_id = ticket_id_of_number(entity_id)
        if ticket_id is not None:  # the ticket number the window shows, for its id
            entity_type, entity_id = "Tickets", str(ticket_id)
    if entity_type:
        q = q.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        q = q.where(AuditEvent.entity_id == entity_id)
    if action:
        q = q.where(AuditEvent.action == action)
    if since is not None:
        q = q.where(AuditEvent.at >= since)
    if until is not None:
        q = q.where(AuditEvent.at <= until)
    if before_id is not None:
        q = q.where(AuditEvent.id < before_id)
    words = Words()
    entries = (_entry(e, words) for e in (q.iterator() if text else q.limit(limit)))
    if not text:
        return list(entries)
    # Values are sealed, so SQL cannot search them: match what the window shows (the record
    # and the summary in words) and the detail as appended, here.
    needle = text.casefold()
    return list(
        itertools.islice((e for e in entries if needle in _search_text(e).casefold()), limit)
    )


def ticket_id_of_number(text: str) -> int | None:
    """The id of the cached ticket whose number is `text` ("T20260607.7706", or "Ticket
    T20260607.7706" as the Audit page shows it), any case; None for an id or an unknown number.
    Ticket data is sealed, so SQL cannot match it: each cached ticket is read here."""
    wanted = text.strip().removeprefix("Ticket ").removeprefix("ticket ").strip().casefold()
    if not wanted or wanted.isdigit() or wanted.startswith("~"):
        return None
    for row in CachedEntity.select(CachedEntity.entity_id).where(
        CachedEntity.entity_type == "Tickets"
    ):
        try:
            data = localview.cached("Tickets", int(row.entity_id)) or {}
        except SealedPayloadError as exc:
            _left_out(exc)
            continue
        if str(data.get("ticketNumber") or "").casefold() == wanted:
            return int(row.entity_id)
    return None


def _entry(e: AuditEvent, words: Words) -> AuditEntry:
    detail = audit.detail_of(e)
    return AuditEntry(
        id=e.id,
        at=e.at,
        action=e.action,
        entity_type=e.entity_type,
        entity_id=e.entity_id,
        op_id=e.op_id,
        detail=detail,
        record=record_text(e.entity_type, e.entity_id, words),
        summary=summary_text(e.action, e.entity_type, detail, words),
        details=tuple(detail_rows(e.entity_type, detail, words)),
    )


def _search_text(entry: AuditEntry) -> str:
    plain = json.dumps(entry.detail, sort_keys=True, separators=(",", ":"), default=str)
    return f"{entry.record} {entry.summary} {plain}"
