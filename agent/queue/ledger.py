"""What the shared outbox rules need from a backend's open transaction (its "ledger")."""

from __future__ import annotations

from typing import Any, Protocol

from agent.queue.operation import Operation


class Ledger(Protocol):
    """Reads and writes inside one atomic unit of a backend (a SQLite transaction, a lock
    held on the in-memory tables)."""

    now: float

    def get(self, op_id: int) -> Operation | None: ...

    def live_by_fingerprint(self, fingerprint: str) -> Operation | None: ...

    def newest_live_on_entity(self, entity_type: str, key: str) -> Operation | None: ...

    def create_for_temp(self, temp_id: str) -> Operation | None:
        """The newest create operation carrying `temp_id`, in any state."""
        ...

    def dependents(self, op_id: int) -> list[Operation]: ...

    def background_live_count(self, at_most: int) -> int:
        """Live operations with technician=False, counted up to `at_most` (enough to compare)."""
        ...

    def insert(self, op: Operation) -> Operation:
        """Store a new operation (and its `depends_on` rows); return it with its assigned id."""
        ...

    def save(self, old: Operation, new: Operation) -> None:
        """Replace `old` (as read in this transaction) by `new` (same id)."""
        ...

    def record(self, action: str, op: Operation, detail: dict[str, Any]) -> None:
        """Append one event to the operation's history (the audit trail where there is one)."""
        ...
