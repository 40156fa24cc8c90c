"""Typed store failures, each with a message a technician can act on (paths named, no jargon).

StoreError
├── DatabaseInUseError      another Field Sync instance holds this profile
├── DatabaseLockedError     SQLite stayed locked past the busy timeout
├── DiskFullError           the disk (or the file's size limit) is full; nothing was half-written
├── DatabaseCorruptError    the file is damaged (raised only when it cannot be moved aside)
└── MigrationError          (in `migrations`) the schema is newer than this program
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class StoreError(Exception):
    """Base of every store failure."""


class DatabaseInUseError(StoreError):
    def __init__(self, path: Path, holder: str = "") -> None:
        who = f" ({holder})" if holder else ""
        super().__init__(
            f"Another Field Sync instance{who} is already using {path}. "
            "Close it, or start this one with a different --data-dir."
        )
        self.path = path


class DatabaseLockedError(StoreError):
    def __init__(self, path: Path | str) -> None:
        super().__init__(
            f"The database {path} is locked by another program. Close other programs using it "
            "(another Field Sync instance or a database tool) and try again; nothing was lost."
        )
        self.path = path


class DiskFullError(StoreError):
    def __init__(self, path: Path | str) -> None:
        super().__init__(
            f"The disk holding {path} is full. Your change was not saved; free some space and "
            "try again. Nothing already saved was lost."
        )
        self.path = path


class DatabaseCorruptError(StoreError):
    pass


def translate(exc: sqlite3.Error | Exception, path: Path | str) -> Exception:
    """Map an sqlite3/peewee error to a store error where one applies (else return it as is)."""
    text = str(exc).lower()
    if "database or disk is full" in text or ("disk i/o error" in text and "full" in text):
        return DiskFullError(path)
    if "database is locked" in text or "database table is locked" in text:
        return DatabaseLockedError(path)
    return exc
