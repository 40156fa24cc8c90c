"""A full disk, a read-only file or folder and I/O errors are conditions of the machine, not
damage: opening says which, in one line, and never moves a healthy file aside."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from agent.store import (
    DatabaseCorruptError,
    DatabaseLockedError,
    DiskFullError,
    Store,
    StoreError,
)
from agent.store import probe as probe_module
from agent.store.errors import (
    DatabaseAccessError,
    DatabaseReadOnlyError,
    DiskIOError,
    translate,
)
from agent.store.models import Setting
from tests.store.machine import fill, immutable, listing, read_only_view, small_tmpfs


def _with_edits(path: Path, n: int = 20) -> str:
    with Store(path) as store:
        for i in range(n):
            store.write(lambda i=i: Setting.create(key=f"edit-{i}", value="x" * 200))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _edits(path: Path) -> int:
    with Store(path) as store:
        assert store.recovery is None
        return store.read(lambda: Setting.select().where(Setting.key.startswith("edit-")).count())


def test_opening_on_a_full_disk_says_so_and_moves_nothing(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk") as disk:
        path = disk / "profile" / "agent.sqlite3"
        digest = _with_edits(path)
        before = listing(path.parent)
        filler = fill(disk)
        with pytest.raises(DiskFullError) as err:
            Store(path)
        message = str(err.value)
        assert "full" in message and str(path) in message and "\n" not in message
        assert "free some space" in message.lower() and "nothing already saved was lost" in message
        assert not [n for n in listing(path.parent) if ".corrupt-" in n]
        assert set(before) <= set(listing(path.parent))
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
        filler.unlink()  # space is back: everything is still there
        assert _edits(path) == 20


def test_creating_the_database_on_a_full_disk_says_so(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk", size="1m") as disk:
        fill(disk)
        with pytest.raises(DiskFullError):
            Store(disk / "agent.sqlite3")


def test_an_immutable_database_file_is_read_only_not_damaged(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    digest = _with_edits(path)
    before = listing(tmp_path)
    with immutable(path):
        with pytest.raises(DatabaseReadOnlyError) as err:
            Store(path)
        assert "read-only" in str(err.value) and str(path) in str(err.value)
        assert listing(tmp_path) == before
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert _edits(path) == 20


def test_a_read_only_folder_is_read_only_not_damaged(tmp_path: Path) -> None:
    folder = tmp_path / "profile"
    path = folder / "agent.sqlite3"
    _with_edits(path)
    (folder / "agent.sqlite3.lock").unlink()
    before = listing(folder)
    with read_only_view(folder, tmp_path / "ro") as view:
        with pytest.raises(DatabaseReadOnlyError) as err:
            Store(view / "agent.sqlite3")
        assert "read-only" in str(err.value)
        assert "damaged" not in str(err.value)
    assert listing(folder) == before
    assert _edits(path) == 20


def _fail_probe_with(monkeypatch: pytest.MonkeyPatch, code: int, name: str, text: str) -> None:
    def connect(*_a: object, **_k: object) -> sqlite3.Connection:
        exc = sqlite3.OperationalError(text)
        exc.sqlite_errorcode = code  # type: ignore[attr-defined]
        exc.sqlite_errorname = name  # type: ignore[attr-defined]
        raise exc

    monkeypatch.setattr(probe_module, "connect_read_only", connect)


@pytest.mark.parametrize(
    ("code", "name", "text", "expected"),
    [
        (sqlite3.SQLITE_IOERR_READ, "SQLITE_IOERR_READ", "disk I/O error", DiskIOError),
        (sqlite3.SQLITE_CANTOPEN, "SQLITE_CANTOPEN", "unable to open", DatabaseAccessError),
        (sqlite3.SQLITE_PERM, "SQLITE_PERM", "access permission denied", DatabaseAccessError),
        (sqlite3.SQLITE_READONLY, "SQLITE_READONLY", "readonly database", DatabaseReadOnlyError),
        (sqlite3.SQLITE_FULL, "SQLITE_FULL", "database or disk is full", DiskFullError),
    ],
)
def test_a_condition_of_the_machine_while_checking_the_file_moves_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    name: str,
    text: str,
    expected: type[StoreError],
) -> None:
    path = tmp_path / "agent.sqlite3"
    _with_edits(path)
    before = listing(tmp_path)
    _fail_probe_with(monkeypatch, code, name, text)
    with pytest.raises(expected) as err:
        Store(path)
    assert "\n" not in str(err.value) and "no file was moved" in str(err.value)
    assert listing(tmp_path) == before
    monkeypatch.undo()
    assert _edits(path) == 20


def test_only_confirmed_damage_moves_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "agent.sqlite3"
    _with_edits(path)
    _fail_probe_with(monkeypatch, sqlite3.SQLITE_CORRUPT, "SQLITE_CORRUPT", "malformed")
    with Store(path) as store:
        assert store.recovery is not None and store.recovery.moved_to.exists()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (sqlite3.SQLITE_FULL, DiskFullError),
        (sqlite3.SQLITE_READONLY_DBMOVED, DatabaseReadOnlyError),
        (sqlite3.SQLITE_BUSY_SNAPSHOT, DatabaseLockedError),
        (sqlite3.SQLITE_LOCKED_SHAREDCACHE, DatabaseLockedError),
        (sqlite3.SQLITE_CANTOPEN_ISDIR, DatabaseAccessError),
        (sqlite3.SQLITE_IOERR_FSYNC, DiskIOError),
        (sqlite3.SQLITE_CORRUPT_INDEX, DatabaseCorruptError),
    ],
)
def test_errors_are_told_apart_by_result_code_not_by_text(
    tmp_path: Path, code: int, expected: type[StoreError]
) -> None:
    exc = sqlite3.OperationalError("some words that match nothing")
    exc.sqlite_errorcode = code  # type: ignore[attr-defined]
    assert isinstance(translate(exc, tmp_path / "agent.sqlite3"), expected)


def test_a_write_refused_as_read_only_says_read_only(store: Store) -> None:
    conn_pragma = "PRAGMA query_only = 1"  # SQLite then answers every write with READONLY

    def write() -> None:
        store.db.execute_sql(conn_pragma)
        try:
            Setting.create(key="k", value="v")
        finally:
            store.db.execute_sql("PRAGMA query_only = 0")

    with pytest.raises(DatabaseReadOnlyError) as err:
        store.write(write)
    assert "read-only" in str(err.value)
    assert store.read(lambda: Setting.select().count()) == 0


def test_a_database_made_immutable_while_open_is_said_to_be_read_only(tmp_path: Path) -> None:
    """Made immutable (or remounted read-only) behind the program's back: the write it refuses
    is named read-only, not an I/O error, and what was saved before stays."""
    path = tmp_path / "agent.sqlite3"
    with Store(path) as store:
        store.write(lambda: Setting.create(key="before", value="kept"))
        wal = Path(f"{path}-wal")
        with immutable(path), immutable(wal):
            with pytest.raises(DatabaseReadOnlyError) as err:
                store.write(lambda: Setting.create(key="after", value="refused"))
            assert "read-only" in str(err.value)
        assert store.read(lambda: [s.key for s in Setting.select()]) == ["before"]
