"""The drain keeps its batch size while every call is quick, however long the whole batch takes;
a slow call halves it. Real agent and store against the simulator on a fake clock, each call
served in `seconds` of that clock."""

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


def served_in(app: Asgi, clock: FakeClock, seconds: list[float]) -> Asgi:
    """`app`, each request taking `seconds[0]` of the fake clock to serve."""

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/Tickets"):
            clock.advance(seconds[0])
        await app(scope, receive, send)

    return wrapped


async def drain_edits(tmp_path: Path, per_call: float) -> tuple[int, int, int]:
    """Batch size before and after a drain of an edit to each of the technician's tickets, and
    how many of those edits are not on the server."""
    clock = FakeClock()
    sim = Simulator(seed="batch-latency", tickets=60, clock=clock)
    sim.limits.latency_enabled = False
    seconds = [0.0]
    opts = options(sim, clock, tmp_path)
    opts.transport = httpx.ASGITransport(app=served_in(sim.app, clock, seconds))
    agent = await Agent.open(opts)
    try:
        await agent.sync_now()
        ids = sorted(t.id for t in await agent.my_tickets())
        assert len(ids) >= 30
        await agent.set_work_offline(True)
        for tid in ids:
            await agent.update_ticket(tid, title=f"Batch {tid}")
        assert agent.engine is not None
        before = agent.engine.dispatcher.sizer.size
        seconds[0] = per_call
        await agent.set_work_offline(False)
        await agent.sync_now()
        after = agent.engine.dispatcher.sizer.size
        records = sim.tenant.records["Tickets"]
        missing = sum(1 for tid in ids if records[tid]["title"] != f"Batch {tid}")
        return before, after, missing
    finally:
        await agent.close()


async def test_a_healthy_drain_keeps_its_batch_size_though_the_batch_takes_seconds(
    tmp_path: Path,
) -> None:
    before, after, missing = await drain_edits(tmp_path, per_call=0.1)  # a batch: several seconds
    assert missing == 0
    assert after >= before


async def test_a_slow_call_halves_the_batch(tmp_path: Path) -> None:
    before, after, missing = await drain_edits(tmp_path, per_call=3.0)
    assert missing == 0
    assert after < before
