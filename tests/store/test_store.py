"""The store opens with the promised pragmas and funnels every write through one writer."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from agent.store import DatabaseInUseError, DatabaseLockedError, DiskFullError, Durability, Store
from agent.store.models import CachedEntity, OpDependency, OutboxOp, Setting


def _pragma(store: Store, name: str) -> object:
    return store.write(lambda: store.db.execute_sql(f"PRAGMA {name}").fetchone()[0])


def test_database_opens_in_wal_with_foreign_keys_busy_timeout_and_normal_sync(store: Store) -> None:
    assert _pragma(store, "journal_mode") == "wal"
    assert _pragma(store, "foreign_keys") == 1
    assert _pragma(store, "busy_timeout") == 5000
    assert _pragma(store, "synchronous") == 1


def test_full_durability_is_selectable(store: Store) -> None:
    store.set_durability(Durability.FULL)
    assert _pragma(store, "synchronous") == 2
    store.set_durability(Durability.NORMAL)
    assert _pragma(store, "synchronous") == 1


def test_writes_from_many_threads_all_land_without_lock_errors(store: Store) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(40):
                store.write(lambda i=i: Setting.create(key=f"t{n}-{i}", value=str(i)))
                store.read(lambda: Setting.select().count())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.read(lambda: Setting.select().count()) == 240


def test_a_failing_write_leaves_nothing_behind(store: Store) -> None:
    def half_then_fail() -> None:
        Setting.create(key="first", value="1")
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        store.write(half_then_fail)
    assert store.read(lambda: Setting.select().count()) == 0


async def test_async_reads_and_writes_run_off_the_calling_thread(store: Store) -> None:
    caller = threading.get_ident()
    writer_thread = await store.awrite(lambda: threading.get_ident())
    reader_thread = await store.aread(lambda: threading.get_ident())
    assert caller not in (writer_thread, reader_thread)
    await store.awrite(lambda: Setting.create(key="k", value="v"))
    assert await store.aread(lambda: Setting.get_by_id("k").value) == "v"


def test_full_disk_gives_a_clear_error_and_writes_nothing(store: Store) -> None:
    store.write(lambda: store.db.execute_sql("PRAGMA max_page_count = 20"))
    blob = {"description": "x" * 50_000}

    def big_write() -> None:
        Setting.create(key="before", value="1")
        CachedEntity.create(entity_type="Tickets", entity_id=1, data=blob, fetched_at=1.0)

    with pytest.raises(DiskFullError) as err:
        store.write(big_write)
    assert str(store.path) in str(err.value)
    assert "not saved" in str(err.value)
    assert store.read(lambda: Setting.select().count()) == 0


def test_second_instance_on_the_same_profile_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    first = Store(path)
    try:
        with pytest.raises(DatabaseInUseError) as err:
            Store(path)
        assert str(path) in str(err.value)
        assert "Another Field Sync instance" in str(err.value)
    finally:
        first.close()
    Store(path).close()  # free again once the first one closed


def test_a_store_closed_on_another_thread_frees_the_database(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    opened: list[Store] = []
    opener = threading.Thread(target=lambda: opened.append(Store(path)))
    opener.start()
    opener.join()
    closer = threading.Thread(target=opened[0].close)
    closer.start()
    closer.join()
    Store(path).close()  # refused while the opener thread's lock was still held


def test_database_locked_by_another_program_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    Store(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        store = Store(path, busy_timeout_ms=50)
        try:
            with pytest.raises(DatabaseLockedError) as err:
                store.write(lambda: Setting.create(key="k", value="v"))
            assert str(path) in str(err.value)
            assert "nothing was lost" in str(err.value)
        finally:
            store.close()
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_foreign_keys_cascade_dependencies_with_their_operation(store: Store) -> None:
    def make() -> None:
        common = {
            "kind": "update",
            "entity_type": "Tickets",
            "fields": {},
            "base": {},
            "created_at": 1.0,
            "updated_at": 1.0,
            "fingerprint": "f" * 64,
        }
        a = OutboxOp.create(**common)
        b = OutboxOp.create(**common)
        OpDependency.create(op=b, depends_on=a)
        a.delete_instance()

    store.write(make)
    assert store.read(lambda: OpDependency.select().count()) == 0


def test_cached_entities_are_unique_per_type_and_id(store: Store) -> None:
    store.write(
        lambda: CachedEntity.create(entity_type="Tickets", entity_id=7, data={}, fetched_at=1.0)
    )
    with pytest.raises(Exception, match="UNIQUE"):
        store.write(
            lambda: CachedEntity.create(entity_type="Tickets", entity_id=7, data={}, fetched_at=2.0)
        )
