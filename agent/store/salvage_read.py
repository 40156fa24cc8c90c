"""Reading what can still be read from a damaged SQLite file, table by table, skipping bad pages.

The kept file is never changed: it is read in place (read-only, immutable) when it can be, else
copied (with its -wal) into a private scratch folder and read from there. A copy whose 100-byte
header is gone gets a rebuilt one (the page size taken from the WAL header, else the first size
under which the schema reads). Rows are read through SQLite's own
b-trees, never by scanning raw pages, so rows that were deleted (e.g. operations already sent and
pruned) cannot come back from free pages.

Written by hand in Python: SQLite's `.recover` lives in the `sqlite3` command-line shell, which
users' machines do not have, and no maintained Python package wraps it.

A scan in rowid order that stops on a page error resumes past the damage: a seek that lands in a
bad leaf fails, so the first readable rowid after it is found by probing forward in growing steps,
then bisecting back. Once damage is met, every rowid up to the largest known is then looked up on
its own (`WHERE rowid = ?` descends from the root, so only the rows of a damaged leaf fail), so
exactly the rows on damaged pages are lost; they count as unreadable when an intact index lists
them (every failed rowid when no index survives whole).
"""

from __future__ import annotations

import shutil
import sqlite3
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.store import wal

MAGIC = b"SQLite format 3\x00"
MIN_ROWID, MAX_ROWID = -(2**63), 2**63 - 1
PAGE_SIZES = (4096, 1024, 2048, 8192, 16384, 32768, 65536, 512)
# Primary result codes of a file that is damaged (not of a machine in trouble).
DAMAGE_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_FORMAT})
SQLITE_IOERR_SHORT_READ = sqlite3.SQLITE_IOERR | (2 << 8)


def is_damage(exc: sqlite3.Error) -> bool:
    """Whether a read failed because of the file's content (a truncated file reads short)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:  # raised by the sqlite3 module itself: a text value that is not UTF-8
        return isinstance(exc, sqlite3.DatabaseError)
    return (code & 0xFF) in DAMAGE_CODES or code == SQLITE_IOERR_SHORT_READ


class _Damaged:
    """A seek that failed on a damaged page."""


DAMAGED = _Damaged()


@dataclass
class TableRead:
    """The rows read from one table, and the rowids known to exist whose rows could not be read."""

    columns: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    unreadable: set[int] = field(default_factory=set)
    damaged: bool = False  # a page error was met (some rows may be missing without a known id)


def _header(page_size: int, pages: int, wal: bool) -> bytes:
    version = 2 if wal else 1
    size_field = 1 if page_size == 65536 else page_size
    return (
        MAGIC
        + struct.pack(">HBBBBBB", size_field, version, version, 0, 64, 32, 32)
        + struct.pack(">IIIIIIIIIIII", 1, pages, 0, 0, 1, 4, 0, 0, 1, 0, 0, 0)
        + bytes(20)
        + struct.pack(">II", 1, 3040001)
    )


def _wal_page_size(wal: Path) -> int | None:
    try:
        with wal.open("rb") as fh:
            head = fh.read(32)
    except OSError:
        return None
    if len(head) < 32 or head[:4] not in (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83"):
        return None
    size: int = struct.unpack(">I", head[8:12])[0]
    return size if size in PAGE_SIZES else None


class DamagedFile:
    """A read-only view of a copy of a damaged database (use as a context manager)."""

    def __init__(self, kept: Path, scratch: Path) -> None:
        self.kept = kept
        self.copy = scratch / "salvage.sqlite3"
        wal = kept.with_name(kept.name + "-wal")
        self.has_wal = wal.exists() and wal.stat().st_size > 0
        self.header_rebuilt = False
        self.wal_applied = False
        self.conn = self._open()

    @staticmethod
    def _connect(target: str, *, uri: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(target, timeout=0, isolation_level=None, uri=uri)
        conn.execute("PRAGMA cell_size_check=ON")
        conn.execute("PRAGMA writable_schema=ON")  # a broken schema entry does not stop reads
        return conn

    def _schema_readable(self, conn: sqlite3.Connection) -> bool:
        try:
            return bool(conn.execute("SELECT name FROM sqlite_schema").fetchall())
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                return False
            raise

    def _copy(self) -> int | None:
        """Copy the kept file into the scratch folder with what its WAL committed written in
        (read by `wal`, which goes past damage SQLite would stop at); the WAL's page size."""
        shutil.copyfile(self.kept, self.copy)
        if not self.has_wal:
            return None
        kept_wal = wal.wal_path(self.kept)
        log = wal.read(self.kept)
        if log is not None:
            if wal.apply(log, self.copy):
                self.wal_applied = True
            return log.page_size
        shutil.copyfile(kept_wal, wal.wal_path(self.copy))  # unrecognised: let SQLite judge
        return _wal_page_size(kept_wal)

    def _open(self) -> sqlite3.Connection:
        with self.kept.open("rb") as fh:
            intact_header = fh.read(16) == MAGIC
        if intact_header and not self.has_wal:
            # Read in place: read-only and immutable, so nothing (not even a lock) touches it.
            conn = self._connect(self.kept.resolve().as_uri() + "?mode=ro&immutable=1", uri=True)
            if self._schema_readable(conn):
                return conn
            conn.close()
        # A copy (with its WAL written in), header rebuilt if gone.
        hint = self._copy()
        with self.copy.open("rb") as fh:
            intact_header = fh.read(16) == MAGIC
        if intact_header:
            conn = self._connect(str(self.copy))
            if self._schema_readable(conn):
                return conn
            conn.close()
        size = self.copy.stat().st_size
        body = bytearray(self.copy.read_bytes())
        in_wal = self.has_wal and not self.wal_applied
        for page_size in ([hint] if hint else []) + [p for p in PAGE_SIZES if p != hint]:
            body[:100] = _header(page_size, max(1, size // page_size), in_wal)
            self.copy.write_bytes(bytes(body))
            conn = self._connect(str(self.copy))
            if self._schema_readable(conn):
                self.header_rebuilt = True
                return conn
            conn.close()
        raise sqlite3.DatabaseError("the file's schema cannot be read under any page size")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> DamagedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ----------------------------------------------------------------------------
    def tables(self) -> set[str]:
        rows = self.conn.execute("SELECT name FROM sqlite_schema WHERE type='table'").fetchall()
        return {str(r[0]) for r in rows}

    def indexes(self) -> set[str]:
        rows = self.conn.execute("SELECT name FROM sqlite_schema WHERE type='index'").fetchall()
        return {str(r[0]) for r in rows}

    def columns(self, table: str) -> list[str]:
        return [str(r[1]) for r in self.conn.execute(f'PRAGMA table_info("{table}")')]

    # -- rows ------------------------------------------------------------------------------
    def _rows(self, sql: str, args: Sequence[Any]) -> tuple[list[tuple[Any, ...]], bool]:
        """The rows a query yields before a page error stops it, and whether one did."""
        got: list[tuple[Any, ...]] = []
        try:
            for row in self.conn.execute(sql, args):
                got.append(row)
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            return got, True
        return got, False

    def _seek(self, table: str, pos: int) -> int | _Damaged | None:
        rows, broke = self._rows(
            f'SELECT rowid FROM "{table}" WHERE rowid >= ? ORDER BY rowid LIMIT 1', (pos,)
        )
        if rows:
            return int(rows[0][0])
        return DAMAGED if broke else None

    def _past_damage(self, table: str, bad: int) -> int | None:
        """The first position after `bad` (where a seek fails) at which a seek succeeds."""
        lo, step = bad, 1
        while True:
            hi = min(lo + step, MAX_ROWID)
            if self._seek(table, hi) is not DAMAGED:
                break
            if hi == MAX_ROWID:
                return None
            lo, step = hi, step * 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._seek(table, mid) is DAMAGED:
                lo = mid
            else:
                hi = mid
        return hi

    def _scan(self, table: str, scan: str, one: str, result: TableRead) -> None:
        """Rows in rowid order, resuming past each page error (a first, quick pass)."""
        pos: int | None = MIN_ROWID
        while pos is not None:
            got, broke = self._rows(scan, (pos,))
            result.rows.extend(got)
            if not broke:
                break
            result.damaged = True
            if got:
                pos = int(got[-1][0]) + 1
            found = self._seek(table, pos)
            if isinstance(found, _Damaged):
                pos = self._past_damage(table, pos)
            elif found is None:
                pos = None
            else:
                single, _ = self._rows(one, (found,))
                result.rows.extend(single)
                pos = found + 1

    def _one(self, sql: str, rowid: int) -> tuple[Any, ...] | _Damaged | None:
        rows, broke = self._rows(sql, (rowid,))
        if rows:
            return rows[0]
        return DAMAGED if broke else None

    def _sequence(self, table: str) -> int | None:
        if "sqlite_sequence" not in self.tables():
            return None
        rows, _ = self._rows("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,))
        return int(rows[0][0]) if rows and isinstance(rows[0][0], int) else None

    def existing_rowids(self, table: str) -> set[int] | None:
        """Every rowid of `table`, from an index that lists every row (not a partial one) and
        reads whole; None when no such index survives."""
        found = self.conn.execute(
            "SELECT name, sql FROM sqlite_schema WHERE type='index' AND tbl_name=?", (table,)
        ).fetchall()
        for name, sql in found:
            if sql is not None and " WHERE " in str(sql).upper():
                continue
            cols = [r[2] for r in self.conn.execute(f'PRAGMA index_info("{name}")')]
            if not cols or cols[0] is None:
                continue
            rows, broke = self._rows(
                f'SELECT rowid FROM "{table}" INDEXED BY "{name}" '
                f'WHERE "{cols[0]}" IS NOT NULL OR "{cols[0]}" IS NULL',
                (),
            )
            if not broke:
                return {int(r[0]) for r in rows}
        return None

    def read_table(self, table: str, columns: Iterable[str]) -> TableRead:
        """Every row of `table` that can be read. Once a page error is met, each rowid up to the
        largest one known (the scan's, `sqlite_sequence`'s, an index's) is looked up on its own:
        a lookup descends from the root, so only the rows on damaged pages fail, and exactly
        those count as unreadable (those an intact index lists, when one survives)."""
        cols = list(columns)
        result = TableRead(cols)
        listed = ", ".join(f'"{c}"' for c in cols)
        scan = f'SELECT rowid, {listed} FROM "{table}" WHERE rowid >= ? ORDER BY rowid'
        one = f'SELECT rowid, {listed} FROM "{table}" WHERE rowid = ?'
        self._scan(table, scan, one, result)
        if not result.damaged:
            return result
        # A damaged leaf can yield cells with made-up rowids: only what a lookup confirms counts.
        confirmed = [int(r[0]) for r in result.rows if self._one(one, int(r[0])) == r]
        exists = self.existing_rowids(table)
        sequence = self._sequence(table)
        listed_ids = set(exists or ())
        if sequence is not None:
            listed_ids = {i for i in listed_ids if i <= sequence}
        top = max([*confirmed, *listed_ids, sequence or 0])
        low = min([1, *confirmed, *listed_ids])
        result.rows, failed = [], set()
        for rowid in range(low, top + 1):
            row = self._one(one, rowid)
            if isinstance(row, _Damaged):
                failed.add(rowid)
            elif row is not None:
                result.rows.append(row)
        result.unreadable = failed if exists is None else failed & exists
        return result

    def index_keys(
        self, table: str, index: str, column: str, values: Iterable[Any]
    ) -> Iterator[tuple[Any, int]]:
        """(value, rowid) for each entry of `index` (leading column `column`) equal to one of
        `values`, read from the index alone; each value is its own seek, so damage under one
        value does not hide the others."""
        if index not in self.indexes():
            return
        for value in values:
            try:
                rows, _ = self._rows(
                    f'SELECT "{column}", rowid FROM "{table}" INDEXED BY "{index}" '
                    f'WHERE "{column}" = ?',
                    (value,),
                )
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_ERROR:
                    raise
                continue  # a partial index that holds no entries of this value
            for v, rowid in rows:
                yield v, int(rowid)

    def index_rowids(self, table: str, index: str, column: str) -> dict[int, Any]:
        """rowid -> indexed value for every entry of `index` readable in one ordered pass."""
        if index not in self.indexes():
            return {}
        rows, _ = self._rows(
            f'SELECT "{column}", rowid FROM "{table}" INDEXED BY "{index}" '
            f'WHERE "{column}" IS NOT NULL OR "{column}" IS NULL ORDER BY "{column}"',
            (),
        )
        return {int(r): v for v, r in rows}
