"""The rule telling a damaged write-ahead log from the torn last write of a crash (agent.store.wal),
on real WAL files written by SQLite."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from agent.store import wal

PAGE = 4096


def _crashed_log(tmp_path: Path, transactions: int = 4) -> tuple[Path, list[tuple[int, int]]]:
    """A database whose `transactions` inserts live only in its WAL (copied while open, as a crash
    leaves it); the frame index ranges [first, last] of each transaction."""
    live = tmp_path / "live.sqlite3"
    conn = sqlite3.connect(live, isolation_level=None)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("CREATE INDEX t_body ON t (body)")
    for n in range(transactions):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO t (body) VALUES (?)", [(f"{n}-{i}" * 40,) for i in range(30)])
        conn.execute("COMMIT")
    db = tmp_path / "crashed.sqlite3"
    shutil.copyfile(live, db)
    shutil.copyfile(wal.wal_path(live), wal.wal_path(db))
    conn.close()
    log = wal.read(db)
    assert log is not None and log.header_ok and log.page_size == PAGE
    ranges, first = [], 0
    for f in log.frames:
        if f.commit:
            ranges.append((first, f.index))
            first = f.index + 1
    return db, ranges


def _garble_frame(db: Path, index: int) -> None:
    raw = bytearray(wal.wal_path(db).read_bytes())
    at = wal.HEADER + index * (wal.FRAME_HEADER + PAGE) + wal.FRAME_HEADER + 100
    raw[at : at + 64] = bytes(b ^ 0xFF for b in raw[at : at + 64])
    wal.wal_path(db).write_bytes(bytes(raw))


def _rows(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM t").fetchone()[0])
    finally:
        conn.close()


def test_a_sound_log_is_not_damage(tmp_path: Path) -> None:
    db, _ = _crashed_log(tmp_path)
    assert wal.damage(db) is None


def test_damage_inside_the_last_transaction_is_a_torn_write(tmp_path: Path) -> None:
    db, ranges = _crashed_log(tmp_path)
    first, last = ranges[-1]
    assert last > first, "the last transaction has several frames"
    _garble_frame(db, first)  # its commit frame stays whole
    assert wal.damage(db) is None
    assert _rows(db) == 90, "SQLite drops the torn transaction, keeps the three before it"


def test_damage_before_a_later_commit_is_damage(tmp_path: Path) -> None:
    db, ranges = _crashed_log(tmp_path)
    _garble_frame(db, ranges[-3][0])  # the second of the four inserts
    reason = wal.damage(db)
    assert reason is not None and "damaged" in reason
    assert _rows(db) == 30, "SQLite alone would silently keep only the first transaction"


def test_a_zeroed_header_is_damage_and_the_frames_still_give_every_commit(tmp_path: Path) -> None:
    db, _ = _crashed_log(tmp_path)
    raw = wal.wal_path(db).read_bytes()
    wal.wal_path(db).write_bytes(bytes(32) + raw[32:])
    assert wal.damage(db) is not None
    log = wal.read(db)
    assert log is not None and not log.header_ok and log.page_size == PAGE
    wal.wal_path(db).unlink()
    assert wal.apply(log, db)
    assert _rows(db) == 120


def test_an_all_zero_log_is_not_damage(tmp_path: Path) -> None:
    db, _ = _crashed_log(tmp_path)
    wal.wal_path(db).write_bytes(bytes(len(wal.wal_path(db).read_bytes())))
    assert wal.damage(db) is None
