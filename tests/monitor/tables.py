"""Rows for the store tables that the collectors and diagnostics read."""

from __future__ import annotations

import hashlib
from typing import Any

from agent.store import Store
from agent.store.models import Conflict, OpState, OutboxOp, Priority


def add_op(
    store: Store,
    *,
    state: OpState = OpState.PENDING,
    priority: Priority = Priority.NORMAL,
    created_at: float = 0.0,
    entity_type: str = "Ticket",
    fields: dict[str, Any] | None = None,
    error_category: str | None = None,
) -> int:
    def write() -> int:
        n = OutboxOp.select().count()
        op = OutboxOp.create(
            kind="update",
            entity_type=entity_type,
            target_id=1000 + n,
            fields=fields or {"status": 5},
            base={"status": 1},
            priority=int(priority),
            state=str(state),
            created_at=created_at,
            updated_at=created_at,
            fingerprint=hashlib.sha256(str(n).encode()).hexdigest(),
            error_category=error_category,
        )
        return int(op.id)

    return store.write(write)


def add_conflict(
    store: Store, *, status: str = "open", field: str = "title", at: float = 0.0
) -> None:
    store.write(
        lambda: Conflict.create(
            entity_type="Ticket",
            entity_id=42,
            field=field,
            base="Old title",
            mine="Printer on fire, floor 3",
            theirs="Printer fixed",
            status=status,
            detected_at=at,
        )
    )
