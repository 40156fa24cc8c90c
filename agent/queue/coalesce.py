"""Enqueueing by the outbox's rules: deduplicate, resolve temporary ids, coalesce, or insert.

Rules, in order:
1. An identical live operation (same fingerprint) is returned instead of queueing a copy, when
   nothing newer is queued on its entity (a value typed back after another must go after it).
2. A reference to a not yet created entity (a `temp_id` target or `parent_temp_id`) either
   becomes the server id (its create is done) or a dependency on that create.
3. A delete of an entity whose create has not left yet cancels both: nothing is sent.
4. An update of an entity whose newest live operation is a pending create or update merges into
   it: later values win, each field's base stays the earliest. An operation already leased (in
   flight) or whose outcome is unknown is never merged into.
Every merge and cancellation is recorded through `Ledger.record`, naming both operations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.queue.errors import QueueFullError, UnknownTempIdError
from agent.queue.fingerprint import fingerprint
from agent.queue.ledger import Ledger
from agent.queue.lifecycle import cancel_cascade
from agent.queue.operation import (
    KIND_TEXT,
    NewOperation,
    Operation,
    build_operation,
    entity_key,
)
from agent.store.models import OpKind, OpState

CREATED_AND_DELETED = "created and deleted before sync"
COALESCED_INTO = "coalesced into #"  # + the id of the operation an absorbed one merged into


def fingerprint_of(new: NewOperation) -> str:
    return fingerprint(
        new.entity_type,
        KIND_TEXT[new.kind],
        new.target_id,
        new.temp_id,
        new.parent_id,
        new.parent_temp_id,
        new.fields,
    )


def is_direct(new: NewOperation, capacity: int | None) -> bool:
    """Whether queueing `new` needs no rule beyond "insert a pending row" once nothing live is
    found on its entity (or, for a create, no live duplicate): it refers to no temporary id and
    capacity does not apply to it. A live duplicate of an operation naming its target always
    lives on that target (the fingerprint covers the target id), so one lookup answers both."""
    if new.parent_temp_id is not None or (capacity is not None and not new.technician):
        return False
    return new.kind is OpKind.CREATE or new.target_id is not None


def independent(news: Sequence[NewOperation], fps: Sequence[str]) -> bool:
    """No two operations of the batch are identical or name the same target, so (when each is
    direct) none of them can change what the rules decide for another."""
    targets = [(n.entity_type, n.target_id) for n in news if n.kind is not OpKind.CREATE]
    return len(set(fps)) == len(fps) and len(set(targets)) == len(targets)


def pending_operation(op_id: int, new: NewOperation, fp: str, now: float) -> Operation:
    """`new` as the pending operation `op_id` that the direct path inserts."""
    return build_operation(
        op_id,
        new.kind,
        new.entity_type,
        new.target_id,
        new.temp_id,
        new.parent_id,
        None,
        dict(new.fields),
        dict(new.base),
        new.priority,
        OpState.PENDING,
        0,
        now,
        now,
        now,
        new.deadline_at,
        fp,
        None,
        None,
        False,
        None,
        None,
        None,
        new.technician,
        [],
    )


def _resolve(ledger: Ledger, temp_id: str) -> tuple[int | None, int | None]:
    """(server id, None) when the create is done, (None, create op id) while it is pending."""
    create = ledger.create_for_temp(temp_id)
    if create is None or create.state is OpState.CANCELLED:
        raise UnknownTempIdError(temp_id)
    if create.state is OpState.DONE and create.target_id is not None:
        return create.target_id, None
    return None, create.id


def _new_row(new: NewOperation, fp: str, now: float, **overrides: Any) -> Operation:
    row: dict[str, Any] = dict(
        id=0,
        kind=new.kind,
        entity_type=new.entity_type,
        target_id=new.target_id,
        temp_id=new.temp_id,
        parent_id=new.parent_id,
        parent_temp_id=new.parent_temp_id,
        fields=dict(new.fields),
        base=dict(new.base),
        priority=new.priority,
        state=OpState.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
        deadline_at=new.deadline_at,
        fingerprint=fp,
        technician=new.technician,
    )
    row.update(overrides)
    return Operation(**row)


def _merge(into: Operation, new: NewOperation, now: float) -> Operation:
    fields = {**into.fields, **new.fields}
    # A create has no base (nothing existed); an update keeps the earliest base of each field.
    base = into.base if into.kind is OpKind.CREATE else {**new.base, **into.base}
    deadlines = [d for d in (into.deadline_at, new.deadline_at) if d is not None]
    fp = fingerprint(
        into.entity_type,
        into.kind.value,
        into.target_id,
        into.temp_id,
        into.parent_id,
        into.parent_temp_id,
        fields,
    )
    return into.evolve(
        fields=fields,
        base=base,
        fingerprint=fp,
        priority=min(into.priority, new.priority),
        deadline_at=min(deadlines) if deadlines else None,
        technician=into.technician or new.technician,
        updated_at=now,
    )


def _last_word(ledger: Ledger, op: Operation) -> bool:
    """Whether nothing newer is queued on `op`'s entity: only then is an identical edit the
    same as `op`. B, then C, then B again must send B after C, not fold into the first B."""
    newest = ledger.newest_live_on_entity(op.entity_type, op.entity_key)
    return newest is None or newest.id == op.id


def enqueue(
    ledger: Ledger, new: NewOperation, *, capacity: int | None, fp: str | None = None
) -> Operation:
    """Queue `new` by the rules above and return the operation that now carries it."""
    now = ledger.now
    fp = fp or fingerprint_of(new)
    duplicate = ledger.live_by_fingerprint(fp)
    if duplicate is not None and (duplicate.kind is OpKind.CREATE or _last_word(ledger, duplicate)):
        return duplicate
    if (
        capacity is not None
        and not new.technician
        and ledger.background_live_count(capacity) >= capacity
    ):
        raise QueueFullError(capacity)

    target_id, parent_id, depends_on = new.target_id, new.parent_id, []
    if new.kind is not OpKind.CREATE and target_id is None and new.temp_id is not None:
        target_id, waits_for = _resolve(ledger, new.temp_id)
        if waits_for is not None:
            depends_on.append(waits_for)
    if new.parent_temp_id is not None and parent_id is None:
        parent_id, waits_for = _resolve(ledger, new.parent_temp_id)
        if waits_for is not None and waits_for not in depends_on:
            depends_on.append(waits_for)
    temp_key = new.temp_id if target_id is None else None
    newest = ledger.newest_live_on_entity(new.entity_type, entity_key(target_id, temp_key))

    if (
        new.kind is OpKind.DELETE
        and target_id is None
        and depends_on
        and (create := ledger.get(depends_on[0])) is not None
        and create.state is OpState.PENDING
        and not create.outcome_unknown
    ):
        cancel_cascade(ledger, create, CREATED_AND_DELETED)
        gone = ledger.insert(
            _new_row(new, fp, now, state=OpState.CANCELLED, reason=CREATED_AND_DELETED)
        )
        ledger.record("cancelled", gone, {"reason": CREATED_AND_DELETED, "create": create.id})
        return gone

    if (
        new.kind is OpKind.UPDATE
        and newest is not None
        and newest.state is OpState.PENDING
        and newest.kind in (OpKind.CREATE, OpKind.UPDATE)
        and not newest.outcome_unknown
    ):
        merged = _merge(newest, new, now)
        ledger.save(newest, merged)
        absorbed = ledger.insert(
            _new_row(
                new,
                fp,
                now,
                target_id=target_id,
                parent_id=parent_id,
                state=OpState.CANCELLED,
                reason=f"{COALESCED_INTO}{newest.id}",
            )
        )
        ledger.record(
            "coalesced",
            merged,
            {"into": merged.id, "from": absorbed.id, "fields": sorted(new.fields)},
        )
        return merged

    op = ledger.insert(
        _new_row(new, fp, now, target_id=target_id, parent_id=parent_id, depends_on=depends_on)
    )
    ledger.record("enqueued", op, {"kind": op.kind.value, "priority": op.priority.name.lower()})
    return op
