"""The agent's one SQLite database: models, opening, migrations and the single writer."""

from agent.store.connection import Durability, RecoveryNotice, Store
from agent.store.errors import (
    DatabaseCorruptError,
    DatabaseInUseError,
    DatabaseLockedError,
    DiskFullError,
    StoreError,
)
from agent.store.migrations import LATEST, MigrationError

__all__ = [
    "LATEST",
    "DatabaseCorruptError",
    "DatabaseInUseError",
    "DatabaseLockedError",
    "DiskFullError",
    "Durability",
    "MigrationError",
    "RecoveryNotice",
    "Store",
    "StoreError",
]
