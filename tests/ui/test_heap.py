"""Startup objects leave the collector's sight once the window is up."""

from __future__ import annotations

import gc

from ui.heap import freeze_startup_objects


def test_freezing_excludes_what_is_alive_now_from_later_collections() -> None:
    before = gc.get_freeze_count()
    alive = [[] for _ in range(10)]
    try:
        # Other threads (a test runner's) may free a frozen object meanwhile: the count is
        # read as a lower bound, and the objects themselves are looked for.
        frozen = freeze_startup_objects()
        assert frozen >= before + len(alive)
        made_later = [[] for _ in range(10)]
        collected = {id(x) for x in gc.get_objects()}  # the generations a collection looks at
        assert not any(id(x) in collected for x in alive)
        assert all(id(x) in collected for x in made_later)
        gc.collect()  # collecting still works for what came after
    finally:
        gc.unfreeze()


def _cycles(n: int) -> None:
    for _ in range(n):
        a: list[object] = []
        a.append(a)


def test_the_collector_collects_on_its_own_thread_when_python_would(qapp: object) -> None:
    from ui.heap import GuiThreadCollector

    collector = GuiThreadCollector(interval_ms=10)
    was_enabled = gc.isenabled()
    collector.start()
    try:
        assert not gc.isenabled()  # no thread collects by itself any more
        gc.collect()
        assert collector.check() == 0  # nothing due
        _cycles(collector.thresholds[0] + 50)
        assert collector.check() >= collector.thresholds[0]  # the young cycles were freed
        assert collector.collections[0] >= 1
    finally:
        collector.stop()
    assert gc.isenabled() == was_enabled
