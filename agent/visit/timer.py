"""The stopwatch: time started and stopped on a ticket, turned into a time entry the technician
confirms.

Each change is one durable local transaction with its audit event (`timer_started`,
`timer_stopped`, `timer_logged`, `timer_discarded`), so a restart, a crash or a power cut keeps a
running stopwatch with its start. The start is a UTC instant from the wall clock: the elapsed
time is `now - start`, which a sleep of the laptop does not stop. One stopwatch runs at a time;
starting another refuses, or with `switch` stops the first (it becomes a draft) and starts the
new one in the same transaction. Logging a draft goes through the time-entry capture (same
validation, outbox and audit) in the transaction that removes the draft; a draft that ran more
than ten hours is logged only when confirmed.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from agent.api.validation import EditRejected, Problem
from agent.clock import Clock
from agent.store import audit
from agent.store.connection import Store
from agent.store.models import StopwatchRun
from agent.sync import localview
from agent.sync.capture import Capture, Captured, known_references
from agent.visit.timer_draft import (
    LONG_RUN_S,
    TICKETS,
    TimerDraft,
    TimerState,
    TimerView,
    draft_view,
    duration_text,
    entry_fields,
    iso,
    role_and_work_type,
    running_view,
    ticket_words,
)


class Keep(enum.Enum):
    """The draft's own value (as opposed to None: none at all)."""

    DRAFT = "draft"


class TimerRefused(EditRejected):
    """The stopwatch cannot do this now (the problem says why); nothing was changed."""


def _refused(field: str, message: str) -> TimerRefused:
    return TimerRefused([Problem(field, message)])


def _ticket_name(ticket_id: int) -> str:
    number, _ = ticket_words(ticket_id)
    return f"ticket {number or ticket_id}"


def _clock_text(instant: float) -> str:
    return datetime.fromtimestamp(instant, UTC).astimezone().strftime("%d %b %Y %H:%M").lstrip("0")


def _set_back_text(draft: TimerDraft) -> str:
    """Why a draft has no end: what the clock read when it was stopped, against its start."""
    back = draft.clock_set_back or 0.0
    return (
        f"the computer's clock read {_clock_text(draft.started_at - back)} when the timer on "
        f"{_ticket_name(draft.ticket_id)} was stopped, before the timer's start "
        f"({_clock_text(draft.started_at)}): it was set back while the timer ran, so the "
        "timer's end is not known"
    )


def _running() -> StopwatchRun | None:
    row: StopwatchRun | None = StopwatchRun.get_or_none(StopwatchRun.stopped_at.is_null())
    return row


class Stopwatch:
    def __init__(self, store: Store, capture: Capture, clock: Clock) -> None:
        self.store = store
        self.capture = capture
        self.clock = clock

    def _now(self) -> float:
        return self.clock.now().timestamp()

    # -- reading ---------------------------------------------------------------------------
    def state(self) -> TimerState:
        def run() -> TimerState:
            rows = list(StopwatchRun.select().order_by(StopwatchRun.id))
            running = next((r for r in rows if r.stopped_at is None), None)
            return TimerState(
                running_view(running) if running is not None else None,
                tuple(draft_view(r) for r in rows if r.stopped_at is not None),
            )

        return self.store.read(run)

    # -- changing --------------------------------------------------------------------------
    def start(self, ticket_id: int, *, switch: bool = False) -> TimerView:
        """Start a stopwatch on `ticket_id` (one already running there is left as it is)."""

        def run() -> TimerView:
            self._check_ticket(ticket_id)
            now = self._now()
            running = _running()
            if running is not None:
                if int(running.ticket_id) == ticket_id:
                    return running_view(running)
                if not switch:
                    raise _refused(
                        "timer",
                        f"a timer is already running on {_ticket_name(int(running.ticket_id))} "
                        f"since {_clock_text(float(running.started_at))}; stop it first",
                    )
                self._stop(running, now)
            row = StopwatchRun.create(
                ticket_id=ticket_id,
                resource_id=self.capture.technician_resource_id,
                started_at=now,
            )
            audit.append(
                "timer_started",
                at=now,
                entity_type=TICKETS,
                entity_id=str(ticket_id),
                detail={"started": iso(now)},
            )
            return running_view(row)

        return self.store.write(run, durable=True)

    def stop(self) -> TimerDraft:
        """Stop the running stopwatch; it becomes a draft time entry."""

        def run() -> TimerDraft:
            row = _running()
            if row is None:
                raise _refused("timer", "no timer is running")
            return self._stop(row, self._now())

        return self.store.write(run, durable=True)

    def _stop(self, row: StopwatchRun, now: float) -> TimerDraft:
        """Stop `row` at `now`; a clock that reads before the start (set back while it ran)
        gives no end: the draft ends at its start, flagged, and asks for its end when logged."""
        role, work_type = role_and_work_type(self.capture.technician_resource_id)
        started = float(row.started_at)
        row.stopped_at = max(now, started)
        row.clock_set_back = started - now if now < started else None
        row.role_id = role
        row.billing_code_id = work_type
        row.save()
        draft = draft_view(row)
        back = {"clock_set_back": duration_text(started - now)} if now < started else {}
        audit.append(
            "timer_stopped",
            at=now,
            entity_type=TICKETS,
            entity_id=str(draft.ticket_id),
            detail={
                "started": iso(draft.started_at),
                "stopped": iso(draft.stopped_at),
                "duration": duration_text(draft.seconds),
                "long": draft.long,
                **back,
            },
        )
        return draft

    def log(
        self,
        draft_id: int,
        *,
        summary: str | None,
        role_id: int | Keep | None = Keep.DRAFT,
        billing_code_id: int | Keep | None = Keep.DRAFT,
        start: datetime | None = None,
        end: datetime | None = None,
        confirm_long: bool = False,
    ) -> Captured:
        """Log a draft as a time entry (role and work type: the draft's unless given; start and
        end: the stopwatch's unless corrected). A refused entry leaves the draft as it was."""

        def run() -> Captured:
            row = self._draft(draft_id)
            draft = draft_view(row)
            if draft.needs_end and end is None:
                raise _refused("endDateTime", _set_back_text(draft) + "; give its end time")
            begin = start.timestamp() if start is not None else draft.started_at
            finish = end.timestamp() if end is not None else draft.stopped_at
            if finish - begin > LONG_RUN_S and not confirm_long:
                raise _refused(
                    "endDateTime",
                    f"the timer on {_ticket_name(draft.ticket_id)} ran "
                    f"{duration_text(finish - begin)}, more than {LONG_RUN_S // 3600} hours: "
                    "check the end time, then confirm to log it",
                )
            fields = entry_fields(
                draft,
                summary=summary,
                role_id=draft.role_id if role_id is Keep.DRAFT else role_id,
                billing_code_id=(
                    draft.billing_code_id if billing_code_id is Keep.DRAFT else billing_code_id
                ),
                start=begin,
                end=finish,
            )
            captured = self.capture.log_time(fields)  # joins this transaction
            row.delete_instance()
            audit.append(
                "timer_logged",
                at=self._now(),
                entity_type=TICKETS,
                entity_id=str(draft.ticket_id),
                op_id=captured.op_id,
                detail={
                    "started": fields["startDateTime"],
                    "stopped": fields["endDateTime"],
                    "duration": duration_text(finish - begin),
                    "long_confirmed": finish - begin > LONG_RUN_S,
                },
            )
            return captured

        return self.store.write(run, durable=True)

    def discard(self, draft_id: int) -> TimerDraft:
        """Throw a draft away (audited); nothing is logged."""

        def run() -> TimerDraft:
            row = self._draft(draft_id)
            draft = draft_view(row)
            row.delete_instance()
            audit.append(
                "timer_discarded",
                at=self._now(),
                entity_type=TICKETS,
                entity_id=str(draft.ticket_id),
                detail={
                    "started": iso(draft.started_at),
                    "stopped": iso(draft.stopped_at),
                    "duration": duration_text(draft.seconds),
                },
            )
            return draft

        return self.store.write(run, durable=True)

    # -- checks ----------------------------------------------------------------------------
    def _draft(self, draft_id: int) -> StopwatchRun:
        row: StopwatchRun | None = StopwatchRun.get_or_none(StopwatchRun.id == draft_id)
        if row is None:
            raise _refused("timer", f"there is no stopped timer #{draft_id}")
        if row.stopped_at is None:
            raise _refused("timer", f"timer #{draft_id} is still running; stop it first")
        return row

    @staticmethod
    def _check_ticket(ticket_id: int) -> None:
        """Only a ticket in the technician's list, as for any other edit of it."""
        view = localview.view(TICKETS, str(ticket_id))
        known = known_references([ticket_id])
        if (
            view is None
            or not view.server
            or view.deleted_on_server
            or (known.tickets is not None and ticket_id not in known.tickets)
        ):
            raise _refused("ticket", f"ticket {ticket_id} is not in your list")
