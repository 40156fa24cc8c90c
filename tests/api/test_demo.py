"""The built-in demo tenant: the agent opens signed in to it, and its dispatcher starts in the
background (the window does not wait for it)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.api.facade import Agent


async def _dispatcher_running(agent: Agent) -> bool:
    assert agent._http is not None and agent.demo_base_url is not None
    reply = await agent._http.get(f"{agent.demo_base_url}/_sim/state")
    return bool(reply.json()["dispatcherRunning"])


async def test_the_demo_dispatcher_starts_in_the_background(tmp_path: Path) -> None:
    agent = await Agent.open_demo(tmp_path)
    try:
        assert agent.engine is not None and agent.options.demo
        await asyncio.gather(*agent._background)  # the start request, still in flight or done
        assert await _dispatcher_running(agent)
    finally:
        await agent.close()


async def test_without_the_dispatcher_nothing_starts_it(tmp_path: Path) -> None:
    agent = await Agent.open_demo(tmp_path, dispatcher=False)
    try:
        assert not await _dispatcher_running(agent)
    finally:
        await agent.close()


def test_saving_the_demo_tenant_where_it_cannot_be_written_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """It runs while the demo closes, often because opening failed: the real error must stay
    the one reported."""
    from agent.api import demo
    from agent.simulator import Simulator

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    demo.save(Simulator(seed="demo").tenant, blocked)
    assert "could not be saved" in caplog.text
