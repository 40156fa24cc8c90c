"""The outbox's own failures, each saying what the caller can do about it.

QueueError
├── QueueFullError        background work refused: the outbox holds its configured maximum
├── OperationNotFound     no operation with that id (purged, or never existed)
├── UnknownTempIdError    an operation names a temporary id no create operation carries
└── InvalidOperationError an operation that cannot be sent as given (e.g. an update with no target)

Store failures (`agent.store.errors.DiskFullError`, ...) pass through unchanged.
"""

from __future__ import annotations


class QueueError(Exception):
    """Base of every outbox failure."""


class QueueFullError(QueueError):
    def __init__(self, maximum: int) -> None:
        super().__init__(
            f"The outbox already holds {maximum} background operations; background work is "
            "refused until some of it is sent. A technician's own edits are still accepted."
        )
        self.maximum = maximum


class OperationNotFound(QueueError):
    def __init__(self, op_id: int) -> None:
        super().__init__(f"There is no outbox operation #{op_id} (it may have been purged).")
        self.op_id = op_id


class UnknownTempIdError(QueueError):
    def __init__(self, temp_id: str) -> None:
        super().__init__(
            f"No pending or completed create carries the temporary id {temp_id!r}; "
            "the entity it refers to was never queued or was discarded."
        )
        self.temp_id = temp_id


class InvalidOperationError(QueueError):
    """The operation cannot be queued as given; the message says which part is wrong."""
