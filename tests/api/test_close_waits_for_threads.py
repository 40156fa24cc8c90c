"""Closing the agent waits for thread work a cancelled call left running: the store is never
closed under a thread that still reads it (that crashed the process inside SQLite)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from agent.api.facade import Agent
from agent.clock import FakeClock
from agent.security.retention import RetentionReport
from agent.simulator import Simulator
from tests.e2e.conftest import options


async def test_close_waits_for_a_cancelled_retention_still_reading_the_store(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    sim = Simulator(seed="close-waits", tickets=3, clock=clock)
    agent = await Agent.open(options(sim, clock, tmp_path))
    started = threading.Event()
    release = threading.Event()
    read_after_release: list[object] = []
    real_run = agent.retention.run

    def slow_run() -> RetentionReport:
        started.set()
        release.wait(10)
        read_after_release.append(agent.profile.settings.sync_interval_s)  # reads the store
        return real_run()

    agent.retention.run = slow_run  # type: ignore[method-assign]
    clock.advance(2 * 86_400)
    agent._retention_due()  # what the sync loop does after a round, a day later
    assert await asyncio.to_thread(started.wait, 10)
    closing = asyncio.ensure_future(agent.close())  # cancels the retention task
    await asyncio.sleep(0.2)
    assert not closing.done()  # still waiting for the thread
    release.set()
    await asyncio.wait_for(closing, 10)
    assert len(read_after_release) == 1  # the thread read the store before it closed
