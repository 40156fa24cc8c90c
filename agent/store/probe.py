"""Before opening: can this computer write the database, and is the file itself sound?

A machine condition (full disk, read-only file or folder, no permission, an I/O error) raises the
matching `StoreError` and leaves every file where it is. Only damage confirmed by SQLite itself
(CORRUPT or NOTADB while reading, or a failed `PRAGMA quick_check`, on a read-only connection
that cannot change the file) is returned as a reason, for the caller to move the file aside; so
is damage to the write-ahead log that SQLite would silently skip (see `wal`), and an empty main
file beside a write-ahead log holding committed transactions.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path
from typing import NoReturn

from agent.security.permissions import binary_flags
from agent.store import wal
from agent.store.errors import (
    DAMAGE_CODES,
    DatabaseReadOnlyError,
    StoreError,
    primary_code,
    translate,
)

SQLITE_HEADER = b"SQLite format 3\x00"
IN_USE_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def _raise_condition(exc: BaseException, path: Path) -> NoReturn:
    error = translate(exc, path, opening=True)
    if isinstance(error, StoreError):
        raise error from exc
    raise exc


def prepare_folder(path: Path) -> None:
    """Create the database's folder and check it can hold new files (the lock, -wal and -shm)."""
    lock = Path(str(path) + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, binary_flags(os.O_CREAT | os.O_RDWR), 0o600)
        os.close(fd)
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EPERM, errno.EACCES):
            raise DatabaseReadOnlyError(path.parent, where="the folder") from exc
        _raise_condition(exc, path.parent)


def check_writable(path: Path) -> None:
    """Raise `DatabaseReadOnlyError` (etc.) when the existing file cannot be opened for writing.

    SQLite itself opens such a file read-only without complaint and fails only at the first
    write; the technician must hear it before typing an edit. Opening for writing changes nothing.
    """
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EPERM, errno.EACCES):
            raise DatabaseReadOnlyError(path) from exc
        _raise_condition(exc, path)
    os.close(fd)


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot change the file (the check must not touch what it checks)."""
    return sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=5)


def probe(path: Path) -> str | None:
    """Why the file is damaged (SQLite confirmed it), or None when it can be opened as it is.

    Raises a `StoreError` for a condition of the machine; a file locked by another program is
    not damage either (None: opening reports the lock properly)."""
    try:
        if not path.exists():
            return None
        damaged_log = wal.damage(path)  # before SQLite, which would drop it without a word
        if damaged_log:
            return damaged_log
        if path.stat().st_size == 0:
            # WAL mode writes the header into the main file first: an empty one beside a
            # write-ahead log that committed transactions lost its content.
            if wal.holds_commits(path):
                return "the database file is empty but its write-ahead log holds committed data"
            return None
        with path.open("rb") as fh:
            header = fh.read(16)
    except OSError as exc:
        _raise_condition(exc, path)
    if header != SQLITE_HEADER:
        return "not an SQLite database"
    try:
        conn = connect_read_only(path)
        try:
            row = conn.execute("PRAGMA quick_check").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        code = primary_code(exc)
        if code in DAMAGE_CODES:
            return str(exc)
        if code in IN_USE_CODES:
            return None
        _raise_condition(exc, path)
    if row is None or row[0] != "ok":
        return f"integrity check failed: {row[0] if row else 'no answer'}"
    return None
