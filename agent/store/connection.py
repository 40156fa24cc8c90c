"""Opening the profile's SQLite file: pragmas, single-instance lock, corruption recovery, migration.

A full disk, a read-only file or folder, a permission or I/O error is a condition of the machine:
opening raises its `StoreError` (see `probe`) and leaves every file in place. Only confirmed
damage replaces the file by its salvage (`rebuild`; reported as `Store.recovery`), the damaged
file kept aside, unchanged.

`Store` is the one handle the rest of the agent holds: `write`/`awrite` run a function in a
transaction on the single writer thread; `read`/`aread` run on the caller's thread or a small read
pool, each thread with its own connection (WAL lets reads run beside the writer).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, TypeVar

import filelock
import peewee

from agent.store import migrations, rebuild, salvage
from agent.store.errors import DatabaseCorruptError, DatabaseInUseError, StoreError, translate
from agent.store.models import database_proxy
from agent.store.probe import check_writable, prepare_folder, probe
from agent.store.salvage import SalvageReport
from agent.store.writer import SingleWriter

T = TypeVar("T")
log = logging.getLogger(__name__)
FULL_SYNC = 2


class StatementsOnly(logging.Filter):
    """Peewee logs every statement with its bound values at DEBUG; those values are the
    customer's data (titles, notes, the server's error texts), so only the statement is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, tuple) and len(record.msg) == 2:
            statement, values = record.msg
            n = len(values) if isinstance(values, list | tuple) else 0
            record.msg, record.args = f"{statement} [{n} values not logged]", None
        return True


if not any(isinstance(f, StatementsOnly) for f in logging.getLogger("peewee").filters):
    logging.getLogger("peewee").addFilter(StatementsOnly())


class Durability(StrEnum):
    """How hard a commit waits for the disk. NORMAL in WAL mode can lose the last commits on power
    loss (never corrupts); FULL syncs on every commit."""

    NORMAL = "normal"
    FULL = "full"


@dataclass(frozen=True)
class RecoveryNotice:
    """What happened when the previous database file could not be used."""

    damaged_path: Path
    moved_to: Path
    reason: str
    salvage: SalvageReport | None = None  # what was brought over from the kept file

    @property
    def message(self) -> str:
        head = (
            f"The local database {self.damaged_path} could not be read ({self.reason}). "
            f"It was kept, unchanged, as {self.moved_to}, and Field Sync started on a new "
            "database."
        )
        if self.salvage is None:
            return head + (
                " Changes that were not yet synced may be in the kept file; support can "
                "recover them from it."
            )
        return f"{head} From the kept file: {self.salvage.summary}"


class _Durable(Generic[T]):
    """A write function whose transaction must commit with a full sync (see `Store.write`)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn = fn

    def __call__(self) -> T:
        return self.fn()


class _TrackedSqlite(peewee.SqliteDatabase):  # type: ignore[misc]
    """Remembers every per-thread connection so `close_all` can close them all."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = super()._connect()
        with self._all_lock:
            self._all.append(conn)
        return conn

    def close_all(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


def _pragmas(durability: Durability, busy_timeout_ms: int) -> dict[str, Any]:
    return {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": busy_timeout_ms,
        "synchronous": 2 if durability is Durability.FULL else 1,
        "cache_size": -8000,
    }


def _replace_damaged(
    path: Path,
    reason: str | None,
    *,
    upto: int,
    keys: salvage.KeySource | None,
    audit_key: salvage.AuditKeySource | None = None,
) -> RecoveryNotice | None:
    """Finish a replacement an earlier start left unfinished, or replace the damaged file at
    `path` (`reason` says why) with its salvage; see `rebuild` for the order that makes every
    step safe to interrupt. None when the file at `path` is sound."""
    done = rebuild.completed(path)
    if done is None:
        rebuild.discard(path)  # an attempt that never completed: the damaged file is in place
        if not reason:
            return None
        done = rebuild.build(path, reason, upto=upto, keys=keys, audit_key=audit_key)
    else:
        log.warning("finishing the replacement of the damaged database %s", path)
    try:
        rebuild.finish(path, done)
    except OSError as exc:  # the completed salvage stays beside it; the next start finishes
        raise DatabaseCorruptError(
            f"The local database {path} is damaged ({done.reason}) and could not be moved aside "
            f"to {done.moved_to} ({exc.strerror}). Move or rename it yourself, then start Field "
            "Sync again."
        ) from exc
    return RecoveryNotice(path, done.moved_to, done.reason, done.salvage)


class Store:
    """The open database of one profile."""

    def __init__(
        self,
        path: Path,
        *,
        durability: Durability = Durability.NORMAL,
        busy_timeout_ms: int = 5000,
        migrate_upto: int = migrations.LATEST,
        salvage_keys: salvage.KeySource | None = None,
        salvage_audit_key: salvage.AuditKeySource | None = None,
    ) -> None:
        """`salvage_keys`, `salvage_audit_key`: the profile's data keys and audit key, read only
        if a damaged file is salvaged."""
        self.path = path
        self.durability = durability
        prepare_folder(path)  # a read-only or full folder is said so before anything else
        # Not thread-local: a store opened on one worker thread may be closed on another, and a
        # thread-local lock would then stay held (refusing the next open in this process).
        self._lock = filelock.FileLock(str(path) + ".lock", thread_local=False)
        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            raise DatabaseInUseError(path) from None
        try:
            check_writable(path)
            # Raises for a condition of the machine (moving nothing); a damaged file is replaced
            # by its salvage, the damaged one kept aside only once the salvage is on disk.
            self.recovery: RecoveryNotice | None = _replace_damaged(
                path,
                probe(path),
                upto=migrate_upto,
                keys=salvage_keys,
                audit_key=salvage_audit_key,
            )
            self.db = _TrackedSqlite(
                str(path),
                pragmas=_pragmas(durability, busy_timeout_ms),
                check_same_thread=False,  # only so close_all may close other threads' connections
            )
            database_proxy.initialize(self.db)
            self._marker = peewee._transaction(self.db)
            self._sync_level = _pragmas(durability, busy_timeout_ms)["synchronous"]
            self._direct_level = threading.local()
            self._writer = SingleWriter(
                f"store-writer:{path.name}", self._in_transaction, self._in_direct_transaction
            )
            self._writer.on_exit(self._close_writer_connection)
            self._readers = concurrent.futures.ThreadPoolExecutor(2, "store-reader")
            self._closed = False
            # Each step of the ladder is its own transaction (and the backup must precede them).
            self.migrated_from = self._writer.run(
                lambda: migrations.migrate(self.db, path, upto=migrate_upto), transactional=False
            )
        except (sqlite3.Error, peewee.DatabaseError, OSError) as exc:
            self._teardown()
            error = translate(exc, path, opening=True)
            if not isinstance(error, StoreError):
                raise
            raise error from exc
        except BaseException:
            self._teardown()
            raise

    def _close_writer_connection(self) -> None:
        self.db.close()

    def _in_transaction(self, fn: Callable[[], T]) -> T:
        try:
            if self.db.transaction_depth():  # nested: a savepoint
                with self.db.atomic():
                    return fn()
            if isinstance(fn, _Durable) and self._sync_level != FULL_SYNC:
                return self._durable_transaction(fn)  # type: ignore[no-any-return]
            return self._outer_transaction(fn)
        except (sqlite3.Error, peewee.DatabaseError) as exc:
            raise translate(exc, self.path) from exc

    def _outer_transaction(self, fn: Callable[[], T]) -> T:
        """`db.atomic()` at the outermost level, in a third of its time (it matters for the many
        one-row writes): BEGIN, then peewee's own marker so an `atomic()` inside `fn` nests as a
        savepoint, then COMMIT, or ROLLBACK on any failure, the commit's own included."""
        conn: sqlite3.Connection = self.db.connection()
        conn.execute("BEGIN")
        self.db.push_transaction(self._marker)
        try:
            result = fn()
        except BaseException:
            self.db.pop_transaction()
            conn.rollback()
            raise
        self.db.pop_transaction()
        try:
            conn.execute("COMMIT")  # a cached statement; `conn.commit()` prepares it each time
        except BaseException:
            conn.rollback()
            raise
        return result

    def _durable_transaction(self, fn: Callable[[], T]) -> T:
        """One transaction committed with a full sync (the WAL is fsynced at its commit), then
        this connection goes back to the store's level. SQLite takes the level only outside a
        transaction, so it is set before BEGIN and restored after COMMIT or ROLLBACK."""
        conn: sqlite3.Connection = self.db.connection()
        conn.execute(f"PRAGMA synchronous={FULL_SYNC}")
        try:
            return self._outer_transaction(fn)
        finally:
            conn.execute(f"PRAGMA synchronous={self._sync_level}")

    def _in_direct_transaction(self, fn: Callable[[], T]) -> T:
        """A write on the caller's own connection (the writer is idle; `SingleWriter.run`)."""
        if getattr(self._direct_level, "level", None) != self._sync_level:
            self.db.execute_sql(f"PRAGMA synchronous={self._sync_level}")
            self._direct_level.level = self._sync_level
        return self._in_transaction(fn)

    def write(self, fn: Callable[[], T], *, large: bool = False, durable: bool = False) -> T:
        """Run `fn` in one transaction, one writer at a time, and return its result.

        A `large` write (hundreds of rows) always runs on the writer thread: done directly on
        many threads, each would keep the memory of its big transaction in an allocator arena
        of its own (hundreds of MB across a pool's threads), and its hand-off is cheap per row.
        A thread inside its own read transaction also queues its write (its snapshot may be
        older than the last commit).

        A `durable` write (what a person typed: a captured edit) commits with a full sync
        whatever the store's durability, so a power cut right after cannot take it back. Inside
        another write it joins that write's transaction (and its level)."""
        job = _Durable(fn) if durable else fn
        return self._writer.run(job, direct=not large and not self.db.in_transaction())

    async def awrite(self, fn: Callable[[], T], *, durable: bool = False) -> T:
        job: Callable[[], T] = _Durable(fn) if durable else fn
        return await self._writer.run_async(job)

    def read(self, fn: Callable[[], T]) -> T:
        """Run `fn` on this thread's own connection (reads never wait for the writer)."""
        try:
            return fn()
        except (sqlite3.Error, peewee.DatabaseError) as exc:
            raise translate(exc, self.path) from exc

    async def aread(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self.read, fn)

    def set_durability(self, durability: Durability) -> None:
        """Switch how hard commits wait for the disk (on every connection that writes)."""
        level = 2 if durability is Durability.FULL else 1
        # SQLite refuses to change the safety level inside a transaction.
        self._writer.run(
            lambda: self.db.execute_sql(f"PRAGMA synchronous={level}"), transactional=False
        )
        self._sync_level = level  # direct writers' connections follow before their next write
        self.durability = durability

    def checkpoint(self) -> None:
        """Fold the WAL back into the main file (e.g. before copying it, or after pruning)."""
        self._writer.run(
            lambda: self.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchall(),
            transactional=False,
        )

    def vacuum(self) -> None:
        """Give the space of deleted rows back to the file system."""
        self._writer.run(lambda: self.db.execute_sql("VACUUM"), transactional=False)
        self.checkpoint()

    def schema_version(self) -> int:
        return self.read(lambda: migrations.current_version(self.db))

    def integrity_check(self) -> str:
        row = self.read(lambda: self.db.execute_sql("PRAGMA integrity_check").fetchone())
        return str(row[0])

    def _teardown(self, before_unlock: Callable[[], None] | None = None) -> None:
        writer = getattr(self, "_writer", None)
        if writer is not None:
            writer.stop()
        readers = getattr(self, "_readers", None)
        if readers is not None:
            readers.shutdown(wait=True)
        db = getattr(self, "db", None)
        if db is not None:
            db.close_all()
        if before_unlock is not None:
            before_unlock()
        self._lock.release()

    def close(self) -> None:
        if getattr(self, "_closed", True):
            return
        self._closed = True
        self._teardown()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
