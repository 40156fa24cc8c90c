"""The agent's one SQLite database: models, opening, migrations and the single writer."""

from agent.store.connection import Durability, RecoveryNotice, Store
from agent.store.errors import (
    DatabaseAccessError,
    DatabaseCorruptError,
    DatabaseInUseError,
    DatabaseLockedError,
    DatabaseReadOnlyError,
    DiskFullError,
    DiskIOError,
    StoreError,
)
from agent.store.migrations import LATEST, MigrationError

__all__ = [
    "LATEST",
    "DatabaseAccessError",
    "DatabaseCorruptError",
    "DatabaseInUseError",
    "DatabaseLockedError",
    "DatabaseReadOnlyError",
    "DiskFullError",
    "DiskIOError",
    "Durability",
    "MigrationError",
    "RecoveryNotice",
    "Store",
    "StoreError",
]
