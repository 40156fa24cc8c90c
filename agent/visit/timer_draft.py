"""A stopwatch as the technician sees it, and a stopped one as a time entry: its start and end,
the day worked, and the role and work type it is given.

The role and work type come from the last time entry the technician logged (queued on this
laptop first, else the newest one Autotask sent); failing that, the Log-time form's defaults:
the first of the technician's roles by name, and no work type. Runs inside store reads or writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agent.security.errors import SealedPayloadError
from agent.store.models import CachedEntity, OpKind, OpState, OutboxOp, StopwatchRun
from agent.sync import localview

TICKETS, TIME = "Tickets", "TimeEntries"
LONG_RUN_S = 10 * 3600  # a stopwatch left running this long asks before it is logged
RECENT_CREATES = 50  # queued time entries looked at for the last one logged here


@dataclass(frozen=True)
class TimerView:
    """The running stopwatch; its start is a UTC instant (seconds since the epoch)."""

    id: int
    ticket_id: int
    ticket_number: str
    ticket_title: str
    started_at: float

    def elapsed(self, now: float) -> float:
        """Seconds since the start by the wall clock (a sleep of the laptop counts; a clock
        set back before the start reads 0)."""
        return max(0.0, now - self.started_at)


@dataclass(frozen=True)
class TimerDraft:
    """A stopped stopwatch: a time entry waiting for the technician to log or discard it."""

    id: int
    ticket_id: int
    ticket_number: str
    ticket_title: str
    started_at: float
    stopped_at: float
    role_id: int | None
    billing_code_id: int | None
    # Stopped while the clock read this many seconds before the start (set back while it ran):
    # the draft ends at its start, and is logged only with an end the technician gives.
    clock_set_back: float | None = None

    @property
    def seconds(self) -> float:
        return max(0.0, self.stopped_at - self.started_at)

    @property
    def needs_end(self) -> bool:
        """Its end is not known (the clock was set back): logging it needs one given."""
        return self.clock_set_back is not None

    @property
    def long(self) -> bool:
        """Ran more than ten hours: probably forgotten, so logging it asks first."""
        return self.seconds > LONG_RUN_S


@dataclass(frozen=True)
class TimerState:
    running: TimerView | None
    drafts: tuple[TimerDraft, ...]


def duration_text(seconds: float) -> str:
    """`1:05:09` (hours, minutes, seconds)."""
    whole = int(max(0.0, seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def iso(instant: float) -> str:
    """The wire form of an instant, to the second (UTC with a Z)."""
    return datetime.fromtimestamp(int(instant), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ticket_words(ticket_id: int) -> tuple[str, str]:
    """The ticket's number and title as cached (empty when unknown or unreadable)."""
    try:
        view = localview.view(TICKETS, str(ticket_id))
    except SealedPayloadError:
        return "", ""
    if view is None:
        return "", ""
    return str(view.values.get("ticketNumber") or ""), str(view.values.get("title") or "")


def running_view(row: StopwatchRun) -> TimerView:
    number, title = ticket_words(int(row.ticket_id))
    return TimerView(int(row.id), int(row.ticket_id), number, title, float(row.started_at))


def draft_view(row: StopwatchRun) -> TimerDraft:
    number, title = ticket_words(int(row.ticket_id))
    return TimerDraft(
        int(row.id),
        int(row.ticket_id),
        number,
        title,
        float(row.started_at),
        float(row.stopped_at),
        None if row.role_id is None else int(row.role_id),
        None if row.billing_code_id is None else int(row.billing_code_id),
        None if row.clock_set_back is None else float(row.clock_set_back),
    )


def _my_roles(me: int | None) -> list[int] | None:
    """The technician's roles from the cached resources (None: not known here)."""
    if me is None:
        return None
    data = localview.cached("Resources", me)
    if data is None:
        return None
    return [int(r) for r in data.get("roles", []) if isinstance(r, int)]


def _last_queued(me: int | None) -> dict[str, Any] | None:
    rows = (
        OutboxOp.select(OutboxOp.id, OutboxOp.fields)
        .where(
            (OutboxOp.entity_type == TIME)
            & (OutboxOp.kind == OpKind.CREATE)
            & (OutboxOp.state != OpState.CANCELLED)
        )
        .order_by(OutboxOp.id.desc())
        .limit(RECENT_CREATES)
    )
    for row in rows:
        try:
            fields = dict(row.fields)
        except SealedPayloadError:
            continue
        if fields.get("roleID") is not None and fields.get("resourceID") in (me, None):
            return fields
    return None


def _last_cached(me: int | None) -> dict[str, Any] | None:
    best: tuple[str, int] | None = None
    found: dict[str, Any] | None = None
    rows = CachedEntity.select(CachedEntity.entity_type, CachedEntity.entity_id, CachedEntity.data)
    for row in rows.where(CachedEntity.entity_type == TIME):
        try:
            data = dict(row.data)
        except SealedPayloadError:
            continue
        if data.get("roleID") is None or (me is not None and data.get("resourceID") != me):
            continue
        rank = (str(data.get("startDateTime") or data.get("dateWorked") or ""), int(row.entity_id))
        if best is None or rank > best:
            best, found = rank, data
    return found


def role_and_work_type(me: int | None) -> tuple[int | None, int | None]:
    """What a new draft is given (see the module docstring); a remembered role the technician
    no longer holds gives way to the form's default."""
    mine = _my_roles(me)
    last = _last_queued(me) or _last_cached(me)
    if last is not None and (mine is None or last.get("roleID") in mine):
        code = last.get("billingCodeID")
        return int(last["roleID"]), int(code) if isinstance(code, int) else None
    if not mine:
        return None, None
    labels = localview.picklists(TIME).get("roleID", {})
    first = min(mine, key=lambda r: labels.get(r, f"Role {r}").lower())
    return first, None


def entry_fields(
    draft: TimerDraft,
    *,
    summary: str | None,
    role_id: int | None,
    billing_code_id: int | None,
    start: float,
    end: float,
) -> dict[str, Any]:
    """The time entry a draft becomes (wire fields, whole seconds; the day worked is the start's
    day where the laptop is, as the Log-time form writes it)."""
    day = datetime.fromtimestamp(int(start), UTC).astimezone().date()
    fields: dict[str, Any] = {
        "ticketID": draft.ticket_id,
        "dateWorked": f"{day.isoformat()}T00:00:00Z",
        "startDateTime": iso(start),
        "endDateTime": iso(end),
        "summaryNotes": summary,
        "roleID": role_id,
        "billingCodeID": billing_code_id,
    }
    return {k: v for k, v in fields.items() if v is not None}
