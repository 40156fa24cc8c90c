"""One fixture, two backends: every conformance test runs against memory and SQLite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.clock import FakeClock
from agent.queue import MemoryBackend, SQLiteBackend
from agent.queue.base import LedgerOutbox
from agent.store import Store

Factory = Callable[..., LedgerOutbox]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "agent.db")
    yield s
    s.close()


@pytest.fixture(
    params=["memory", "sqlite"],
)
def make_outbox(
    request: pytest.FixtureRequest, tmp_path: Path, fake_clock: FakeClock
) -> Iterator[Factory]:
    """Build an outbox of the parametrised kind (extra keyword arguments go to the backend)."""
    made: list[Any] = []
    cleanup: list[Callable[[], None]] = []

    def factory(**kwargs: Any) -> LedgerOutbox:
        if request.param == "memory":
            box: LedgerOutbox = MemoryBackend(fake_clock, **kwargs)
        else:
            s = Store(tmp_path / f"agent{len(made)}.db")
            cleanup.append(s.close)
            box = SQLiteBackend(s, fake_clock, **kwargs)
        made.append(box)
        return box

    yield factory
    for box in made:
        box.close()
    for fn in reversed(cleanup):
        fn()


@pytest.fixture
def outbox(make_outbox: Factory) -> LedgerOutbox:
    return make_outbox()
