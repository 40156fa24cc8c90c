"""Fixtures for the page tests: the program's loop (ui.loop), a real agent on a temp database
with the simulator in process, and the `AgentService` the pages talk to."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PySide6.QtWidgets import QApplication

from agent.api.facade import Agent
from agent.clock import FakeClock
from agent.simulator import Simulator
from tests.e2e.conftest import options
from ui.loop import new_event_loop
from ui.service import AgentService

T = TypeVar("T")


@dataclass
class Desk:
    """Everything a page test needs: the loop to drive, the agent, its service and the server."""

    loop: asyncio.AbstractEventLoop
    sim: Simulator
    agent: Agent
    service: AgentService
    clock: FakeClock
    data_dir: Path

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def settle(self, done: Callable[[], bool], timeout: float = 20.0) -> None:
        """Let the loop (and with it Qt) work until `done()` holds; fail after `timeout` s."""

        async def poll() -> None:
            # Polling, like qtbot.waitUntil: the condition is a widget's state, not an event.
            while not done():  # noqa: ASYNC110
                await asyncio.sleep(0.005)

        self.run(asyncio.wait_for(poll(), timeout))

    def idle(self) -> None:
        """Let every task the widgets scheduled finish."""

        async def drain() -> None:
            for _ in range(200):
                pending = [t for t in self.service._tasks if not t.done()]
                if not pending:
                    await asyncio.sleep(0)
                    if not [t for t in self.service._tasks if not t.done()]:
                        return
                await asyncio.sleep(0.005)
            raise AssertionError("widgets' calls did not finish")

        self.run(drain())


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    loop = new_event_loop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)


@pytest.fixture
def desk(qloop: asyncio.AbstractEventLoop, tmp_path: Path) -> Iterator[Desk]:
    clock = FakeClock()
    sim = Simulator(seed="ui-pages", tickets=60, clock=clock)
    sim.limits.latency_enabled = False
    agent = qloop.run_until_complete(Agent.open(options(sim, clock, tmp_path)))
    service = AgentService(agent)
    d = Desk(qloop, sim, agent, service, clock, tmp_path)
    try:
        yield d
    finally:
        qloop.run_until_complete(service.shutdown())
        qloop.run_until_complete(agent.close())
        service.deleteLater()


@pytest.fixture
def synced(desk: Desk) -> Desk:
    """A desk after the first sync: tickets, picklists and resources are in the local store."""
    report = desk.run(desk.agent.sync_now())
    assert report is not None and report.error is None, report
    return desk
