"""The technician's schedule as the window and the command line show it: service calls and
appointments by day, each with its company, location, time window and tickets, the local state
(a completion waiting to be sent, a conflict) on top of the cached server state.

Every function runs inside a store read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from agent.security.errors import SealedPayloadError
from agent.store.models import VisitIndex
from agent.sync import localview
from agent.sync.visit_pull import APPOINTMENTS, CALLS, CHECKLIST, LINKS


@dataclass(frozen=True)
class VisitTicket:
    id: int
    number: str
    title: str


@dataclass(frozen=True)
class VisitEntry:
    """One service call or appointment. `kind` is "service_call" or "appointment"."""

    kind: str
    id: int
    title: str
    starts_at: float | None
    ends_at: float | None
    company: str = ""
    location: str = ""
    complete: bool = False
    pending: bool = False  # a change of it waits to be sent
    conflict_id: int | None = None
    tickets: tuple[VisitTicket, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ChecklistLine:
    id: int
    ticket_id: int
    name: str
    position: int
    important: bool
    done: bool
    completed_by: str = ""  # the resource's name, from the server after sync
    completed_at: str | None = None  # the server's time text
    pending: bool = False
    conflict_id: int | None = None


def _record(entity_type: str, entity_id: int) -> dict[str, Any] | None:
    try:
        return localview.cached(entity_type, entity_id)
    except SealedPayloadError:
        return None


def _company(company_id: Any) -> tuple[str, str]:
    if not isinstance(company_id, int):
        return "", ""
    c = _record("Companies", company_id) or {}
    where = ", ".join(str(x) for x in (c.get("address1"), c.get("city")) if x)
    return str(c.get("companyName") or f"company #{company_id}"), where


def _tickets(call_id: int) -> tuple[VisitTicket, ...]:
    links = VisitIndex.select(VisitIndex.entity_id).where(
        (VisitIndex.entity_type == LINKS) & (VisitIndex.parent_id == call_id)
    )
    out = []
    for row in links:
        link = _record(LINKS, int(row.entity_id)) or {}
        ticket_id = link.get("ticketID")
        if not isinstance(ticket_id, int):
            continue
        ticket = _record("Tickets", ticket_id) or {}
        out.append(
            VisitTicket(
                ticket_id, str(ticket.get("ticketNumber") or ""), str(ticket.get("title") or "")
            )
        )
    return tuple(sorted(out, key=lambda t: t.id))


def _entry(entity_type: str, entity_id: int, row: VisitIndex) -> VisitEntry | None:
    current = localview.view(entity_type, str(entity_id))
    if current is None:
        return None
    v = current.values
    if entity_type == APPOINTMENTS:
        return VisitEntry(
            "appointment",
            entity_id,
            str(v.get("title") or "Appointment"),
            row.starts_at,
            row.ends_at,
            location=str(v.get("description") or ""),
        )
    company, where = _company(v.get("companyID"))
    return VisitEntry(
        "service_call",
        entity_id,
        str(v.get("description") or f"Service call {entity_id}"),
        row.starts_at,
        row.ends_at,
        company=company,
        location=where,
        complete=bool(v.get("isComplete")),
        pending="isComplete" in current.pending,
        conflict_id=current.conflicts.get("isComplete"),
        tickets=_tickets(entity_id),
    )


def schedule(start: float, end: float) -> list[VisitEntry]:
    """Calls and appointments starting in [start, end), earliest first."""
    rows = VisitIndex.select().where(
        VisitIndex.entity_type.in_([CALLS, APPOINTMENTS])
        & (VisitIndex.starts_at >= start)
        & (VisitIndex.starts_at < end)
    )
    entries = [_entry(r.entity_type, int(r.entity_id), r) for r in rows]
    return sorted(
        (e for e in entries if e is not None), key=lambda e: (e.starts_at or 0.0, e.kind, e.id)
    )


def resource_name(resource_id: Any) -> str:
    if not isinstance(resource_id, int):
        return ""
    r = _record("Resources", resource_id) or {}
    name = " ".join(str(x) for x in (r.get("firstName"), r.get("lastName")) if x)
    return name or f"resource #{resource_id}"


def checklist(ticket_id: int) -> list[ChecklistLine]:
    """The ticket's checklist in its order, each line with its pending state."""
    rows = VisitIndex.select(VisitIndex.entity_id).where(
        (VisitIndex.entity_type == CHECKLIST) & (VisitIndex.parent_id == ticket_id)
    )
    lines = []
    for row in rows:
        current = localview.view(CHECKLIST, str(int(row.entity_id)))
        if current is None:
            continue
        v = current.values
        done = bool(v.get("isCompleted"))
        stamped = not current.pending  # the server's stamp belongs to the server's state
        lines.append(
            ChecklistLine(
                id=int(row.entity_id),
                ticket_id=ticket_id,
                name=str(v.get("itemName") or ""),
                position=int(v.get("position") or 0),
                important=bool(v.get("isImportant")),
                done=done,
                completed_by=resource_name(v.get("completedByResourceID"))
                if done and stamped
                else "",
                completed_at=str(v.get("completedDateTime"))
                if done and stamped and v.get("completedDateTime")
                else None,
                pending="isCompleted" in current.pending,
                conflict_id=current.conflicts.get("isCompleted"),
            )
        )
    return sorted(lines, key=lambda line: (line.position, line.id))


def days_from_today(now: float, days: int) -> tuple[float, float]:
    """From this computer's midnight of `now`'s day to `days` midnights later."""
    local = datetime.fromtimestamp(now).astimezone()
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.timestamp(), (midnight + timedelta(days=days)).timestamp()
