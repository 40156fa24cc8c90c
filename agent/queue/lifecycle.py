"""What happens to an operation after it is queued: lease, acknowledge, retry, park, cancel.

Each function reads through a `Ledger` and writes the new version back, so every backend applies
the same rules inside its own atomic unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.queue.errors import InvalidOperationError, OperationNotFound
from agent.queue.fingerprint import fingerprint
from agent.queue.ledger import Ledger
from agent.queue.operation import FINISHED_STATES, LIVE_STATES, Operation, evolver
from agent.store.models import OpKind, OpState, Priority


def _get(ledger: Ledger, op_id: int) -> Operation:
    op = ledger.get(op_id)
    if op is None:
        raise OperationNotFound(op_id)
    return op


_leased = evolver("state", "lease_owner", "lease_expires_at", "attempts", "updated_at")
_done = evolver(
    "state", "target_id", "lease_owner", "lease_expires_at", "outcome_unknown", "updated_at"
)


def leased(op: Operation, owner: str, until: float, now: float) -> Operation:
    return _leased(op, OpState.LEASED, owner, until, op.attempts + 1, now)


def expired(op: Operation, now: float) -> Operation:
    """A lease that ran out returns its op to pending; `outcome_unknown` (set by `mark_sent`)
    survives, so the sync engine asks the server whether the write landed before retrying."""
    return op.evolve(state=OpState.PENDING, lease_owner=None, lease_expires_at=None, updated_at=now)


def done_version(op: Operation, target_id: int | None, now: float) -> Operation:
    """`op` as acknowledged (unchanged when it already was)."""
    if op.state is OpState.DONE:
        return op
    return _done(op, OpState.DONE, target_id, None, None, False, now)


def acknowledge(ledger: Ledger, op_id: int, server_id: int | None = None) -> Operation:
    """Mark done; a create's server id is written into every operation that waited for it."""
    op = _get(ledger, op_id)
    if op.state is OpState.DONE:
        return op
    target = server_id if op.kind is OpKind.CREATE and server_id is not None else op.target_id
    done = done_version(op, target, ledger.now)
    ledger.save(op, done)
    if op.kind is OpKind.CREATE and server_id is not None and op.temp_id is not None:
        for dep in ledger.dependents(op.id):
            rewritten = dep
            if dep.target_id is None and dep.temp_id == op.temp_id:
                rewritten = rewritten.evolve(target_id=server_id)
            if dep.parent_id is None and dep.parent_temp_id == op.temp_id:
                rewritten = rewritten.evolve(parent_id=server_id)
            if rewritten is not dep:
                ledger.save(dep, rewritten.evolve(updated_at=ledger.now))
    return done


def release(
    ledger: Ledger,
    op_id: int,
    retry_at: float,
    error: str | None,
    category: str | None,
    outcome_unknown: bool = False,
) -> Operation:
    """Back to pending, not before `retry_at` (stored, so it survives restarts)."""
    op = _get(ledger, op_id)
    if op.state not in (OpState.LEASED, OpState.PENDING):
        return op
    again = op.evolve(
        state=OpState.PENDING,
        next_attempt_at=retry_at,
        last_error=error,
        error_category=category,
        outcome_unknown=outcome_unknown,
        lease_owner=None,
        lease_expires_at=None,
        updated_at=ledger.now,
    )
    ledger.save(op, again)
    return again


def park(
    ledger: Ledger,
    op_id: int,
    reason: str,
    *,
    conflict: bool = False,
    error: str | None = None,
    category: str | None = None,
    outcome_unknown: bool | None = None,
) -> Operation:
    """Needs attention (or a technician's conflict decision): no retry until requeued.

    `outcome_unknown`: False when the server's answer settled the last attempt (it refused the
    write, or its current state was read): the flag set by `mark_sent` is cleared, so the op
    reads as what it is, parked for `reason`. True when the write may have landed (a requeue
    then reconciles before sending); None keeps the flag as it was."""
    op = _get(ledger, op_id)
    if op.state in FINISHED_STATES:
        return op
    state = OpState.CONFLICT if conflict else OpState.PARKED
    parked = op.evolve(
        state=state,
        reason=reason,
        last_error=error if error is not None else op.last_error,
        error_category=category if category is not None else op.error_category,
        outcome_unknown=op.outcome_unknown if outcome_unknown is None else outcome_unknown,
        lease_owner=None,
        lease_expires_at=None,
        updated_at=ledger.now,
    )
    ledger.save(op, parked)
    ledger.record("parked", parked, {"reason": reason, "state": state.value})
    return parked


def requeue(ledger: Ledger, op_id: int) -> Operation:
    """A parked or conflicting operation goes back to pending at once (a per-item "retry")."""
    op = _get(ledger, op_id)
    if op.state not in (OpState.PARKED, OpState.CONFLICT):
        return op
    again = op.evolve(state=OpState.PENDING, next_attempt_at=ledger.now, updated_at=ledger.now)
    ledger.save(op, again)
    ledger.record("requeued", again, {})
    return again


def cancel_cascade(ledger: Ledger, op: Operation, reason: str) -> list[Operation]:
    """Cancel `op` and every live operation waiting for it (they could never be sent)."""
    out: list[Operation] = []
    todo = [op]
    while todo:
        current = todo.pop()
        if current.state not in LIVE_STATES:
            continue
        gone = current.evolve(
            state=OpState.CANCELLED,
            reason=reason,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=ledger.now,
        )
        ledger.save(current, gone)
        ledger.record("cancelled", gone, {"reason": reason})
        out.append(gone)
        todo.extend(ledger.dependents(current.id))
    return out


def cancel(ledger: Ledger, op_id: int, reason: str) -> Operation:
    op = _get(ledger, op_id)
    if op.state not in LIVE_STATES:
        return op
    cancel_cascade(ledger, op, reason)
    return _get(ledger, op_id)


def set_priority(ledger: Ledger, op_id: int, priority: Priority) -> Operation:
    op = _get(ledger, op_id)
    if op.priority == priority or op.state in FINISHED_STATES:
        return op
    changed = op.evolve(priority=Priority(priority), updated_at=ledger.now)
    ledger.save(op, changed)
    return changed


def mark_sent(ledger: Ledger, op_id: int) -> Operation:
    """The worker is about to call the server: from now on the outcome is unknown until it
    acknowledges or releases the operation."""
    op = _get(ledger, op_id)
    if op.state is not OpState.LEASED or op.outcome_unknown:
        return op
    sent = op.evolve(outcome_unknown=True, updated_at=ledger.now)
    ledger.save(op, sent)
    return sent


def rewrite(
    ledger: Ledger, op_id: int, fields: Mapping[str, Any], base: Mapping[str, Any]
) -> Operation:
    """Replace what a live operation sends (a resolved conflict, or the fields still to send
    after part of an update went through); the state, lease and attempts stay as they are."""
    op = _get(ledger, op_id)
    if op.state not in LIVE_STATES:
        raise InvalidOperationError(
            f"Operation #{op_id} is {op.state.value}; only a live operation can be rewritten."
        )
    new_fields, new_base = dict(fields), dict(base)
    fp = fingerprint(
        op.entity_type,
        op.kind.value,
        op.target_id,
        op.temp_id,
        op.parent_id,
        op.parent_temp_id,
        new_fields,
    )
    changed = op.evolve(fields=new_fields, base=new_base, fingerprint=fp, updated_at=ledger.now)
    ledger.save(op, changed)
    ledger.record("rewritten", changed, {"fields": sorted(new_fields), "base": sorted(new_base)})
    return changed
