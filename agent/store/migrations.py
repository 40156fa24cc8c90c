"""The schema's migration ladder: each step atomic, the file backed up before the first step runs.

A fresh database is created from the current models and stamped with `LATEST`; an existing one
climbs the ladder from its recorded version. `tests/store/test_migrations.py` proves both paths end
in the same schema. Step 1 is frozen SQL (the first schema as shipped), never derived from models.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import peewee

from agent.store.models import ALL_MODELS, SchemaMigration

# Audit events may be appended, never changed; retention deletes only the oldest (see audit.py).
# As shipped in step 2; step 4 narrows it (below).
V2_AUDIT_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS "audit_event_no_update" BEFORE UPDATE ON "audit_event"
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
)
# Every column but `values`, which key rotation and turning encryption on or off re-seal; the
# hash covers the values in plaintext, so a changed value still breaks the chain.
AUDIT_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS "audit_event_no_update" BEFORE UPDATE OF "id", "at",
    "action", "entity_type", "entity_id", "op_id", "detail", "prev_hash", "hash" ON "audit_event"
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
)

V1_SCHEMA = """
CREATE TABLE "cached_entity" ("id" INTEGER NOT NULL PRIMARY KEY, "entity_type" VARCHAR(40) NOT NULL, "entity_id" INTEGER NOT NULL, "data" BLOB NOT NULL, "fetched_at" REAL NOT NULL, "change_marker" VARCHAR(40), "deleted_on_server" INTEGER NOT NULL);
CREATE UNIQUE INDEX "cached_entity_entity_type_entity_id" ON "cached_entity" ("entity_type", "entity_id");
CREATE INDEX "cached_entity_entity_type_change_marker" ON "cached_entity" ("entity_type", "change_marker");
CREATE TABLE "overlay_value" ("id" INTEGER NOT NULL PRIMARY KEY, "entity_type" VARCHAR(40) NOT NULL, "entity_key" VARCHAR(64) NOT NULL, "field" VARCHAR(80) NOT NULL, "value" BLOB, "op_id" INTEGER, "updated_at" REAL NOT NULL);
CREATE INDEX "overlay_value_op_id" ON "overlay_value" ("op_id");
CREATE UNIQUE INDEX "overlay_value_entity_type_entity_key_field" ON "overlay_value" ("entity_type", "entity_key", "field");
CREATE TABLE "outbox_op" ("id" INTEGER NOT NULL PRIMARY KEY, "kind" VARCHAR(10) NOT NULL, "entity_type" VARCHAR(40) NOT NULL, "target_id" INTEGER, "temp_id" VARCHAR(64), "parent_id" INTEGER, "parent_temp_id" VARCHAR(64), "fields" BLOB NOT NULL, "base" BLOB NOT NULL, "priority" INTEGER NOT NULL, "state" VARCHAR(12) NOT NULL, "attempts" INTEGER NOT NULL, "next_attempt_at" REAL NOT NULL, "created_at" REAL NOT NULL, "updated_at" REAL NOT NULL, "fingerprint" CHAR(64) NOT NULL, "lease_owner" VARCHAR(64), "lease_expires_at" REAL, "outcome_unknown" INTEGER NOT NULL, "last_error" TEXT, "error_category" VARCHAR(24), "reason" TEXT, "technician" INTEGER NOT NULL);
CREATE INDEX "outbox_op_temp_id" ON "outbox_op" ("temp_id");
CREATE INDEX "outbox_op_fingerprint" ON "outbox_op" ("fingerprint");
CREATE INDEX "outbox_op_state_priority_next_attempt_at" ON "outbox_op" ("state", "priority", "next_attempt_at");
CREATE INDEX "outbox_op_entity_type_target_id" ON "outbox_op" ("entity_type", "target_id");
CREATE INDEX "outbox_op_state_lease_expires_at" ON "outbox_op" ("state", "lease_expires_at");
CREATE TABLE "op_dependency" ("id" INTEGER NOT NULL PRIMARY KEY, "op_id" INTEGER NOT NULL, "depends_on_id" INTEGER NOT NULL, FOREIGN KEY ("op_id") REFERENCES "outbox_op" ("id") ON DELETE CASCADE, FOREIGN KEY ("depends_on_id") REFERENCES "outbox_op" ("id") ON DELETE CASCADE);
CREATE INDEX "op_dependency_op_id" ON "op_dependency" ("op_id");
CREATE INDEX "op_dependency_depends_on_id" ON "op_dependency" ("depends_on_id");
CREATE UNIQUE INDEX "op_dependency_op_id_depends_on_id" ON "op_dependency" ("op_id", "depends_on_id");
CREATE TABLE "conflict" ("id" INTEGER NOT NULL PRIMARY KEY, "op_id" INTEGER, "entity_type" VARCHAR(40) NOT NULL, "entity_id" INTEGER NOT NULL, "field" VARCHAR(80) NOT NULL, "kind" VARCHAR(16) NOT NULL, "base" BLOB, "mine" BLOB, "theirs" BLOB, "base_read_at" REAL, "mine_at" REAL, "theirs_read_at" REAL, "status" VARCHAR(10) NOT NULL, "resolution" VARCHAR(10), "resolved_value" BLOB, "detected_at" REAL NOT NULL, "resolved_at" REAL, FOREIGN KEY ("op_id") REFERENCES "outbox_op" ("id") ON DELETE SET NULL);
CREATE INDEX "conflict_op_id" ON "conflict" ("op_id");
CREATE INDEX "conflict_status" ON "conflict" ("status");
CREATE TABLE "audit_event" ("id" INTEGER NOT NULL PRIMARY KEY, "at" REAL NOT NULL, "action" VARCHAR(32) NOT NULL, "entity_type" VARCHAR(40), "entity_id" VARCHAR(64), "op_id" INTEGER, "detail" TEXT NOT NULL, "prev_hash" CHAR(64) NOT NULL, "hash" CHAR(64) NOT NULL);
CREATE INDEX "audit_event_action" ON "audit_event" ("action");
CREATE UNIQUE INDEX "audit_event_hash" ON "audit_event" ("hash");
CREATE INDEX "audit_event_entity_type_entity_id" ON "audit_event" ("entity_type", "entity_id");
CREATE TABLE "metric_sample" ("id" INTEGER NOT NULL PRIMARY KEY, "series" VARCHAR(120) NOT NULL, "resolution" INTEGER NOT NULL, "at" REAL NOT NULL, "value" REAL NOT NULL);
CREATE INDEX "metric_sample_series_resolution_at" ON "metric_sample" ("series", "resolution", "at");
CREATE TABLE "alert" ("id" INTEGER NOT NULL PRIMARY KEY, "rule" VARCHAR(64) NOT NULL, "key" VARCHAR(160) NOT NULL, "severity" VARCHAR(10) NOT NULL, "message" TEXT NOT NULL, "state" VARCHAR(10) NOT NULL, "first_seen" REAL NOT NULL, "last_seen" REAL NOT NULL, "resolved_at" REAL, "data" TEXT NOT NULL);
CREATE INDEX "alert_key" ON "alert" ("key");
CREATE INDEX "alert_state" ON "alert" ("state");
CREATE TABLE "setting" ("key" VARCHAR(80) NOT NULL PRIMARY KEY, "value" TEXT NOT NULL);
CREATE TABLE "schema_migration" ("version" INTEGER NOT NULL PRIMARY KEY, "applied_at" REAL NOT NULL, "description" TEXT NOT NULL);
"""  # noqa: E501


def _step1_initial(db: peewee.SqliteDatabase) -> None:
    for statement in V1_SCHEMA.strip().split(";\n"):
        if statement.strip():
            db.execute_sql(statement.rstrip(";"))


def _step2_deadlines_cursors_audit_guard(db: peewee.SqliteDatabase) -> None:
    db.execute_sql('ALTER TABLE "outbox_op" ADD COLUMN "deadline_at" REAL')
    db.execute_sql(
        'CREATE TABLE "sync_cursor" ("entity_type" VARCHAR(40) NOT NULL PRIMARY KEY, '
        '"watermark" VARCHAR(40), "last_full_sync_at" REAL, "last_refresh_at" REAL)'
    )
    for trigger in V2_AUDIT_TRIGGERS:
        db.execute_sql(trigger)


# Written out, not derived from models, so the step stays what it was when shipped; the models
# declare the same indexes (`OutboxOp`, `AuditEvent`), so a fresh database matches a migrated one.
V3_INDEXES = (
    'CREATE INDEX "audit_event_op_id" ON "audit_event" ("op_id")',
    # Only rows that are not pending: pending rows (most live rows) are listed by walking the
    # primary key and claimed through the ready index, so an enqueue writes one index page less.
    'CREATE INDEX "outbox_op_state_id" ON "outbox_op" ("state", "id") WHERE "state" <> \'pending\'',
    'CREATE INDEX "outbox_op_pending_deadline" ON "outbox_op" '
    '("deadline_at", "priority", "next_attempt_at") '
    'WHERE "state" = \'pending\' AND "deadline_at" IS NOT NULL',
    # Narrowed to the rows that use them: an update of a known entity has no temp id and a
    # pending operation no lease, so neither index is written when such an operation is queued.
    'DROP INDEX "outbox_op_temp_id"',
    'CREATE INDEX "outbox_op_temp_id" ON "outbox_op" ("temp_id") WHERE "temp_id" IS NOT NULL',
    'DROP INDEX "outbox_op_state_lease_expires_at"',
    'CREATE INDEX "outbox_op_leased_expiry" ON "outbox_op" ("lease_expires_at") '
    "WHERE \"state\" = 'leased'",
)


def _step3_outbox_and_audit_indexes(db: peewee.SqliteDatabase) -> None:
    for statement in V3_INDEXES:
        db.execute_sql(statement)


def _step4_sealed_audit_values(db: peewee.SqliteDatabase) -> None:
    db.execute_sql('ALTER TABLE "audit_event" ADD COLUMN "values" BLOB')
    db.execute_sql('DROP TRIGGER IF EXISTS "audit_event_no_update"')
    for trigger in AUDIT_TRIGGERS:
        db.execute_sql(trigger)


# Written out like step 3 so the step stays what it was when shipped (`CreateAttempt` matches).
V5_CREATE_ATTEMPTS = (
    'CREATE TABLE "create_attempt" ("op_id" INTEGER NOT NULL PRIMARY KEY, '
    '"entity_type" VARCHAR(40) NOT NULL, "first_sent_at" REAL NOT NULL, '
    '"last_sent_at" REAL NOT NULL, "in_flight_until" REAL NOT NULL, "skew" REAL, '
    '"server_id" INTEGER, "settled_at" REAL)',
    'CREATE UNIQUE INDEX "create_attempt_entity_type_server_id" '
    'ON "create_attempt" ("entity_type", "server_id")',
)


def _step5_create_attempts(db: peewee.SqliteDatabase) -> None:
    for statement in V5_CREATE_ATTEMPTS:
        db.execute_sql(statement)


def _step6_skew_spread(db: peewee.SqliteDatabase) -> None:
    db.execute_sql('ALTER TABLE "create_attempt" ADD COLUMN "skew_spread" REAL NOT NULL DEFAULT 0')


def _step7_screened_records(db: peewee.SqliteDatabase) -> None:
    db.execute_sql(
        'CREATE TABLE "screened_record" ("entity_type" VARCHAR(40) NOT NULL, '
        '"field" VARCHAR(80) NOT NULL, "problem" VARCHAR(40) NOT NULL, '
        '"skipped" INTEGER NOT NULL, "count" INTEGER NOT NULL, "last_at" REAL NOT NULL, '
        'PRIMARY KEY ("entity_type", "field", "problem"))'
    )


# Written out like step 3 (`AuditAnchor` matches).
V8_AUDIT_ANCHOR = (
    'CREATE TABLE "audit_anchor" ("id" INTEGER NOT NULL PRIMARY KEY, "count" INTEGER NOT NULL, '
    '"head" CHAR(64) NOT NULL, "pruned" INTEGER NOT NULL, "at" REAL NOT NULL)',
)


def _step8_audit_anchor(db: peewee.SqliteDatabase) -> None:
    for statement in V8_AUDIT_ANCHOR:
        db.execute_sql(statement)


def _step9_sealed_error_columns(db: peewee.SqliteDatabase) -> None:
    """`outbox_op.last_error` and `reason` become payload columns (BLOB, sealed like the
    others): each clear text becomes its JSON form here, and the next open seals it (the open
    pass seals every plain payload, then vacuums, so no clear copy stays in the file)."""
    for column in ("last_error", "reason"):
        db.execute_sql(f'ALTER TABLE "outbox_op" ADD COLUMN "{column}_sealed" BLOB')
        db.execute_sql(
            f'UPDATE "outbox_op" SET "{column}_sealed" = CAST(json_quote("{column}") AS BLOB) '
            f'WHERE "{column}" IS NOT NULL'
        )
        db.execute_sql(f'ALTER TABLE "outbox_op" DROP COLUMN "{column}"')
        db.execute_sql(f'ALTER TABLE "outbox_op" RENAME COLUMN "{column}_sealed" TO "{column}"')


# Written out like step 3 (`StopwatchRun` matches): at most one stopwatch runs at a time. "IF NOT
# EXISTS": a file whose recorded version was set back below this step may already have them.
V13_STOPWATCH = (
    'CREATE TABLE IF NOT EXISTS "stopwatch_run" ("id" INTEGER NOT NULL PRIMARY KEY, '
    '"ticket_id" INTEGER NOT NULL, "resource_id" INTEGER, "started_at" REAL NOT NULL, '
    '"stopped_at" REAL, "role_id" INTEGER, "billing_code_id" INTEGER)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "stopwatch_run_one_running" ON "stopwatch_run" '
    '((1)) WHERE "stopped_at" IS NULL',
)


def _step13_stopwatch(db: peewee.SqliteDatabase) -> None:
    for statement in V13_STOPWATCH:
        db.execute_sql(statement)


# As `VisitIndex` declares it; "IF NOT EXISTS" for a file whose recorded version was set back.
V14_VISIT_INDEX = (
    'CREATE TABLE IF NOT EXISTS "visit_index" ("id" INTEGER NOT NULL PRIMARY KEY, '
    '"entity_type" VARCHAR(40) NOT NULL, "entity_id" INTEGER NOT NULL, "parent_id" INTEGER, '
    '"starts_at" REAL, "ends_at" REAL)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "visit_index_entity_type_entity_id" ON "visit_index" '
    '("entity_type", "entity_id")',
    'CREATE INDEX IF NOT EXISTS "visit_index_entity_type_parent_id" ON "visit_index" '
    '("entity_type", "parent_id")',
    'CREATE INDEX IF NOT EXISTS "visit_index_entity_type_starts_at" ON "visit_index" '
    '("entity_type", "starts_at")',
)


def _step14_visit_index(db: peewee.SqliteDatabase) -> None:
    for statement in V14_VISIT_INDEX:
        db.execute_sql(statement)


# As `AttachmentFile` declares it; "IF NOT EXISTS" for a file whose recorded version was set back.
V16_ATTACHMENTS = (
    'CREATE TABLE IF NOT EXISTS "attachment_file" ("id" INTEGER NOT NULL PRIMARY KEY, '
    '"blob" VARCHAR(64) NOT NULL, "op_id" INTEGER, "ticket_id" INTEGER NOT NULL, '
    '"size" INTEGER NOT NULL, "sealed" BLOB NOT NULL, "state" VARCHAR(16) NOT NULL, '
    '"captured_at" REAL NOT NULL, "sent_at" REAL, "done_at" REAL, "server_id" INTEGER)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "attachment_file_blob" ON "attachment_file" ("blob")',
    'CREATE INDEX IF NOT EXISTS "attachment_file_op_id" ON "attachment_file" ("op_id")',
    'CREATE INDEX IF NOT EXISTS "attachment_file_ticket_id" ON "attachment_file" ("ticket_id")',
    'CREATE INDEX IF NOT EXISTS "attachment_file_sent_at" ON "attachment_file" ("sent_at")',
)


def _step16_attachments(db: peewee.SqliteDatabase) -> None:
    for statement in V16_ATTACHMENTS:
        db.execute_sql(statement)


# The stopwatch table again, as `StopwatchRun` declares it: its ids never given twice
# (`AUTOINCREMENT`: a draft's number, once logged or discarded, must not name a later timer),
# and how far the clock was set back before the start when one was stopped.
V17_STOPWATCH = (
    'CREATE TABLE "stopwatch_run_v17" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, '
    '"ticket_id" INTEGER NOT NULL, "resource_id" INTEGER, "started_at" REAL NOT NULL, '
    '"stopped_at" REAL, "role_id" INTEGER, "billing_code_id" INTEGER, "clock_set_back" REAL)',
    'INSERT INTO "stopwatch_run_v17" ("id", "ticket_id", "resource_id", "started_at", '
    '"stopped_at", "role_id", "billing_code_id") SELECT "id", "ticket_id", "resource_id", '
    '"started_at", "stopped_at", "role_id", "billing_code_id" FROM "stopwatch_run"',
    'DROP TABLE "stopwatch_run"',
    'ALTER TABLE "stopwatch_run_v17" RENAME TO "stopwatch_run"',
    'CREATE UNIQUE INDEX "stopwatch_run_one_running" ON "stopwatch_run" '
    '((1)) WHERE "stopped_at" IS NULL',
    # Numbers already given and gone: at most one per timer started (each start is audited),
    # and at least the highest still stored.
    "DELETE FROM sqlite_sequence WHERE name IN ('stopwatch_run', 'stopwatch_run_v17')",
    "INSERT INTO sqlite_sequence (name, seq) SELECT 'stopwatch_run', MAX("
    '(SELECT COALESCE(MAX("id"), 0) FROM "stopwatch_run"), '
    '(SELECT COUNT(*) FROM "audit_event" WHERE "action" = \'timer_started\'))',
)


def _step17_stopwatch(db: peewee.SqliteDatabase) -> None:
    for statement in V17_STOPWATCH:
        db.execute_sql(statement)


Step = Callable[[peewee.SqliteDatabase], None]
LADDER: list[tuple[int, str, Step]] = [
    (1, "initial schema", _step1_initial),
    (2, "outbox deadlines, sync cursors, append-only audit", _step2_deadlines_cursors_audit_guard),
    (3, "outbox and audit indexes", _step3_outbox_and_audit_indexes),
    (4, "sealed audit values", _step4_sealed_audit_values),
    (5, "create attempts: send times and owned server ids", _step5_create_attempts),
    (6, "create attempts: how far the clock skew may be off", _step6_skew_spread),
    (7, "records from Autotask that were skipped or corrected", _step7_screened_records),
    (8, "audit trail: the database's copy of its anchor", _step8_audit_anchor),
    (9, "outbox errors and reasons sealed like payloads", _step9_sealed_error_columns),
    (13, "stopwatches on tickets, and their drafts", _step13_stopwatch),
    (14, "the technician's schedule and checklists, by time and parent", _step14_visit_index),
    (16, "photos and files attached to tickets, sealed in the profile", _step16_attachments),
    (17, "stopwatch numbers never given twice; a stop before the start", _step17_stopwatch),
]
LATEST = LADDER[-1][0]


class MigrationError(Exception):
    """The schema could not be brought to the current version; the backup is named."""


def current_version(db: peewee.SqliteDatabase) -> int:
    if "schema_migration" not in db.get_tables():
        return 0
    row = db.execute_sql('SELECT MAX("version") FROM "schema_migration"').fetchone()
    return int(row[0] or 0)


def create_fresh(db: peewee.SqliteDatabase) -> None:
    """Create the current schema from the models and record every step as applied."""
    with db.atomic():
        db.create_tables(ALL_MODELS)
        for trigger in AUDIT_TRIGGERS:
            db.execute_sql(trigger)
        now = time.time()
        for version, description, _ in LADDER:
            SchemaMigration.create(version=version, applied_at=now, description=description)


def backup_file(db: peewee.SqliteDatabase, path: Path, version: int) -> Path:
    """Copy the live database (WAL included) with SQLite's online backup, before any change."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = path.with_name(f"{path.name}.v{version}-{stamp}.bak")
    dest = sqlite3.connect(target)
    try:
        db.connection().backup(dest)
    finally:
        dest.close()
    return target


def migrate(db: peewee.SqliteDatabase, path: Path | None, *, upto: int = LATEST) -> int:
    """Bring the database to version `upto`; return the version it started at."""
    start = current_version(db)
    if start > LATEST:
        raise MigrationError(
            f"The database at {path} was written by a newer version of Field Sync "
            f"(schema {start}, this version knows {LATEST}). Update the program."
        )
    if start == 0 and not db.get_tables() and upto == LATEST:
        create_fresh(db)
        return 0
    pending = [s for s in LADDER if start < s[0] <= upto]
    if pending and path is not None and start > 0:
        backup_file(db, path, start)
    for version, description, step in pending:
        with db.atomic():
            step(db)
            db.execute_sql(
                'INSERT INTO "schema_migration" ("version", "applied_at", "description") '
                "VALUES (?, ?, ?)",
                (version, time.time(), description),
            )
    return start
