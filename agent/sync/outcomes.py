"""Turning one operation's result into store changes: cache, overlay, conflicts, audit, outbox.

Shared by push, pull (early conflicts) and reconciliation so a result is recorded the same way
whichever path saw it. Every function runs inside `store.write` (one transaction).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.autotask.screening import CHANGE_MARKERS
from agent.queue.operation import Operation
from agent.queue.outbox import Outbox
from agent.store import audit
from agent.store.models import CachedEntity, Conflict, ConflictStatus, OpKind
from agent.sync import attempts, localview
from agent.sync.merge import FieldDecision

# The kinds of conflict: a field both sides changed, a record deleted on the server while changed
# here, and a record changed on the server while deleted here.
FIELD, DELETED, CHANGED = "field", "deleted", "changed"
KINDS = frozenset({FIELD, DELETED, CHANGED})
# The change marker of each entity (the client's screening clamps them to the server's clock).
MARKERS = CHANGE_MARKERS


def succeeded(
    outbox: Outbox,
    op: Operation,
    *,
    now: float,
    server_id: int | None,
    server_values: Mapping[str, Any] | None,
    sent: Mapping[str, Any],
    reason: str,
) -> None:
    """The server has the operation's effect: cache it, drop the overlay, complete the op."""
    key = op.entity_key
    if op.kind is OpKind.DELETE:
        target = op.target_id if op.target_id is not None else server_id
        if target is not None:
            CachedEntity.delete().where(
                (CachedEntity.entity_type == op.entity_type) & (CachedEntity.entity_id == target)
            ).execute()
        localview.clear_overlay(op.entity_type, key)
    else:
        entity_id = server_id if server_id is not None else op.target_id
        if entity_id is not None:
            data = dict(server_values or {})
            data.update(sent)
            data["id"] = entity_id
            # What we wrote moved the change marker to a value we have not seen: mark stale so
            # the next refresh reads it (cheaper than a GET after every PATCH).
            localview.cache_put(
                op.entity_type, data, now, MARKERS.get(op.entity_type), stale=bool(sent)
            )
        if op.kind is OpKind.CREATE and op.temp_id is not None and server_id is not None:
            localview.clear_overlay(op.entity_type, key, op_id=op.id)
            localview.clear_overlay(op.entity_type, key, fields=list(op.fields))
            localview.rekey_overlay(op.entity_type, op.temp_id, server_id)
        else:
            localview.clear_overlay(op.entity_type, key, op_id=op.id)
    if op.kind is OpKind.CREATE and server_id is not None:
        attempts.own(op, server_id, now)
    outbox.acknowledge(op.id, server_id)
    audit.append(
        "succeeded",
        at=now,
        entity_type=op.entity_type,
        entity_id=server_id if server_id is not None else key,
        op_id=op.id,
        detail={"kind": op.kind.value, "sent": dict(sent), "reason": reason},
    )


def seen_in_conflict(op: Operation, theirs: Mapping[str, Any], now: float) -> None:
    """Cache the server's record read for a merge that found conflicts (marked stale, so the
    next refresh reads it properly)."""
    if op.target_id is None or not theirs:
        return
    data = {**theirs, "id": int(op.target_id)}
    localview.cache_put(op.entity_type, data, now, MARKERS.get(op.entity_type), stale=True)


def sent_part(
    op: Operation, theirs: Mapping[str, Any], sent: Mapping[str, Any], now: float, reason: str
) -> None:
    """Part of an update reached the server while the rest stays queued (refused or in
    conflict): cache what was sent, drop the pending values of the sent fields, audit it."""
    if not sent or op.target_id is None:
        return
    data = {**theirs, **sent, "id": int(op.target_id)}
    localview.cache_put(op.entity_type, data, now, MARKERS.get(op.entity_type), stale=True)
    localview.clear_overlay(op.entity_type, op.entity_key, fields=list(sent), op_id=op.id)
    audit.append(
        "succeeded",
        at=now,
        entity_type=op.entity_type,
        entity_id=op.entity_key,
        op_id=op.id,
        detail={"kind": op.kind.value, "sent": dict(sent), "reason": reason},
    )


def settle_stale_conflicts(op: Operation, now: float) -> None:
    """Conflicts flagged early (by a pull) that the push then found settled close by themselves:
    the server and the technician ended up agreeing, or only one side had changed."""
    stale = Conflict.select().where(
        (Conflict.op == op.id) & (Conflict.status == ConflictStatus.OPEN)
    )
    for c in stale:
        c.status, c.resolution, c.resolved_at = ConflictStatus.RESOLVED, "settled", now
        c.save()
        audit.append(
            "conflict_resolved",
            at=now,
            entity_type=c.entity_type,
            entity_id=c.entity_id,
            op_id=op.id,
            detail={
                "field": c.field,
                "choice": "settled",
                "mine": c.mine,
                "theirs": c.theirs,
                "reason": "settled by the merge at push",
            },
        )


# The field in which Autotask says who last changed a record of each type.
CHANGED_BY_FIELDS = {"Tickets": "lastActivityResourceID", "TimeEntries": "lastModifiedUserID"}


def changed_by(entity_type: str, theirs: Mapping[str, Any] | None) -> int | None:
    """The resource the server names as the last to change `theirs`, if it names one."""
    name = CHANGED_BY_FIELDS.get(entity_type)
    value = theirs.get(name) if theirs is not None and name is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def flag_conflicts(
    op: Operation,
    conflicts: tuple[FieldDecision, ...],
    *,
    now: float,
    theirs_read_at: float,
    theirs: Mapping[str, Any] | None = None,
) -> int:
    """Record (or refresh) an open Conflict per field; returns how many are new. `theirs`, the
    server's record as read, names who changed it (kept in the audit event: the cached record
    may later name someone else, e.g. the technician whose other field was sent since)."""
    by = changed_by(op.entity_type, theirs)
    entity_id = int(op.target_id) if op.target_id is not None else 0
    new = 0
    for c in conflicts:
        existing = Conflict.get_or_none(
            (Conflict.op == op.id)
            & (Conflict.field == c.field)
            & (Conflict.status == ConflictStatus.OPEN)
        )
        if existing is not None:  # seen again (e.g. pull then push): refresh theirs only
            existing.theirs = c.theirs
            existing.theirs_read_at = theirs_read_at
            existing.save()
            continue
        new += 1
        Conflict.create(
            op=op.id,
            entity_type=op.entity_type,
            entity_id=entity_id,
            field=c.field,
            kind="field",
            base=c.base,
            mine=c.mine,
            theirs=c.theirs,
            base_read_at=op.created_at,
            mine_at=op.updated_at,
            theirs_read_at=theirs_read_at,
            detected_at=now,
        )
        audit.append(
            "conflict_detected",
            at=now,
            entity_type=op.entity_type,
            entity_id=entity_id,
            op_id=op.id,
            detail={
                "field": c.field,
                "base": c.base,
                "mine": c.mine,
                "theirs": c.theirs,
                "reason": c.reason,
                **({"changed_by": by} if by is not None else {}),
            },
        )
    return new


def record_conflicts(
    outbox: Outbox,
    op: Operation,
    conflicts: tuple[FieldDecision, ...],
    *,
    now: float,
    theirs_read_at: float,
    remaining: Mapping[str, Any],
    remaining_base: Mapping[str, Any],
    theirs: Mapping[str, Any] | None = None,
) -> None:
    """Park `op` as a conflict on the given fields, keeping only those fields in it."""
    flag_conflicts(op, conflicts, now=now, theirs_read_at=theirs_read_at, theirs=theirs)
    outbox.rewrite(op.id, fields=dict(remaining), base=dict(remaining_base))
    reason = "conflict: " + ", ".join(c.field for c in conflicts)
    outbox.park(op.id, reason, conflict=True, outcome_unknown=False)


def record_deleted_on_server(outbox: Outbox, op: Operation, *, now: float) -> None:
    entity_id = int(op.target_id) if op.target_id is not None else 0
    CachedEntity.update(deleted_on_server=True).where(
        (CachedEntity.entity_type == op.entity_type) & (CachedEntity.entity_id == entity_id)
    ).execute()
    if (
        Conflict.get_or_none(
            (Conflict.op == op.id)
            & (Conflict.kind == "deleted")
            & (Conflict.status == ConflictStatus.OPEN)
        )
        is None
    ):
        Conflict.create(
            op=op.id,
            entity_type=op.entity_type,
            entity_id=entity_id,
            field="*",
            kind="deleted",
            base=dict(op.base),
            mine=dict(op.fields),
            theirs=None,
            base_read_at=op.created_at,
            mine_at=op.updated_at,
            theirs_read_at=now,
            detected_at=now,
        )
        audit.append(
            "conflict_detected",
            at=now,
            entity_type=op.entity_type,
            entity_id=entity_id,
            op_id=op.id,
            detail={"kind": "deleted_on_server", "mine": dict(op.fields)},
        )
    outbox.park(
        op.id, "deleted on the server while edited here", conflict=True, outcome_unknown=False
    )


def record_changed_on_server(
    outbox: Outbox,
    op: Operation,
    changed: Mapping[str, Any],
    *,
    theirs: Mapping[str, Any],
    now: float,
    read_at: float,
) -> None:
    """A delete whose record the server changed since the technician last saw it (`changed`:
    those fields, with the server's values): nothing is deleted; the technician keeps
    Autotask's version or deletes it anyway."""
    entity_id = int(op.target_id) if op.target_id is not None else 0
    seen_in_conflict(op, theirs, now)
    base = {f: op.base.get(f) for f in changed}
    existing = Conflict.get_or_none(
        (Conflict.op == op.id)
        & (Conflict.kind == CHANGED)
        & (Conflict.status == ConflictStatus.OPEN)
    )
    if existing is not None:  # seen again: refresh theirs only
        existing.theirs, existing.theirs_read_at = dict(changed), read_at
        existing.save()
    else:
        Conflict.create(
            op=op.id,
            entity_type=op.entity_type,
            entity_id=entity_id,
            field="*",
            kind=CHANGED,
            base=base,
            mine=None,
            theirs=dict(changed),
            base_read_at=op.created_at,
            mine_at=op.updated_at,
            theirs_read_at=read_at,
            detected_at=now,
        )
        by = changed_by(op.entity_type, theirs)
        audit.append(
            "conflict_detected",
            at=now,
            entity_type=op.entity_type,
            entity_id=entity_id,
            op_id=op.id,
            detail={
                "kind": "changed_on_server",
                "field": "*",
                "base": base,
                "theirs": dict(changed),
                "reason": "deleted here, changed in Autotask since",
                **({"changed_by": by} if by is not None else {}),
            },
        )
    outbox.park(
        op.id,
        "changed in Autotask since it was deleted here: " + ", ".join(sorted(changed)),
        conflict=True,
        outcome_unknown=False,
    )


def failed(
    outbox: Outbox,
    op: Operation,
    *,
    now: float,
    category: str,
    action: str,
    message: str,
    retry_at: float | None,
    outcome_unknown: bool,
) -> None:
    """Record a failed attempt: back to the queue at `retry_at`, or parked for attention.

    `outcome_unknown` is this attempt's. Back in the queue, an earlier attempt that may have
    landed (`op` as it was claimed) stays uncertain: this failure says nothing about it, and
    an edit made meanwhile must not be merged into it (`agent.queue.coalesce`)."""
    if action == "park_needs_attention":
        outbox.park(
            op.id, message, error=message, category=category, outcome_unknown=outcome_unknown
        )
    else:
        outbox.release(
            op.id,
            retry_at if retry_at is not None else now,
            message,
            category,
            outcome_unknown=outcome_unknown or op.outcome_unknown,
        )
    audit.append(
        "failed",
        at=now,
        entity_type=op.entity_type,
        entity_id=op.entity_key,
        op_id=op.id,
        detail={
            "category": category,
            "action": action,
            "message": message,
            "outcome_unknown": outcome_unknown,
        },
    )
