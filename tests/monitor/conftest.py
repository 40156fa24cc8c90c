from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.clock import FakeClock
from agent.monitor.series import SeriesStore
from agent.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "agent.sqlite3")
    yield s
    s.close()


@pytest.fixture
def series(store: Store, fake_clock: FakeClock) -> SeriesStore:
    return SeriesStore(store, fake_clock)


def now(clock: FakeClock) -> float:
    return clock.now().timestamp()
