"""The peewee models of the agent's one SQLite database, designed together for the whole agent.

Times are UTC seconds since the epoch (REAL): cheap to compare and index, free of time-zone
surprises. Payloads that may carry a customer's text use `PayloadField` (see `codec`), bound to
their row by the key columns each such model names in `Meta.row_key` (see `binding`).
"""

from __future__ import annotations

import enum
from typing import Any

import peewee

from agent.store.binding import BoundModel
from agent.store.codec import PayloadField

# Bound at open time (`connection.open_database`); models never carry a path of their own.
database_proxy = peewee.DatabaseProxy()


class BaseModel(BoundModel):
    class Meta:
        database = database_proxy
        legacy_table_names = False


class CachedEntity(BaseModel):
    """The last known server state of one entity, as the server sent it."""

    entity_type = peewee.CharField(max_length=40)
    entity_id = peewee.BigIntegerField()
    data = PayloadField()
    fetched_at = peewee.DoubleField()
    # The entity's change marker (e.g. lastTrackedModificationDateTime) as the server wrote it.
    change_marker = peewee.CharField(max_length=40, null=True)
    deleted_on_server = peewee.BooleanField(default=False)

    class Meta:
        indexes = ((("entity_type", "entity_id"), True), (("entity_type", "change_marker"), False))
        row_key = ("entity_type", "entity_id")


class OverlayValue(BaseModel):
    """One pending local value shown on top of the cached server state until it is synced.

    `entity_key` is the server id as text, or the temporary id of an entity not yet created.
    """

    entity_type = peewee.CharField(max_length=40)
    entity_key = peewee.CharField(max_length=64)
    field = peewee.CharField(max_length=80)
    value = PayloadField(null=True)
    op_id = peewee.BigIntegerField(null=True, index=True)
    updated_at = peewee.DoubleField()

    class Meta:
        indexes = ((("entity_type", "entity_key", "field"), True),)
        row_key = ("entity_type", "entity_key", "field")


class OpKind(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class OpState(enum.StrEnum):
    PENDING = "pending"  # waiting to be claimed (possibly not before next_attempt_at)
    LEASED = "leased"  # claimed by a worker until lease_expires_at
    DONE = "done"  # the server has it
    PARKED = "parked"  # needs attention: a retry cannot fix it
    CONFLICT = "conflict"  # waiting for the technician to resolve a conflict
    CANCELLED = "cancelled"  # discarded on purpose, with a reason


class Priority(enum.IntEnum):
    CRITICAL = 0
    HIGH = 1
    NORMAL = 2
    LOW = 3
    BACKGROUND = 4


class OutboxOp(BaseModel):
    """One pending change: create, update or delete of one entity."""

    kind = peewee.CharField(max_length=10)
    entity_type = peewee.CharField(max_length=40)
    target_id = peewee.BigIntegerField(null=True)
    temp_id = peewee.CharField(max_length=64, null=True)
    parent_id = peewee.BigIntegerField(null=True)
    parent_temp_id = peewee.CharField(max_length=64, null=True)
    fields = PayloadField()  # the changed fields and their new values
    base = PayloadField()  # the server's values of those fields when the edit was made
    priority = peewee.SmallIntegerField(default=Priority.NORMAL)
    state = peewee.CharField(max_length=12, default=OpState.PENDING)
    attempts = peewee.IntegerField(default=0)
    next_attempt_at = peewee.DoubleField(default=0.0)
    created_at = peewee.DoubleField()
    updated_at = peewee.DoubleField()
    deadline_at = peewee.DoubleField(null=True)  # e.g. the ticket's SLA due time
    fingerprint = peewee.FixedCharField(max_length=64, index=True)
    lease_owner = peewee.CharField(max_length=64, null=True)
    lease_expires_at = peewee.DoubleField(null=True)
    outcome_unknown = peewee.BooleanField(default=False)
    # The server's words, which often quote the value refused: sealed like the payloads.
    last_error = PayloadField(null=True)
    error_category = peewee.CharField(max_length=24, null=True)
    reason = PayloadField(null=True)  # why it was parked or cancelled
    technician = peewee.BooleanField(default=True)  # a person's edit (never refused for capacity)

    class Meta:
        indexes = (
            (("state", "priority", "next_attempt_at"), False),
            (("entity_type", "target_id"), False),
        )
        row_key = ("id",)

    @property
    def entity_key(self) -> str:
        return str(self.target_id) if self.target_id is not None else str(self.temp_id)


# Partial indexes (schema step 3): each holds only the rows its queries look for, so queueing a
# pending update of a known entity writes none of them.
OutboxOp.add_index(
    OutboxOp.index(
        OutboxOp.temp_id, name="outbox_op_temp_id", where=peewee.SQL('"temp_id" IS NOT NULL')
    )
)
OutboxOp.add_index(
    OutboxOp.index(
        OutboxOp.lease_expires_at,
        name="outbox_op_leased_expiry",
        where=peewee.SQL("\"state\" = 'leased'"),
    )
)
OutboxOp.add_index(
    OutboxOp.index(
        OutboxOp.state,
        OutboxOp.id,
        name="outbox_op_state_id",
        where=peewee.SQL("\"state\" <> 'pending'"),
    )
)
OutboxOp.add_index(
    OutboxOp.index(
        OutboxOp.deadline_at,
        OutboxOp.priority,
        OutboxOp.next_attempt_at,
        name="outbox_op_pending_deadline",
        where=peewee.SQL('"state" = \'pending\' AND "deadline_at" IS NOT NULL'),
    )
)


class OpDependency(BaseModel):
    """`op` may not leave before `depends_on` is done (e.g. a note waiting for its ticket's id)."""

    op = peewee.ForeignKeyField(OutboxOp, backref="dependencies", on_delete="CASCADE")
    depends_on = peewee.ForeignKeyField(OutboxOp, backref="dependents", on_delete="CASCADE")

    class Meta:
        indexes = ((("op", "depends_on"), True),)


class ConflictStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Conflict(BaseModel):
    """One field both sides changed differently since the base (or an entity deleted remotely,
    or one deleted here that the server changed since)."""

    op = peewee.ForeignKeyField(OutboxOp, null=True, backref="conflicts", on_delete="SET NULL")
    entity_type = peewee.CharField(max_length=40)
    entity_id = peewee.BigIntegerField()
    field = peewee.CharField(max_length=80)  # "*" for a whole record (deleted or changed)
    kind = peewee.CharField(max_length=16, default="field")  # field | deleted | changed
    base = PayloadField(null=True)
    mine = PayloadField(null=True)
    theirs = PayloadField(null=True)
    base_read_at = peewee.DoubleField(null=True)
    mine_at = peewee.DoubleField(null=True)
    theirs_read_at = peewee.DoubleField(null=True)
    status = peewee.CharField(max_length=10, default=ConflictStatus.OPEN, index=True)
    resolution = peewee.CharField(max_length=10, null=True)  # mine | theirs | value
    resolved_value = PayloadField(null=True)
    detected_at = peewee.DoubleField()
    resolved_at = peewee.DoubleField(null=True)

    class Meta:
        row_key = ("id",)


class AuditEvent(BaseModel):
    """An append-only history entry; `hash` covers this event and the previous event's hash."""

    at = peewee.DoubleField()
    action = peewee.CharField(max_length=32, index=True)
    entity_type = peewee.CharField(max_length=40, null=True)
    entity_id = peewee.CharField(max_length=64, null=True)
    op_id = peewee.BigIntegerField(null=True)
    detail = peewee.TextField(default="{}")
    # The detail's values (see `agent.store.audit.VALUE_KEYS`), sealed like every payload.
    values = PayloadField(null=True)
    prev_hash = peewee.FixedCharField(max_length=64)
    hash = peewee.FixedCharField(max_length=64, unique=True)

    class Meta:
        indexes = ((("entity_type", "entity_id"), False), (("op_id",), False))
        row_key = ("hash",)


class AuditAnchor(BaseModel):
    """The audit trail's anchor as last written to the keyring (`agent.security.audit_anchor`),
    copied here (one row): events deleted from the end of the trail leave it ahead of the trail,
    while a file put back to an older copy brings its older anchor along."""

    count = peewee.BigIntegerField()
    head = peewee.FixedCharField(max_length=64)
    pruned = peewee.BigIntegerField()
    at = peewee.DoubleField()


class MetricSample(BaseModel):
    """One point of a metric time series, raw (10 s) or rolled up (60 s)."""

    series = peewee.CharField(max_length=120)
    resolution = peewee.SmallIntegerField(default=10)
    at = peewee.DoubleField()
    value = peewee.DoubleField()

    class Meta:
        indexes = ((("series", "resolution", "at"), False),)


class Alert(BaseModel):
    """A raised alert; `key` deduplicates repeats of the same condition."""

    rule = peewee.CharField(max_length=64)
    key = peewee.CharField(max_length=160, index=True)
    severity = peewee.CharField(max_length=10)
    message = peewee.TextField()
    state = peewee.CharField(max_length=10, default="active", index=True)
    first_seen = peewee.DoubleField()
    last_seen = peewee.DoubleField()
    resolved_at = peewee.DoubleField(null=True)
    data = peewee.TextField(default="{}")


class Setting(BaseModel):
    """One typed setting, JSON-encoded (see `agent.settings`)."""

    key = peewee.CharField(max_length=80, primary_key=True)
    value = peewee.TextField()


class SyncCursor(BaseModel):
    """Where incremental refresh of one entity type left off (added in schema version 2)."""

    entity_type = peewee.CharField(max_length=40, primary_key=True)
    watermark = peewee.CharField(max_length=40, null=True)
    last_full_sync_at = peewee.DoubleField(null=True)
    last_refresh_at = peewee.DoubleField(null=True)


class CreateAttempt(BaseModel):
    """When a create was sent and which server record it owns (schema step 5).

    Autotask has no idempotency keys, so a create whose answer was lost is found again by its
    natural key (`agent.sync.reconcile`). This row bounds that search (first and last send, the
    deadline in force, the server's clock skew) and makes a server record belong to one create
    only: `server_id` is unique per entity type, whether the id came in the answer or was adopted.
    Kept apart from the outbox so every outbox backend shares it, in the store's transaction.
    """

    op_id = peewee.BigIntegerField(primary_key=True)
    entity_type = peewee.CharField(max_length=40)
    first_sent_at = peewee.DoubleField()
    last_sent_at = peewee.DoubleField()
    # No attempt can still be answered after this (each send's time plus its deadline).
    in_flight_until = peewee.DoubleField()
    # The server's clock minus ours (seconds) when the last attempt went out; None if unknown.
    skew = peewee.DoubleField(null=True)
    # How far the true skew may be from `skew` either way (schema step 6).
    skew_spread = peewee.DoubleField(default=0.0, constraints=[peewee.SQL("DEFAULT 0")])
    server_id = peewee.BigIntegerField(null=True)
    settled_at = peewee.DoubleField(null=True)

    class Meta:
        indexes = ((("entity_type", "server_id"), True),)


class ScreenedRecord(BaseModel):
    """How often Autotask sent a record the agent skipped, or kept with its change marker
    clamped, by entity, field and fault (schema step 10). Names only: never a value."""

    entity_type = peewee.CharField(max_length=40)
    field = peewee.CharField(max_length=80)
    problem = peewee.CharField(max_length=40)
    skipped = peewee.BooleanField()
    count = peewee.BigIntegerField()
    last_at = peewee.DoubleField()

    class Meta:
        primary_key = peewee.CompositeKey("entity_type", "field", "problem")


class NeverReusedId(peewee.AutoField):  # type: ignore[misc]
    """An id SQLite never gives again, even once its row and every later one are deleted
    (`AUTOINCREMENT`): a number the technician was shown names that row or none."""

    def ddl(self, ctx: Any) -> Any:
        return peewee.NodeList((super().ddl(ctx), peewee.SQL("AUTOINCREMENT")))


class StopwatchRun(BaseModel):
    """A stopwatch on a ticket (schema step 13): running while `stopped_at` is null, then a draft
    time entry until the technician logs or discards it. Times are UTC instants read from the
    wall clock, so a restart, a crash or a sleep of the laptop loses none of the elapsed time.
    At most one runs at a time (a partial unique index, below). Ids only: no customer text.
    A draft is named by its id (`--draft N`), which is never given again (schema step 17)."""

    id = NeverReusedId()
    ticket_id = peewee.BigIntegerField()
    resource_id = peewee.BigIntegerField(null=True)  # the technician when it was started
    started_at = peewee.DoubleField()
    stopped_at = peewee.DoubleField(null=True)
    # Filled in when stopped: from the technician's last time entry, or the form's defaults.
    role_id = peewee.BigIntegerField(null=True)
    billing_code_id = peewee.BigIntegerField(null=True)
    # Stopped while the wall clock read before the start (it was set back while the timer ran):
    # by how many seconds. The draft then ends at its start, and its end must be given.
    clock_set_back = peewee.DoubleField(null=True)

    class Meta:
        table_name = "stopwatch_run"


StopwatchRun.add_index(
    peewee.SQL(
        'CREATE UNIQUE INDEX "stopwatch_run_one_running" ON "stopwatch_run" '
        '((1)) WHERE "stopped_at" IS NULL'
    )
)


class VisitIndex(BaseModel):
    """Where a cached visit record sits (schema step 14): a service call's or appointment's
    time window, the ticket a checklist item belongs to, the service call a ticket is worked in.
    The records themselves are `CachedEntity` rows (sealed); these are ids and times only, so
    a day's schedule and a ticket's checklist are found without opening every record."""

    entity_type = peewee.CharField(max_length=40)
    entity_id = peewee.BigIntegerField()
    parent_id = peewee.BigIntegerField(null=True)
    starts_at = peewee.DoubleField(null=True)
    ends_at = peewee.DoubleField(null=True)

    class Meta:
        table_name = "visit_index"
        indexes = (
            (("entity_type", "entity_id"), True),
            (("entity_type", "parent_id"), False),
            (("entity_type", "starts_at"), False),
        )


class AttachmentFile(BaseModel):
    """A file attached to a ticket on this computer (schema step 16): its bytes sit sealed in
    the profile's `attachments` folder under `blob`, encrypted with a key of their own kept in
    `sealed` (with the file's name and title), which the database's codec seals like every
    payload; so rotating the data key re-seals the key, never the file. `state` follows the
    upload: queued, uploading, sent (or refused by Autotask)."""

    blob = peewee.CharField(max_length=64, unique=True)
    op_id = peewee.BigIntegerField(null=True, index=True)
    ticket_id = peewee.BigIntegerField(index=True)
    size = peewee.IntegerField()
    sealed = PayloadField()  # {"key": base64, "name": file name, "title": title}
    state = peewee.CharField(max_length=16, default="queued")
    captured_at = peewee.DoubleField()
    sent_at = peewee.DoubleField(null=True, index=True)  # the last attempt's departure
    done_at = peewee.DoubleField(null=True)
    server_id = peewee.BigIntegerField(null=True)

    class Meta:
        table_name = "attachment_file"
        row_key = ("blob",)


class SchemaMigration(BaseModel):
    """One applied step of the migration ladder; the highest version is the schema's version."""

    version = peewee.IntegerField(primary_key=True)
    applied_at = peewee.DoubleField()
    description = peewee.TextField()


ALL_MODELS: list[type[Any]] = [
    CachedEntity,
    OverlayValue,
    OutboxOp,
    OpDependency,
    Conflict,
    AuditEvent,
    AuditAnchor,
    MetricSample,
    Alert,
    Setting,
    SyncCursor,
    CreateAttempt,
    ScreenedRecord,
    StopwatchRun,
    AttachmentFile,
    VisitIndex,
    SchemaMigration,
]
