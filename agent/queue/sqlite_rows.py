"""The outbox table as raw SQL: column order, row decoding and the statements the hot paths run.

Enqueue and claim run on the store's writer thread through its raw sqlite3 connection (cached
prepared statements) rather than peewee queries: peewee builds and compiles SQL per call, which
costs more than the insert itself on the single-enqueue path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from agent.canonical import canonical_bytes, loads
from agent.queue.coalesce import COALESCED_INTO
from agent.queue.operation import LIVE_STATES, Operation, build_operation
from agent.security.errors import SealedPayloadError
from agent.store.codec import JsonCodec, get_codec, row_key
from agent.store.models import OpKind, OpState, Priority

COLUMNS = (
    "id, kind, entity_type, target_id, temp_id, parent_id, parent_temp_id, fields, base, "
    "priority, state, attempts, next_attempt_at, created_at, updated_at, deadline_at, "
    "fingerprint, lease_owner, lease_expires_at, outcome_unknown, last_error, error_category, "
    "reason, technician"
)
LIVE_IN = "(" + ",".join(f"'{s.value}'" for s in sorted(LIVE_STATES)) + ")"
BLOCKING_IN = "('pending','leased')"

INSERT = f"INSERT INTO outbox_op ({COLUMNS}) VALUES ({','.join('?' * 24)})"
UPDATE = (
    "UPDATE outbox_op SET kind=?, entity_type=?, target_id=?, temp_id=?, parent_id=?, "
    "parent_temp_id=?, fields=?, base=?, priority=?, state=?, attempts=?, next_attempt_at=?, "
    "created_at=?, updated_at=?, deadline_at=?, fingerprint=?, lease_owner=?, "
    "lease_expires_at=?, outcome_unknown=?, last_error=?, error_category=?, reason=?, "
    "technician=? WHERE id=?"
)
SELECT = f"SELECT {COLUMNS} FROM outbox_op"
BY_ID = SELECT + " WHERE id=?"
BY_IDS = SELECT + " WHERE id IN ({marks})"
# Every column but the change's payloads (the error and reason as stored, sealed), to tell
# whether a remembered operation is still the stored one.
SCALARS_BY_IDS = (
    "SELECT id, kind, entity_type, target_id, temp_id, parent_id, parent_temp_id, priority, "
    "state, attempts, next_attempt_at, created_at, updated_at, deadline_at, fingerprint, "
    "lease_owner, lease_expires_at, outcome_unknown, last_error, error_category, reason, "
    "technician FROM outbox_op WHERE id IN ({marks})"
)
SCALAR_COLUMNS = SCALARS_BY_IDS.removeprefix("SELECT ").split(" FROM ")[0].split(", ")
# Acknowledges one leased operation only while its row still holds every value the claim
# handed out (`scalars`): the UPDATE's row count tells whether it was stale.
ACKNOWLEDGE_UNCHANGED = (
    "UPDATE outbox_op SET state='done', lease_owner=NULL, lease_expires_at=NULL, "
    "outcome_unknown=0, updated_at=? WHERE id=? AND "
    + " AND ".join(f"{column} IS ?" for column in SCALAR_COLUMNS[1:])
)
ACKNOWLEDGE = (
    "UPDATE outbox_op SET state='done', lease_owner=NULL, lease_expires_at=NULL, "
    "outcome_unknown=0, updated_at=? WHERE id IN ({marks})"
)
LIVE_BY_FINGERPRINT = (
    SELECT + f" WHERE fingerprint=? AND state IN {LIVE_IN} ORDER BY id DESC LIMIT 1"
)
NEWEST_LIVE_ON_TARGET = (
    SELECT + f" WHERE entity_type=? AND target_id=? AND state IN {LIVE_IN} ORDER BY id DESC LIMIT 1"
)
NEWEST_LIVE_ON_TEMP = (
    SELECT + " WHERE temp_id=? AND target_id IS NULL AND entity_type=? "
    f"AND state IN {LIVE_IN} ORDER BY id DESC LIMIT 1"
)
CREATE_FOR_TEMP = SELECT + " WHERE temp_id=? AND kind='create' ORDER BY id DESC LIMIT 1"
DEPENDENTS = (
    SELECT + " WHERE id IN (SELECT op_id FROM op_dependency WHERE depends_on_id=?) ORDER BY id"
)
BACKGROUND_LIVE = (
    f"SELECT COUNT(*) FROM (SELECT 1 FROM outbox_op WHERE state IN {LIVE_IN} "
    "AND technician=0 LIMIT ?)"
)
INSERT_DEPENDENCY = "INSERT OR IGNORE INTO op_dependency (op_id, depends_on_id) VALUES (?, ?)"
LEVEL_PAGE = (
    SELECT + " WHERE state='pending' AND priority=? AND next_attempt_at<=? "
    "AND (next_attempt_at>? OR (next_attempt_at=? AND id>?)){extra} "
    "ORDER BY next_attempt_at, id LIMIT ?"
)
DEADLINE_PAGE = (
    SELECT
    + " INDEXED BY outbox_op_pending_deadline WHERE state='pending' AND deadline_at IS NOT NULL "
    "AND next_attempt_at<=? "
    "ORDER BY deadline_at, priority, next_attempt_at, id LIMIT ? OFFSET ?"
)
BLOCKED = (
    "SELECT c.id FROM outbox_op c WHERE c.id IN ({marks}) AND ("
    "EXISTS (SELECT 1 FROM outbox_op o WHERE o.entity_type=c.entity_type "
    f"AND o.target_id=c.target_id AND o.id<c.id AND o.state IN {BLOCKING_IN}) "
    "OR EXISTS (SELECT 1 FROM outbox_op o WHERE c.target_id IS NULL AND o.temp_id=c.temp_id "
    "AND o.target_id IS NULL AND o.entity_type=c.entity_type AND o.id<c.id "
    f"AND o.state IN {BLOCKING_IN}) "
    "OR EXISTS (SELECT 1 FROM op_dependency d JOIN outbox_op p ON p.id=d.depends_on_id "
    "WHERE d.op_id=c.id AND p.state<>'done'))"
)
LEASE = (
    "UPDATE outbox_op SET state='leased', lease_owner=?, lease_expires_at=?, "
    "attempts=attempts+1, updated_at=? WHERE id IN ({marks})"
)
EXPIRED_LEASES = (
    SELECT + " INDEXED BY outbox_op_leased_expiry WHERE state='leased' AND lease_expires_at<=?"
)
LEASES_HELD_BY = (
    SELECT
    + " INDEXED BY outbox_op_leased_expiry WHERE state='leased' AND lease_owner=?"
    + " AND lease_expires_at>?"
)
DEPENDS_ON = "SELECT op_id, depends_on_id FROM op_dependency WHERE op_id IN ({marks})"
HISTORY = (
    'SELECT id, action, at, op_id, detail, "values", hash FROM audit_event WHERE op_id=? '
    'UNION ALL SELECT id, action, at, op_id, detail, "values", hash FROM audit_event '
    "WHERE op_id=? AND action='coalesced' AND json_extract(detail, '$.from')=? ORDER BY 1"
)


def coalesced_into(reason: str | None) -> int | None:
    """The operation an absorbed one merged into, from its reason ("coalesced into #12")."""
    if reason is None or not reason.startswith(COALESCED_INTO):
        return None
    return int(reason[len(COALESCED_INTO) :])


NEXT_ID = "SELECT COALESCE(MAX(id), 0) + 1 FROM outbox_op"
FIELDS_COLUMN = "outbox_op.fields"
BASE_COLUMN = "outbox_op.base"
ERROR_COLUMN = "outbox_op.last_error"
REASON_COLUMN = "outbox_op.reason"
# What `JsonCodec.encode` / `decode` do, without the bound method call.
_plain_encode = canonical_bytes
_plain_decode = loads


def next_id(conn: sqlite3.Connection) -> int:
    """The id the next operation takes (its payloads are sealed for it before it is written;
    the single writer holds the write lock, so nothing takes it meanwhile)."""
    return int(conn.execute(NEXT_ID).fetchone()[0])


def op_row(op_id: int) -> bytes:
    """The row key an operation's payloads are bound to (`OutboxOp.Meta.row_key`)."""
    return row_key(op_id)


def sealed(
    op_id: int, fields: Any, base: Any, error: str | None = None, reason: str | None = None
) -> tuple[bytes, bytes, bytes | None, bytes | None]:
    """An operation's payload columns as stored, bound to its row (its id)."""
    codec = get_codec()
    if type(codec) is JsonCodec:  # binds nothing: the plain bytes, without the method calls
        return (
            _plain_encode(fields),
            _plain_encode(base),
            None if error is None else _plain_encode(error),
            None if reason is None else _plain_encode(reason),
        )
    row = op_row(op_id)
    encode = codec.encode
    return (
        encode(fields, FIELDS_COLUMN, row),
        encode(base, BASE_COLUMN, row),
        None if error is None else encode(error, ERROR_COLUMN, row),
        None if reason is None else encode(reason, REASON_COLUMN, row),
    )


def opened(row: Sequence[Any]) -> tuple[Any, Any, Any, Any]:
    """fields, base, last_error and reason of a row read with `COLUMNS`; raises
    `SealedPayloadError` (naming the operation) when one does not open."""
    codec = get_codec()
    error, reason = row[20], row[22]
    if type(codec) is JsonCodec:
        return (
            _plain_decode(row[7]),
            _plain_decode(row[8]),
            None if error is None else _plain_decode(error),
            None if reason is None else _plain_decode(reason),
        )
    key = op_row(row[0])
    decode = codec.decode
    return (
        decode(row[7], FIELDS_COLUMN, key),
        decode(row[8], BASE_COLUMN, key),
        None if error is None else decode(error, ERROR_COLUMN, key),
        None if reason is None else decode(reason, REASON_COLUMN, key),
    )


CANCEL_UNREADABLE = (
    "UPDATE outbox_op SET state='cancelled', reason=?, lease_owner=NULL, lease_expires_at=NULL, "
    "updated_at=? WHERE id=? AND state NOT IN ('done', 'cancelled')"
)
SET_ASIDE = (
    "UPDATE outbox_op SET state='parked', reason=?, lease_owner=NULL, lease_expires_at=NULL, "
    "updated_at=? WHERE id=? AND state='pending'"
)


def sealed_reason(op_id: int, reason: str) -> bytes:
    codec = get_codec()
    if type(codec) is JsonCodec:
        return _plain_encode(reason)
    return codec.encode(reason, REASON_COLUMN, op_row(op_id))


def open_reason(op_id: int, blob: bytes | None) -> str | None:
    if blob is None:
        return None
    reason: str | None = get_codec().decode(blob, REASON_COLUMN, op_row(op_id))
    return reason


def payload_decoder(column: str) -> Callable[[bytes, bytes], Any]:
    """The active codec's `decode` for `column`, taking the blob and its row's key."""
    codec = get_codec()
    if type(codec) is JsonCodec:
        return lambda blob, row: _plain_decode(blob)
    decode = codec.decode
    return lambda blob, row: decode(blob, column, row)


def marks(n: int) -> str:
    return ",".join("?" * n)


_KINDS = {k.value: k for k in OpKind}
_STATES = {s.value: s for s in OpState}
_PRIORITIES = {int(p): p for p in Priority}


def to_operation(row: Sequence[Any], depends_on: list[int] | None = None) -> Operation:
    fields, base, error, reason = opened(row)
    return _build(row, fields, base, error, reason, depends_on)


def unreadable_operation(
    row: Sequence[Any], problem: SealedPayloadError, depends_on: list[int] | None = None
) -> Operation:
    """What a list shows of an operation whose stored values do not open: every other column
    as stored, nothing to send, and the reason as its error."""
    return _build(row, {}, {}, str(problem), None, depends_on)


def _build(
    row: Sequence[Any],
    fields: Any,
    base: Any,
    error: Any,
    reason: Any,
    depends_on: list[int] | None,
) -> Operation:
    return build_operation(
        row[0],
        _KINDS[row[1]],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        fields,
        base,
        _PRIORITIES[row[9]],
        _STATES[row[10]],
        row[11],
        row[12],
        row[13],
        row[14],
        row[15],
        row[16],
        row[17],
        row[18],
        bool(row[19]),
        error,
        row[21],
        reason,
        bool(row[23]),
        depends_on if depends_on is not None else [],
    )


def values(op: Operation, op_id: int | None = None) -> tuple[Any, ...]:
    """Every column but the id, in `UPDATE` order (the id goes last there, first in `INSERT`);
    the payloads sealed for `op_id` (default: the operation's own id)."""
    fields, base, error, reason = sealed(
        op.id if op_id is None else op_id, op.fields, op.base, op.last_error, op.reason
    )
    return (
        *_head(op),
        fields,
        base,
        *_middle(op),
        error,
        op.error_category,
        reason,
        int(op.technician),
    )


def scalars(op: Operation, error: bytes | None, reason: bytes | None) -> tuple[Any, ...]:
    """What `SCALARS_BY_IDS` reads for `op` when the row holds exactly `op`, its error and
    reason stored as `error` and `reason`."""
    return (op.id, *_head(op), *_middle(op), error, op.error_category, reason, int(op.technician))


def _head(op: Operation) -> tuple[Any, ...]:
    """The columns before the payloads."""
    return (
        op.kind.value,
        op.entity_type,
        op.target_id,
        op.temp_id,
        op.parent_id,
        op.parent_temp_id,
    )


def _middle(op: Operation) -> tuple[Any, ...]:
    """The columns between the payloads and the error."""
    return (
        int(op.priority),
        op.state.value,
        op.attempts,
        op.next_attempt_at,
        op.created_at,
        op.updated_at,
        op.deadline_at,
        op.fingerprint,
        op.lease_owner,
        op.lease_expires_at,
        int(op.outcome_unknown),
    )
