"""Qt tests against a real agent: the program's event loop (ui.loop) over the test's
QApplication, a real Agent on a temporary database, and the simulator in process
(httpx.ASGITransport) with a fake clock."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PySide6.QtWidgets import QApplication

from agent.api.facade import Agent, AgentOptions
from agent.clock import FakeClock
from agent.simulator import Simulator
from tests.e2e.conftest import BASE, options
from ui.loop import EventLoop, new_event_loop
from ui.service import AgentService

T = TypeVar("T")


class Loop:
    """The test's loop with the two things tests need: run a coroutine, and let the
    service's calls in flight finish (with Qt events processed meanwhile)."""

    def __init__(self, loop: EventLoop) -> None:
        self.loop = loop

    def run(self, coro: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coro)

    def settle(self, service: AgentService) -> None:
        self.run(service.settle())
        QApplication.processEvents()

    def until(self, predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
        """Run the loop until `predicate()` holds (polling, like qtbot.waitUntil)."""

        async def wait() -> None:
            deadline = self.loop.time() + timeout_s
            while not predicate():
                if self.loop.time() > deadline:
                    raise AssertionError("condition not reached in time")
                await asyncio.sleep(0.005)

        self.run(wait())


@pytest.fixture(autouse=True, scope="session")
def _collect_on_the_gui_thread_only() -> Iterator[None]:
    """As the program does (ui.heap.GuiThreadCollector): no collection on a worker thread, where
    it could destroy a Qt object on the wrong thread."""
    was_enabled = gc.isenabled()
    gc.disable()
    yield
    if was_enabled:
        gc.enable()


@pytest.fixture(autouse=True)
def _login_entries_in_a_temporary_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Starting the window makes the login entry follow the setting: never the user's own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture(autouse=True)
def _collect_after_each_test() -> Iterator[None]:
    yield
    gc.collect()


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[Loop]:
    loop = new_event_loop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield Loop(loop)
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)


@dataclass
class Shell:
    sim: Simulator
    agent: Agent
    service: AgentService
    clock: FakeClock
    data_dir: Path
    loop: Loop

    def settle(self) -> None:
        self.loop.settle(self.service)

    def status(self) -> Any:
        return self.loop.run(self.agent.status())


async def _offline() -> bool:
    return False


def _open(qloop: Loop, tmp_path: Path, **overrides: Any) -> tuple[Simulator, Agent, FakeClock]:
    clock = FakeClock()
    sim = Simulator(seed="ui", tickets=60, clock=clock)
    sim.limits.latency_enabled = False
    opts: AgentOptions = options(sim, clock, tmp_path)
    for key, value in overrides.items():
        setattr(opts, key, value)
    agent = qloop.run(Agent.open(opts))
    return sim, agent, clock


@pytest.fixture
def shell(qloop: Loop, tmp_path: Path) -> Iterator[Shell]:
    """A signed-in agent (not yet synced) with its AgentService."""
    sim, agent, clock = _open(qloop, tmp_path)
    service = AgentService(agent)
    try:
        yield Shell(sim, agent, service, clock, tmp_path, qloop)
    finally:
        qloop.run(service.shutdown())
        qloop.run(agent.close())


@pytest.fixture
def signed_out_shell(qloop: Loop, tmp_path: Path) -> Iterator[Shell]:
    """An agent with no credentials (first run) that knows where the simulator is."""
    sim, agent, clock = _open(qloop, tmp_path, credentials=None, technician_resource_id=None)
    service = AgentService(agent)
    try:
        yield Shell(sim, agent, service, clock, tmp_path, qloop)
    finally:
        qloop.run(service.shutdown())
        qloop.run(agent.close())


__all__ = ["BASE", "Loop", "Shell"]
