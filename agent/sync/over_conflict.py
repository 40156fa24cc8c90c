"""An edit of a field whose earlier change is waiting on a conflict (or on its resolution).

Queued as an operation of its own, the new value would be sent against the technician's own
older value as its base: both would be asked about (two questions for one field), and keeping
"mine" would send the older value first and then find the newer one in conflict with it. So the
new value goes where the field already waits: it becomes "mine" in the open conflict (the one
question now shows what was typed last) and the value the waiting operation sends, with that
operation's base unchanged. A value equal to Autotask's settles the conflict (nothing is left to
ask). Fields of the edit that nothing holds back are queued as usual, so they go at once; none
of them is also held by the waiting operation, so no older value follows a newer one.

Runs inside the capture's write (one transaction with the overlay and the audit event).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from agent.queue.operation import NewOperation, Operation, OpQuery
from agent.queue.outbox import Outbox
from agent.store import audit
from agent.store.models import Conflict, ConflictStatus, OpKind, OpState
from agent.sync import localview, outcomes
from agent.sync.conflicts import ConflictDesk
from agent.sync.merge import same

# Operations an edit's field may join: one parked on a conflict, or one still queued on which a
# pull flagged a conflict early. One in flight (leased) or whose outcome is unknown is never
# changed: what it carries may already be on the server.
_WAITING = frozenset({OpState.CONFLICT, OpState.PENDING})


@dataclass(frozen=True)
class Absorbed:
    """What the waiting operations took of an edit: `held` (op id -> fields it now sends) and
    `rest`, the edit without those fields (None when nothing is left to queue)."""

    held: dict[int, dict[str, Any]]
    rest: NewOperation | None


def _waiting_ops(outbox: Outbox, new: NewOperation) -> list[Operation]:
    query = OpQuery(
        states=_WAITING, entity_type=new.entity_type, target_id=new.target_id, limit=100
    )
    return [
        op
        for op in outbox.list_ops(query).items
        if op.kind is OpKind.UPDATE and not op.outcome_unknown
    ]


def _open_conflicts(new: NewOperation) -> dict[tuple[int, str], Conflict]:
    rows = Conflict.select().where(
        (Conflict.entity_type == new.entity_type)
        & (Conflict.entity_id == new.target_id)
        & (Conflict.status == ConflictStatus.OPEN)
        & (Conflict.kind == outcomes.FIELD)
        & Conflict.op.is_null(False)
    )
    return {(int(c.op_id), str(c.field)): c for c in rows}


def absorb(outbox: Outbox, desk: ConflictDesk, new: NewOperation, now: float) -> Absorbed | None:
    """Put each field of the update `new` that a waiting operation holds into that operation
    (and its open conflict); None when no field of it is held back."""
    if new.kind is not OpKind.UPDATE or new.target_id is None:
        return None
    conflicts = _open_conflicts(new)
    holder: dict[str, Operation] = {}
    for op in _waiting_ops(outbox, new):  # ascending ids: the newest holder wins
        for name in op.fields:
            if op.state is OpState.CONFLICT or (op.id, name) in conflicts:
                holder[name] = op
    taken = {f: v for f, v in new.fields.items() if f in holder}
    if not taken:
        return None
    key = str(new.target_id)
    held: dict[int, dict[str, Any]] = {}
    for name, value in taken.items():
        held.setdefault(holder[name].id, {})[name] = value
    for op_id, values in held.items():
        op = holder[next(iter(values))]
        outbox.rewrite(op_id, fields={**op.fields, **values}, base=dict(op.base))
        localview.set_overlay(new.entity_type, key, values, op_id, now)
        for name, value in values.items():
            c = conflicts.get((op_id, name))
            if c is not None:
                _replace_mine(desk, c, value, now)
    rest = {f: v for f, v in new.fields.items() if f not in taken}
    base = {f: v for f, v in new.base.items() if f in rest}
    left = replace(new, fields=rest, base=base) if rest else None
    return Absorbed(held, left)


def _replace_mine(desk: ConflictDesk, c: Conflict, value: Any, now: float) -> None:
    """The conflict now asks about `value`; one equal to Autotask's leaves nothing to ask, so it
    is resolved by keeping Autotask's value (the change of that field is dropped)."""
    c.mine, c.mine_at = value, now
    c.save()
    audit.append(
        "conflict_updated",
        at=now,
        entity_type=c.entity_type,
        entity_id=c.entity_id,
        op_id=c.op_id,
        detail={"field": c.field, "mine": value, "theirs": c.theirs, "reason": "typed again"},
    )
    if same(value, c.theirs):
        desk.resolve_here(c.id, "theirs")
