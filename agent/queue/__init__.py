"""The outbox: a persistent, prioritised, deduplicating, coalescing queue of operations."""

from agent.queue.errors import (
    InvalidOperationError,
    OperationNotFound,
    QueueError,
    QueueFullError,
    UnknownTempIdError,
)
from agent.queue.memory import MemoryBackend
from agent.queue.operation import NewOperation, Operation, OpQuery, Page, QueueEvent
from agent.queue.outbox import Outbox
from agent.queue.sqlite import SQLiteBackend
from agent.queue.strategies import (
    Adaptive,
    DeadlineAware,
    Fifo,
    OutcomeBoard,
    Strategy,
    StrictPriority,
    WeightedFair,
)

__all__ = [
    "Adaptive",
    "DeadlineAware",
    "Fifo",
    "InvalidOperationError",
    "MemoryBackend",
    "NewOperation",
    "OpQuery",
    "Operation",
    "OperationNotFound",
    "Outbox",
    "OutcomeBoard",
    "Page",
    "QueueError",
    "QueueEvent",
    "QueueFullError",
    "SQLiteBackend",
    "Strategy",
    "StrictPriority",
    "UnknownTempIdError",
    "WeightedFair",
]
