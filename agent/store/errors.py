"""Typed store failures, each with a one-line message a technician can act on (paths named).

StoreError
├── DatabaseInUseError      another Field Sync instance holds this profile
├── DatabaseLockedError     SQLite stayed locked past the busy timeout (BUSY, LOCKED)
├── DiskFullError           the disk (or the file's size limit) is full; nothing was half-written
├── DatabaseReadOnlyError   the file, its folder or the disk is read-only (READONLY, EROFS)
├── DatabaseAccessError     cannot open the file: permissions, no folder (CANTOPEN, PERM)
├── DiskIOError             the disk reported a read or write error (IOERR, not a full disk)
├── DatabaseCorruptError    the file is damaged (CORRUPT, NOTADB, a failed quick_check)
└── MigrationError          (in `migrations`) the schema is newer than this program

Full, read-only, access and I/O errors are conditions of the machine: nothing is damaged and
nothing is moved. Only CORRUPT and NOTADB mean damage. Failures are told apart by SQLite's
result code (`sqlite_errorcode & 0xff` is the primary code) or the OS error number, never by
the message text.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

# A file system with less free space than this after a write failed is taken to be full: SQLite
# reports a failure to grow its shared-memory index as an I/O error (IOERR_SHMSIZE), not FULL.
FULL_BELOW_BYTES = 1 << 20
DAMAGE_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


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
    def __init__(self, path: Path | str, *, opening: bool = False) -> None:
        what = (
            "so Field Sync cannot open its database. Free some space, then start it again"
            if opening
            else "so the last change was not saved. Free some space and try again"
        )
        super().__init__(
            f"The disk holding {path} is full, {what}; nothing already saved was lost "
            "and no file was moved."
        )
        self.path = path


class DatabaseReadOnlyError(StoreError):
    def __init__(self, path: Path | str, *, where: str = "the database file") -> None:
        super().__init__(
            f"{where.capitalize()} {path} is read-only (read-only disk or folder, or a file "
            "marked read-only or immutable), so Field Sync cannot save to it. Make it "
            "writable, or choose another --data-dir; nothing was lost and no file was moved."
        )
        self.path = path


class DatabaseAccessError(StoreError):
    def __init__(self, path: Path | str, reason: str = "permission denied") -> None:
        super().__init__(
            f"The database {path} cannot be opened ({reason}). Check that the folder exists and "
            "that your account may read and write it; nothing was lost and no file was moved."
        )
        self.path = path


class DiskIOError(StoreError):
    def __init__(self, path: Path | str, detail: str = "") -> None:
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"The disk holding {path} reported a read or write error{extra}. Check the disk "
            "(or its connection) and try again; the file was left as it is and no file was moved."
        )
        self.path = path


class DatabaseCorruptError(StoreError):
    pass


def primary_code(exc: BaseException) -> int | None:
    """SQLite's primary result code behind `exc` (an sqlite3 error, or peewee's wrapper of one)."""
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        code = getattr(item, "sqlite_errorcode", None)
        if isinstance(code, int):
            return code & 0xFF
        stack.extend([*item.args[:1], item.__cause__, item.__context__])
    return None


def disk_is_full(path: Path | str) -> bool:
    """Whether the file system holding `path` has (next to) no free space left."""
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free < FULL_BELOW_BYTES
    except OSError:
        return False


def refuses_writes(path: Path | str) -> bool:
    """Whether the database file (or its -wal) exists and cannot be opened for writing: made
    read-only or immutable, or its disk remounted read-only, while the program ran."""
    for name in (str(path), f"{path}-wal"):
        try:
            fd = os.open(name, os.O_RDWR)
        except FileNotFoundError:
            continue
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EPERM, errno.EACCES):
                return True
            continue
        os.close(fd)
    return False


def translate(exc: BaseException, path: Path | str, *, opening: bool = False) -> BaseException:
    """Map an sqlite3/peewee error to the store error its result code means (else return it)."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, OSError):
        return translate_os(exc, path, opening=opening)
    code = primary_code(exc)
    if code == sqlite3.SQLITE_FULL:
        return DiskFullError(path, opening=opening)
    if code == sqlite3.SQLITE_IOERR:
        if disk_is_full(path):
            return DiskFullError(path, opening=opening)
        if refuses_writes(path):
            return DatabaseReadOnlyError(path)
        return DiskIOError(path)
    if code == sqlite3.SQLITE_READONLY:
        return DatabaseReadOnlyError(path)
    if code in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH):
        return DatabaseAccessError(path, "the file or its folder cannot be opened")
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return DatabaseLockedError(path)
    if code in DAMAGE_CODES:
        return DatabaseCorruptError(
            f"The database {path} is damaged ({exc}). Quit and start Field Sync again: it keeps "
            "the damaged file aside, unchanged, and starts on a new one."
        )
    return exc


def translate_os(exc: OSError, path: Path | str, *, opening: bool = False) -> BaseException:
    """The store error an OS error on the database's file or folder means (else `exc`)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(path, opening=opening)
    if exc.errno == errno.EROFS:
        return DatabaseReadOnlyError(path)
    if exc.errno in (errno.EACCES, errno.EPERM):
        return DatabaseAccessError(path, exc.strerror or "permission denied")
    if exc.errno == errno.EIO:
        return DiskIOError(path, exc.strerror or "")
    return exc
