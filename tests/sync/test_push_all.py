"""A push round ends only once every call it started has ended: a call refused by the disk
must not leave its siblings running into the next round (where one could send again what the
round after sends too)."""

from __future__ import annotations

import asyncio

import pytest

from agent.store.errors import DiskFullError
from agent.sync.push import _all


async def test_a_failure_is_raised_only_after_every_sibling_has_ended() -> None:
    ended: list[str] = []

    async def refused() -> None:
        raise DiskFullError("agent.sqlite3")

    async def slow(name: str) -> None:
        for _ in range(5):
            await asyncio.sleep(0)
        ended.append(name)

    with pytest.raises(DiskFullError):
        await _all(refused(), slow("a"), slow("b"))
    assert sorted(ended) == ["a", "b"]
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
