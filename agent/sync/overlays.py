"""The invariant behind every "pending" the technician sees: each overlay value is owned by a live
operation that still carries that field (or, for a local delete, is that delete).

An overlay value that outlives its operation (finished, cancelled, absent from the outbox, or
rewritten so it no longer sends that field) would show "pending" forever with nothing left to
send. The write paths clear overlays as operations end; `repair` is the check that runs at start
and in the soaks, and after bulk cancellations whose cascade the caller does not see. It removes
each orphan, logs it and records it in the audit trail. Runs inside a store write.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from agent.queue.operation import FINISHED_STATES, LIVE_STATES, Operation, OpQuery
from agent.queue.outbox import Outbox
from agent.security.errors import SealedPayloadError
from agent.store import audit
from agent.store.models import OpKind, OpState, OverlayValue
from agent.sync import localview

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Orphan:
    entity_type: str
    entity_key: str
    field: str
    op_id: int | None
    why: str
    ended: bool = False  # its operation finished or was cancelled (the normal way to end)


def _why(op: Operation | None, field: str, op_id: int | None) -> str | None:
    """Why an overlay value on `field` has no owner (None when `op` owns it)."""
    if op_id is None:
        return "no operation owns it"
    if op is None:
        return f"operation #{op_id} no longer exists"
    if not op.is_live:
        return f"operation #{op_id} has ended ({op.state.value})"
    if field == localview.DELETED:
        return None if op.kind is OpKind.DELETE else f"operation #{op_id} is not a delete"
    if field not in op.fields:
        return f"operation #{op_id} no longer sends {field}"
    return None


def find(outbox: Outbox) -> list[Orphan]:
    """Every overlay value no live operation owns (reads only)."""
    rows = list(
        OverlayValue.select(
            OverlayValue.entity_type,
            OverlayValue.entity_key,
            OverlayValue.field,
            OverlayValue.op_id,
        ).tuples()
    )
    ops: dict[int, Operation | OpState | None] = {}
    out = []
    for entity_type, key, field, op_id in rows:
        if op_id is not None and op_id not in ops:
            ops[op_id] = _operation(outbox, op_id)
        op = ops.get(op_id) if op_id is not None else None
        if isinstance(op, OpState):  # its stored values do not open: judged by state alone
            if op not in FINISHED_STATES:
                continue  # still owned; the queue shows why it cannot be sent
            out.append(
                Orphan(entity_type, key, field, op_id, f"operation #{op_id} has ended", True)
            )
            continue
        why = _why(op, field, op_id)
        if why is not None:
            ended = op is not None and not op.is_live
            out.append(Orphan(entity_type, key, field, op_id, why, ended))
    return out


def _operation(outbox: Outbox, op_id: int) -> Operation | OpState | None:
    """The operation, or only its state when its stored values do not open (changed on disk):
    one such operation must not stop the check, nor the start that runs it."""
    try:
        return outbox.get(op_id)
    except SealedPayloadError:
        state_of = getattr(outbox, "state_of", None)
        state: OpState | None = state_of(op_id) if state_of is not None else None
        return state if state is not None else OpState.PARKED


def clear_ended(outbox: Outbox) -> int:
    """After cancelling (which cascades to dependents the caller does not see): drop the
    pending values of every operation that has ended. Returns how many were dropped."""
    ended = [o for o in find(outbox) if o.ended]
    for o in ended:
        localview.clear_overlay(o.entity_type, o.entity_key, fields=[o.field], op_id=o.op_id)
    return len(ended)


def unshown(outbox: Outbox) -> list[tuple[Operation, str]]:
    """The other way round: fields a live update or create still sends that show no pending
    value (the newest operation of a field first wins its value, as capture sets it)."""
    shown = {
        (t, k, f)
        for t, k, f in OverlayValue.select(
            OverlayValue.entity_type, OverlayValue.entity_key, OverlayValue.field
        ).tuples()
    }
    missing: dict[tuple[str, str, str], tuple[Operation, str]] = {}
    after: int | None = None
    while True:
        page = outbox.list_ops(OpQuery(states=LIVE_STATES, after_id=after, limit=500))
        for op in page.items:
            if op.kind is OpKind.DELETE:
                continue
            for name in op.fields:
                at = (op.entity_type, op.entity_key, name)
                if at not in shown:
                    missing[at] = (op, name)  # ascending ids: the newest is kept
        if page.next_after_id is None:
            return list(missing.values())
        after = page.next_after_id


def repair(outbox: Outbox, now: float, *, when: str) -> list[Orphan]:
    """Remove every orphaned overlay value, and show again every value a live operation still
    sends that shows none; each repair is logged and audited."""
    for op, name in unshown(outbox):
        localview.set_overlay(op.entity_type, op.entity_key, {name: op.fields[name]}, op.id, now)
        log.warning(
            "pending value shown again (%s): %s %s field %s of operation #%s",
            when,
            op.entity_type,
            op.entity_key,
            name,
            op.id,
        )
        audit.append(
            "overlay_repaired",
            at=now,
            entity_type=op.entity_type,
            entity_id=op.entity_key,
            op_id=op.id,
            detail={
                "field": name,
                "why": "a change still queued showed no pending value",
                "when": when,
            },
        )
    orphans = find(outbox)
    for o in orphans:
        OverlayValue.delete().where(
            (OverlayValue.entity_type == o.entity_type)
            & (OverlayValue.entity_key == o.entity_key)
            & (OverlayValue.field == o.field)
        ).execute()
        log.warning(
            "pending value repaired (%s): %s %s field %s: %s",
            when,
            o.entity_type,
            o.entity_key,
            o.field,
            o.why,
        )
        audit.append(
            "overlay_repaired",
            at=now,
            entity_type=o.entity_type,
            entity_id=o.entity_key,
            op_id=o.op_id,
            detail={"field": o.field, "why": o.why, "when": when},
        )
    return orphans
