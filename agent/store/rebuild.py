"""Replacing a damaged database with a salvaged one, so that a kill or power cut at any step
loses nothing.

The damaged file stays where it is until its salvage is complete and on disk:

1. a leftover of an earlier, interrupted attempt (`<name>.salvage` and its side files) that
   holds no completed salvage is deleted;
2. the new database is built beside it as `<name>.salvage` (migrated, then the salvage copied
   into it from the damaged file, read in place and never changed), committed with a full sync
   in rollback-journal mode, so it is one self-contained file, then fsynced with its folder;
3. the swap: the damaged file and its -wal/-shm are renamed to `<name>.corrupt-<time>`, the new
   file is renamed to `<name>`, and the folder is fsynced.

Completeness is marked inside the new file by the salvage's own `database_salvaged` audit event
(written in the salvage's transaction, naming the kept file). A start that finds a completed
`<name>.salvage` finishes the swap, whatever step 3 had reached; one that finds an incomplete one
deletes it and salvages again, from the damaged file still in place. No state on disk shows a
healthy database at `<name>` while the unsent work is only in a kept file.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import peewee

from agent.security.permissions import binary_flags
from agent.store import migrations, salvage
from agent.store.models import database_proxy
from agent.store.salvage import SALVAGED, SalvageReport

SIDES = ("-wal", "-shm")
TEMP_SIDES = ("-journal", "-wal", "-shm")


@dataclass(frozen=True)
class Swapped:
    """A damaged file replaced by its salvage: where it was kept, why, and what came over."""

    moved_to: Path
    reason: str
    salvage: SalvageReport


def temp_path(path: Path) -> Path:
    return path.with_name(path.name + ".salvage")


def kept_name(path: Path) -> Path:
    """A free `<name>.corrupt-<time>` for the damaged file (its side files take its suffixes)."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while any(_side(target, s).exists() for s in ("", *SIDES)):
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    return target


def _side(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def fsync_path(path: Path) -> None:
    """Flush a file, or a folder's entries (renames, deletions), to the disk."""
    if path.is_dir() and sys.platform == "win32":
        return  # a folder cannot be opened there; NTFS journals its entries itself
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def discard(path: Path) -> None:
    """Delete the new file of an unfinished attempt, its side files and salvage scratch copies."""
    temp = temp_path(path)
    for suffix in ("", *TEMP_SIDES):
        _side(temp, suffix).unlink(missing_ok=True)
    for scratch in path.parent.glob(".salvage-*"):
        if scratch.is_dir():
            shutil.rmtree(scratch, ignore_errors=True)


def completed(path: Path) -> Swapped | None:
    """The salvage recorded in `<name>.salvage`, if it holds a completed one (else None)."""
    temp = temp_path(path)
    if not temp.exists() or any(_side(temp, s).exists() for s in TEMP_SIDES):
        return None  # absent, or its last transaction never finished (a journal to roll back)
    try:
        conn = sqlite3.connect(f"{temp.absolute().as_uri()}?mode=ro", uri=True, timeout=0)
        try:
            row = conn.execute(
                'SELECT "detail" FROM "audit_event" WHERE "action" = ? ORDER BY "id" DESC LIMIT 1',
                (SALVAGED,),
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:  # unreadable, or no audit table yet: not completed
        return None
    if row is None:
        return None
    detail = json.loads(row[0])
    kept = path.with_name(Path(detail["kept_as"]).name)  # beside it, even if the folder moved
    # `damage` since the reason joined the sealed values (older salvages wrote `reason`).
    return Swapped(kept, str(detail.get("damage", detail.get("reason", ""))), report_of(detail))


def report_of(detail: dict[str, object]) -> SalvageReport:
    """The report a `database_salvaged` event's detail describes."""

    def counted(name: str) -> salvage.Counted:
        c = detail.get(name)
        if not isinstance(c, dict):
            return salvage.Counted()
        return salvage.Counted(int(c.get("recovered", 0)), int(c.get("unreadable", 0)))

    unknown = detail.get("outcome_unknown", 0)
    return SalvageReport(
        operations=counted("operations"),
        outcome_unknown=unknown if isinstance(unknown, int) else 0,
        overlays=counted("overlays"),
        conflicts=counted("conflicts"),
        audit_events=counted("audit_events"),
        failed=str(detail.get("failed", "")),
    )


@contextmanager
def _database(temp: Path) -> Iterator[peewee.SqliteDatabase]:
    """The new file, in rollback-journal mode with full syncs: each commit leaves it whole and on
    disk, with no WAL to carry along when it is renamed. The models point at it meanwhile."""
    db = peewee.SqliteDatabase(
        str(temp), pragmas={"journal_mode": "delete", "synchronous": 2, "foreign_keys": 1}
    )
    previous = database_proxy.obj
    database_proxy.initialize(db)
    try:
        db.connect()
        yield db
    finally:
        db.close()
        database_proxy.initialize(previous)


def build(
    path: Path,
    reason: str,
    *,
    upto: int,
    keys: salvage.KeySource | None,
    audit_key: salvage.AuditKeySource | None = None,
) -> Swapped:
    """Steps 1 and 2: the completed, durable `<name>.salvage` of the damaged file at `path`.
    Raises (the damaged file untouched, the partial new file deleted) when it cannot be made."""
    discard(path)
    temp = temp_path(path)
    kept = kept_name(path)
    try:
        # Private from the start (SQLite gives its journal the same mode).
        os.close(os.open(temp, binary_flags(os.O_CREAT | os.O_EXCL | os.O_WRONLY), 0o600))
        with _database(temp) as db:
            migrations.migrate(db, None, upto=upto)
            report = salvage.salvage(
                path,
                db.connection(),
                now=time.time(),
                reason=reason,
                keys=keys,
                audit_key=audit_key,
                kept_as=kept,
            )
        fsync_path(temp)
        fsync_path(path.parent)
    except BaseException:
        discard(path)
        raise
    return Swapped(kept, reason, report)


def _keep(piece: Path, kept: Path) -> None:
    """Move `piece` to `kept`, never over a file already kept there: then the piece is something
    made since (e.g. the empty file a start creates where the database was): deleted when empty,
    else kept under a name of its own."""
    if not piece.exists():
        return
    if kept.exists():
        if piece.stat().st_size == 0:
            piece.unlink()
            return
        n = 2
        while (other := kept.with_name(f"{kept.name}.{n}")).exists():
            n += 1
        kept = other
    piece.rename(kept)


def finish(path: Path, done: Swapped) -> None:
    """Step 3, from wherever it stopped: the damaged file (and its side files) to the kept name,
    then the completed new file to `path`. Raises OSError when a rename fails."""
    for suffix in ("", *SIDES):
        _keep(_side(path, suffix), _side(done.moved_to, suffix))
    temp_path(path).rename(path)
    fsync_path(path.parent)
