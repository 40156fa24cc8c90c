"""One fixture, three backends: every conformance test runs against memory, SQLite and Redis."""

from __future__ import annotations

import uuid
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
    params=["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)],
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
        elif request.param == "sqlite":
            s = Store(tmp_path / f"agent{len(made)}.db")
            cleanup.append(s.close)
            box = SQLiteBackend(s, fake_clock, **kwargs)
        else:
            import redis

            from agent.queue.redis_backend import RedisBackend

            client = redis.Redis(host="127.0.0.1", port=6379, db=14)
            prefix = f"test:{uuid.uuid4().hex}"

            def drop(client: redis.Redis = client, prefix: str = prefix) -> None:
                keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
                if keys:
                    client.delete(*keys)
                client.close()

            cleanup.append(drop)
            box = RedisBackend(client, prefix, fake_clock, **kwargs)
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
