"""How an operation is laid out in Redis: its hash, and the index entries each state implies."""

from __future__ import annotations

import json
from typing import Any

from agent.queue.fingerprint import canonical_json
from agent.queue.operation import FINISHED_STATES, Operation
from agent.store.models import OpKind, OpState, Priority

_FLOATS = ("next_attempt_at", "created_at", "updated_at", "deadline_at", "lease_expires_at")
_INTS = ("target_id", "parent_id", "attempts")
_TEXTS = (
    "entity_type",
    "temp_id",
    "parent_temp_id",
    "fingerprint",
    "lease_owner",
    "last_error",
    "error_category",
    "reason",
)


def member(op_id: int) -> str:
    return f"{op_id:012d}"


def to_pairs(op: Operation) -> list[Any]:
    """Hash field/value pairs of every set attribute (None is left out), plus the entity key."""
    pairs: list[Any] = [
        "kind",
        op.kind.value,
        "priority",
        int(op.priority),
        "state",
        op.state.value,
        "fields",
        canonical_json(op.fields),
        "base",
        canonical_json(op.base),
        "outcome_unknown",
        int(op.outcome_unknown),
        "technician",
        int(op.technician),
        "depends_on",
        json.dumps(op.depends_on),
        "ekey",
        op.entity_key,
    ]
    for name in _FLOATS:
        value = getattr(op, name)
        if value is not None:
            pairs += [name, repr(float(value))]
    for name in (*_INTS, *_TEXTS):
        value = getattr(op, name)
        if value is not None:
            pairs += [name, value]
    return pairs


def unset_fields(op: Operation) -> list[str]:
    return [n for n in (*_FLOATS, *_INTS, *_TEXTS) if getattr(op, n) is None]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def from_hash(raw: dict[Any, Any]) -> Operation | None:
    if not raw:
        return None
    h = {_text(k): _text(v) for k, v in raw.items()}

    def opt_float(name: str) -> float | None:
        return float(h[name]) if name in h else None

    def opt_int(name: str) -> int | None:
        return int(h[name]) if name in h else None

    return Operation(
        id=int(h["id"]),
        kind=OpKind(h["kind"]),
        entity_type=h["entity_type"],
        target_id=opt_int("target_id"),
        temp_id=h.get("temp_id"),
        parent_id=opt_int("parent_id"),
        parent_temp_id=h.get("parent_temp_id"),
        fields=json.loads(h["fields"]),
        base=json.loads(h["base"]),
        priority=Priority(int(h["priority"])),
        state=OpState(h["state"]),
        attempts=int(h.get("attempts", 0)),
        next_attempt_at=float(h["next_attempt_at"]),
        created_at=float(h["created_at"]),
        updated_at=float(h["updated_at"]),
        deadline_at=opt_float("deadline_at"),
        fingerprint=h["fingerprint"],
        lease_owner=h.get("lease_owner"),
        lease_expires_at=opt_float("lease_expires_at"),
        outcome_unknown=h.get("outcome_unknown") == "1",
        last_error=h.get("last_error"),
        error_category=h.get("error_category"),
        reason=h.get("reason"),
        technician=h.get("technician", "1") == "1",
        depends_on=json.loads(h.get("depends_on", "[]")),
    )


def index_entries(p: str, op: Operation) -> list[tuple[str, str, float]]:
    """(kind, key, score) of every sorted-set/set entry `op` has in its current state."""
    entries: list[tuple[str, str, float]] = [
        ("z", f"{p}:st:{op.state.value}:{int(op.priority)}", float(op.id)),
    ]
    if op.state is OpState.PENDING:
        entries.append(("z", f"{p}:ready:{int(op.priority)}", op.next_attempt_at))
        if op.deadline_at is not None:
            entries.append(("z", f"{p}:dl", op.deadline_at))
    if op.state is OpState.LEASED:
        entries.append(("z", f"{p}:leases", op.lease_expires_at or 0.0))
    if op.state in FINISHED_STATES:
        entries.append(("z", f"{p}:fin", op.updated_at))
    if op.outcome_unknown:
        entries.append(("z", f"{p}:unknown", float(op.id)))
    # An entity's operations: the live ones (what enqueueing and claiming look at), the rest.
    entity = f"{op.entity_type}:{op.entity_key}"
    if op.is_live:
        entries.append(("z", f"{p}:live:{entity}", float(op.id)))
        if not op.technician:
            entries.append(("s", f"{p}:bg", 0.0))
    else:
        entries.append(("z", f"{p}:past:{entity}", float(op.id)))
    return entries


def entries_to_remove(p: str, op: Operation) -> list[tuple[str, str, float]]:
    """`index_entries`, plus the index of every operation on an entity that earlier versions kept
    (`P:ent:<type>:<key>`; still read when listing by entity), so what they wrote is cleared as
    its operations change or are purged."""
    legacy = ("z", f"{p}:ent:{op.entity_type}:{op.entity_key}", float(op.id))
    return [*index_entries(p, op), legacy]
