"""Keeping the profile's files readable by the user only: 0600 files and 0700 folders on POSIX.

SQLite creates `-wal` and `-shm` with the mode of the database file, so the database is created
private before SQLite first opens it; files made by others (backups, lock, corrupt copies) are
tightened after the fact. The process umask is left alone: it is shared by every thread.
On Windows the profile folder inherits the user-only ACL of the user's AppData.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
POSIX = os.name == "posix"


def binary_flags(flags: int) -> int:
    """`flags` for `os.open` plus `O_BINARY` where the platform has it (Windows). Without it
    Windows' C runtime opens the descriptor in text mode and rewrites every newline byte written
    through it (a zip, a database, UTF-8 already translated by Python), corrupting the file."""
    return flags | getattr(os, "O_BINARY", 0)


def create_private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 if it does not exist yet (never truncates)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    try:
        fd = os.open(path, binary_flags(os.O_CREAT | os.O_EXCL | os.O_WRONLY), PRIVATE_FILE)
    except FileExistsError:
        return
    os.close(fd)


@contextlib.contextmanager
def private_text_file(path: str | Path, *, newline: str | None = None) -> Iterator[TextIO]:
    """Write a UTF-8 text file readable by the user only (0600 on POSIX), for files that hold
    decrypted text (exports). Written under a temporary name created private, then moved over
    `path`: a file readable by others that stood there is replaced, not reused, and a write that
    fails leaves no half-written file."""
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, binary_flags(os.O_CREAT | os.O_EXCL | os.O_WRONLY), PRIVATE_FILE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as fh:
            yield fh
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def make_private(paths: Iterable[Path]) -> list[Path]:
    """chmod each existing file to 0600 and folder to 0700; returns what was changed."""
    changed: list[Path] = []
    if not POSIX:
        return changed
    for path in paths:
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(mode):
            continue  # never follow a link someone else may have planted
        want = PRIVATE_DIR if stat.S_ISDIR(mode) else PRIVATE_FILE
        if stat.S_IMODE(mode) != want:
            os.chmod(path, want)
            changed.append(path)
    return changed


def database_family(database: Path) -> list[Path]:
    """The database and every file beside it that holds (or locks) its contents: -wal, -shm,
    the lock, migration backups and moved-aside corrupt copies."""
    folder = database.parent
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.startswith(database.name))


def private_profile(database: Path, folders: Iterable[Path] = ()) -> list[Path]:
    """Tighten the profile's folders and every database file; returns what was changed."""
    return make_private([*folders, *database_family(database)])


def is_private(path: Path) -> bool:
    """True where the platform lets us tell and nobody but the owner can read `path`."""
    if not POSIX:
        return True
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
