"""The settings snapshot the sync loop reads on the event loop: a reload that read the database
before a change made through the facade must not put the old value back."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from agent.api.facade import Agent
from agent.clock import FakeClock
from agent.profile import Profile
from agent.simulator import Simulator
from tests.e2e.conftest import options


async def test_a_stale_reload_does_not_undo_working_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    sim = Simulator(seed="snapshot", tickets=5, clock=clock)
    agent = await Agent.open(options(sim, clock, tmp_path))
    try:
        stale = agent.profile.settings
        assert not stale.work_offline
        read_done = threading.Event()
        release = threading.Event()

        def slow_read(_profile: Profile) -> object:
            read_done.set()
            release.wait(10)
            return stale  # what the database said when the reload read it

        monkeypatch.setattr(Profile, "settings", property(slow_read))
        reload = asyncio.ensure_future(agent._reload_settings())
        await asyncio.to_thread(read_done.wait, 10)
        await agent.set_work_offline(True)  # saved through the repository, not the slow read
        release.set()
        await reload
        assert agent._settings.work_offline
        assert await agent.sync_now() is None  # working offline: no round runs
    finally:
        monkeypatch.undo()
        await agent.close()
