"""How an operation is laid out in Redis: its hash, and the index entries each state implies."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agent.queue.fingerprint import canonical_json
from agent.queue.operation import (
    FINISHED_STATES,
    KIND_TEXT,
    PRIORITY_NAME,
    NewOperation,
    Operation,
    entity_key,
)
from agent.store.models import OpKind, OpState, Priority

_payload_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
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


# The "enqueued" history detail of each kind and priority, encoded once.
_DETAIL = {
    (kind, priority): _payload_json({"kind": KIND_TEXT[kind], "priority": PRIORITY_NAME[priority]})
    for kind in OpKind
    for priority in Priority
}


def _pending_entry(new: NewOperation, fp: str, now: float) -> list[Any]:
    """One operation of `FAST_ENQUEUE`'s payload: the hash `to_pairs` gives the pending
    operation made from `new`, built directly (this runs for every operation queued)."""
    at = repr(now)
    ekey = entity_key(new.target_id, new.temp_id)
    pairs: list[Any] = [
        "kind", KIND_TEXT[new.kind],
        "priority", str(int(new.priority)),
        "state", "pending",
        "fields", canonical_json(new.fields),
        "base", canonical_json(new.base),
        "outcome_unknown", "0",
        "technician", "1" if new.technician else "0",
        "depends_on", "[]",
        "ekey", ekey,
        "next_attempt_at", at,
        "created_at", at,
        "updated_at", at,
        "attempts", "0",
        "entity_type", new.entity_type,
        "fingerprint", fp,
    ]  # fmt: skip
    deadline = "" if new.deadline_at is None else repr(float(new.deadline_at))
    if deadline:
        pairs += ["deadline_at", deadline]
    for name, value in (
        ("target_id", new.target_id),
        ("parent_id", new.parent_id),
        ("temp_id", new.temp_id),
    ):
        if value is not None:
            pairs += [name, str(value)]
    temp = new.temp_id if new.kind is OpKind.CREATE and new.temp_id else ""
    return [
        fp,
        new.entity_type,
        ekey,
        str(int(new.priority)),
        at,
        deadline,
        1 if new.technician else 0,
        temp,
        pairs,
        _DETAIL[new.kind, new.priority],
        1 if new.kind is OpKind.CREATE else 0,
    ]


def fast_payload(news: Sequence[NewOperation], fps: Sequence[str], now: float) -> str:
    """The JSON argument of `FAST_ENQUEUE` for operations that take the direct path."""
    return _payload_json([_pending_entry(n, fp, now) for n, fp in zip(news, fps, strict=True)])


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
        ("z", f"{p}:ent:{op.entity_type}:{op.entity_key}", float(op.id)),
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
    if op.is_live:
        entries.append(("z", f"{p}:live:{op.entity_type}:{op.entity_key}", float(op.id)))
        if not op.technician:
            entries.append(("s", f"{p}:bg", 0.0))
    return entries
