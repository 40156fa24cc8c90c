"""Turning "Work offline" off: the tenant's usage is read afresh before the queued work goes
out, as on the return after an outage (others used the hour meanwhile)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import httpx

from agent.api.facade import Agent
from agent.clock import FakeClock
from agent.simulator import Simulator
from tests.e2e.conftest import options

Scope = MutableMapping[str, Any]
Asgi = Callable[[Scope, Any, Any], Awaitable[None]]


def counting(app: Asgi, seen: list[str]) -> Asgi:
    """`app`, noting the path of every request it serves (what reached the server)."""

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(scope["path"])
        await app(scope, receive, send)

    return wrapped


def readings(seen: list[str]) -> int:
    return sum(path.endswith("/ThresholdInformation") for path in seen)


async def test_back_from_working_offline_reads_the_usage_again(tmp_path: Path) -> None:
    clock = FakeClock()
    sim = Simulator(seed="offline-toggle", tickets=5, clock=clock)
    sim.limits.latency_enabled = False
    seen: list[str] = []
    opts = options(sim, clock, tmp_path)
    opts.transport = httpx.ASGITransport(app=counting(sim.app, seen))
    agent = await Agent.open(opts)
    try:
        await agent.sync_now()  # the first sync's many calls may take a second reading
        await agent.sync_now()
        first = readings(seen)
        assert first >= 1
        await agent.sync_now()  # the reading is recent: not read again
        assert readings(seen) == first
        await agent.set_work_offline(True)
        await agent.set_work_offline(False)
        await agent.sync_now()
        assert readings(seen) == first + 1
        await agent.update_settings(work_offline=True)
        await agent.update_settings(work_offline=False)
        await agent.sync_now()
        assert readings(seen) == first + 2
    finally:
        await agent.close()
