"""Plain values the facade returns and the events it emits (no Qt, no peewee: safe to pass on)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the status only carries it; importing it here would start the store first
    from agent.security.encryption import EncryptionState


class SyncState(enum.StrEnum):
    """What the tray icon shows."""

    SYNCED = "synced"
    SYNCING = "syncing"
    OFFLINE = "offline"
    PAUSED = "paused"
    ATTENTION = "attention"  # conflicts or operations that need attention
    ERROR = "error"  # e.g. credentials rejected, database problem


@dataclass(frozen=True)
class AgentStatus:
    state: SyncState
    mode: str  # normal | conserve | critical | offline
    online: bool
    paused: bool
    work_offline: bool
    pending: int
    needs_attention: int
    conflicts: int
    last_sync_at: float | None
    last_error: str | None
    signed_in: bool
    demo: bool
    first_sync_done: bool
    reason: str  # one human sentence explaining `state`
    # The database's condition, when the technician must know it: the disk refused the last
    # sync round's writes (full, read-only), or a damaged file was kept aside at start.
    store_notice: str | None = None
    # While a sync sends: operations handled so far and to handle in this round.
    sending: tuple[int, int] | None = None
    # Why Autotask is refused rather than merely unreachable: the server's certificate is not
    # trusted (an intercepting network). Shown instead of "cannot be reached".
    connection_problem: str | None = None
    # How local data is kept (encrypted, off by the user's choice, no keyring): the window
    # shows `encryption.describe()` when it is not `encrypted`.
    encryption: EncryptionState | None = None


@dataclass(frozen=True)
class FieldValue:
    name: str
    value: Any
    pending: bool = False
    conflict_id: int | None = None
    op_id: int | None = None


@dataclass(frozen=True)
class TicketSummary:
    id: int
    number: str
    title: str
    status: int | None
    status_label: str
    priority: int | None
    priority_label: str
    company_id: int | None
    company: str
    due: str | None
    last_activity: str | None
    pending_fields: tuple[str, ...] = ()
    conflicts: int = 0
    pending_notes: int = 0  # notes of this ticket added or changed here, not yet sent
    pending_time_entries: int = 0
    pending_parts: int = 0
    pending_checklist: int = 0  # checklist items ticked or unticked here
    pending_files: int = 0  # photos and files attached here, not yet uploaded

    @property
    def pending_children(self) -> int:
        return (
            self.pending_notes
            + self.pending_time_entries
            + self.pending_parts
            + self.pending_checklist
            + self.pending_files
        )

    @property
    def has_pending(self) -> bool:
        """Anything of this ticket left to send: its own fields or any of its children."""
        return bool(self.pending_fields or self.pending_children)


@dataclass(frozen=True)
class NoteView:
    key: str  # server id, or "~temp" while not yet created
    ticket_id: int
    title: str | None
    description: str
    note_type: int | None
    publish: int | None
    created: str | None
    pending: bool


@dataclass(frozen=True)
class TimeEntryView:
    key: str
    ticket_id: int | None
    resource_id: int | None
    role_id: int | None
    date_worked: str | None
    start: str | None
    end: str | None
    hours: float | None
    summary: str | None
    pending: bool
    deleted: bool = False
    pending_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class TicketDetail:
    id: int
    fields: dict[str, FieldValue]
    notes: list[NoteView]
    time_entries: list[TimeEntryView]
    company: str
    contact: str
    deleted_on_server: bool = False
    # Children shown on tabs of their own, left to send (notes and time entries say it each).
    pending_parts: int = 0
    pending_checklist: int = 0
    pending_files: int = 0


@dataclass(frozen=True)
class EditResult:
    op_id: int | None
    key: str
    unchanged: bool = False


@dataclass(frozen=True)
class QueueItem:
    id: int
    kind: str
    entity_type: str
    entity_key: str
    description: str  # what it changes, in words
    priority: str
    state: str
    attempts: int
    next_attempt_at: float | None
    last_error: str | None  # plain language
    created_at: float
    outcome_unknown: bool
    upload: UploadProgress | None = None  # an attached file's upload, while its bytes leave


@dataclass(frozen=True)
class UploadProgress:
    """How far one file's upload is: `sent` of the request's `total` bytes (the file encoded
    as Autotask takes it, with its fields) taken by the connection; `ended` once it is over,
    whatever the outcome (the file's state then says it)."""

    op_id: int
    ticket_id: int
    name: str
    size: int  # the file's own bytes
    sent: int
    total: int
    ended: bool = False

    @property
    def fraction(self) -> float:
        return min(1.0, self.sent / self.total) if self.total > 0 else 0.0

    @property
    def percent(self) -> int:
        return int(self.fraction * 100)

    @property
    def file_bytes_sent(self) -> int:
        """The part of the file those bytes carry (the encoding is the same throughout)."""
        return round(self.size * self.fraction)


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueItem]
    next_after_id: int | None
    total: int


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    action: str
    entity_type: str | None
    entity_id: str | None
    op_id: int | None
    detail: dict[str, Any]
    record: str = ""  # "Ticket T20240101.0001": as the window shows it
    summary: str = ""  # the event in words (labels, names, ticket numbers)
    details: tuple[tuple[str, str], ...] = ()  # its detail as (label, text) rows, in words


@dataclass(frozen=True)
class Activity:
    """One thing that happened to the technician's changes (the tray's recent activity)."""

    at: float
    kind: str  # sent | conflict | failed
    ticket_id: int
    text: str  # in words: "Sent: Change ticket T20240101.0001: Status → In Progress"


@dataclass(frozen=True)
class ConnectionTest:
    ok: bool
    message: str
    # ok | unknown_user | wrong_secret | bad_integration_code | no_network | untrusted_certificate
    # | untrusted_zone | impersonation_refused | other
    kind: str


@dataclass(frozen=True)
class AgentEvent:
    """Something changed; `kind` says what, `data` carries the details.

    Kinds: status, queue_changed, conflict_detected, sync_started, sync_finished, progress,
    alert_raised, alert_resolved, breaker_changed, mode_changed, credentials_rejected,
    back_online, went_offline, needs_attention.
    """

    kind: str
    data: dict[str, Any] = field(default_factory=dict)
