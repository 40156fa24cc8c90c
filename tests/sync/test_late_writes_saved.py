"""The horizons of writes that may still land, as the store keeps them: a restart on the same
boot waits out what is left, a reboot (its monotonic clock starts again) waits no longer than
the horizon, and a damaged row is ignored rather than stopping the agent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.clock import FakeClock
from agent.queue.operation import Operation, build_operation
from agent.store import Store
from agent.store.models import OpKind, OpState, Priority, Setting
from agent.sync.late_writes import ROW, LateWrites


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "agent.db")
    yield s
    s.close()


def update(op_id: int, title: str) -> Operation:
    return build_operation(
        op_id, OpKind.UPDATE, "Tickets", 42, None, None, None, {"title": title}, {"title": "a"},
        Priority.NORMAL, OpState.PENDING, 1, 0.0, 0.0, 0.0, None, "fp", None, None, False, None,
        None, None, True, [],
    )  # fmt: skip


def test_a_restart_on_the_same_boot_waits_what_is_left(store: Store) -> None:
    clock = FakeClock()
    before = LateWrites(clock)
    store.write(lambda: before.unanswered(update(1, "b")))
    clock.advance(100)
    after = LateWrites(clock)
    store.read(after.load)
    assert after.wait(update(2, "c")) == pytest.approx(200)
    assert after.wait(update(1, "b")) is None  # its own retry, with what went, may go
    assert after.wait(update(1, "changed")) == pytest.approx(200)


def test_after_a_reboot_no_more_than_the_horizon_is_waited(store: Store) -> None:
    clock = FakeClock(monotonic_start=50_000.0)
    store.write(lambda: LateWrites(clock).unanswered(update(1, "b")))
    rebooted = FakeClock(start=clock.now(), monotonic_start=10.0)
    rebooted.step_wall(-3_600)  # and its wall clock is an hour behind
    after = LateWrites(rebooted)
    store.read(after.load)
    wait = after.wait(update(2, "c"))
    assert wait is not None and 0 < wait <= after.horizon


@pytest.mark.parametrize("raw", ["{", '{"at": "x"}', '{"at": [1, 2], "writes": {"k": 5}}', "[]"])
def test_a_damaged_row_is_ignored(store: Store, raw: str) -> None:
    store.write(lambda: Setting.replace(key=ROW, value=raw).execute())
    late = LateWrites(FakeClock())
    store.read(late.load)
    assert late.wait(update(2, "c")) is None
