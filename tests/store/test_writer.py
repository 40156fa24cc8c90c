"""One writer at a time: an idle store writes on the caller's thread, a busy one queues the write
behind what is already waiting, and both keep each thread's order."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agent.store import Durability, Store
from agent.store.models import Setting
from agent.store.writer import SingleWriter


def test_an_idle_store_writes_on_the_callers_thread(store: Store) -> None:
    assert store.write(threading.get_ident) == threading.get_ident()


def test_a_write_waiting_on_the_writer_thread_is_not_overtaken(store: Store) -> None:
    release = threading.Event()
    order: list[str] = []

    def slow() -> None:
        release.wait(5)
        order.append("queued first")

    first = store._writer.submit(slow)  # occupies the writer thread
    done = threading.Event()

    def second() -> None:
        store.write(lambda: order.append("written second"))
        done.set()

    t = threading.Thread(target=second)
    t.start()
    assert not done.wait(0.05)  # it may not run beside (or before) the busy writer
    release.set()
    t.join(5)
    first.result(5)
    assert order == ["queued first", "written second"]


def test_a_write_inside_a_direct_write_joins_its_transaction(store: Store) -> None:
    def outer() -> None:
        Setting.create(key="outer", value="1")
        store.write(lambda: Setting.create(key="inner", value="2"))
        raise ValueError("undo both")

    with pytest.raises(ValueError):
        store.write(outer)
    assert store.read(lambda: Setting.select().count()) == 0


def test_a_thread_inside_a_read_transaction_queues_its_write(store: Store) -> None:
    def reading() -> int:
        with store.db.atomic():
            return store.write(threading.get_ident)

    assert store.read(reading) != threading.get_ident()


def test_direct_writers_follow_a_durability_change(store: Store) -> None:
    def level() -> int:
        return int(store.db.execute_sql("PRAGMA synchronous").fetchone()[0])

    assert store.write(level) == 1
    store.set_durability(Durability.FULL)
    assert store.write(level) == 2


def test_closing_waits_for_a_direct_write_and_later_writes_are_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.sqlite3")
    inside, finish = threading.Event(), threading.Event()

    def long_write() -> None:
        inside.set()
        finish.wait(5)
        Setting.create(key="k", value="v")

    writer = threading.Thread(target=lambda: store.write(long_write))
    writer.start()
    assert inside.wait(5)
    closer = threading.Thread(target=store.close)
    closer.start()
    closer.join(0.05)
    assert closer.is_alive()  # the write holds the writer; close waits for it
    finish.set()
    writer.join(5)
    closer.join(5)
    with pytest.raises(RuntimeError, match="closed"):
        store.write(lambda: None)
    reopened = Store(tmp_path / "a.sqlite3")
    try:
        assert reopened.read(lambda: Setting.get_by_id("k").value) == "v"
    finally:
        reopened.close()


def test_without_a_direct_runner_every_write_goes_to_the_thread() -> None:
    writer = SingleWriter("w", lambda fn: fn())
    try:
        assert writer.run(threading.get_ident) != threading.get_ident()
    finally:
        writer.stop()


def test_a_large_write_always_runs_on_the_writer_thread(store: Store) -> None:
    assert store.write(threading.get_ident, large=True) != threading.get_ident()
