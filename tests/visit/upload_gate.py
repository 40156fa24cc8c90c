"""A simulator whose attachment uploads stop part-way: the server takes the first bytes of each
upload's body, then waits for a gate before it reads the rest (a slow link, frozen mid-upload),
so tests see an upload with some of its bytes sent and the rest still leaving."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx

from agent.api.facade import Agent
from agent.clock import FakeClock
from agent.simulator import Simulator
from tests.e2e.conftest import World, options


class HalfRead:
    """The simulator's ASGI app, reading an upload's body up to `taken` bytes until `gate`."""

    def __init__(self, app: Any, taken: int) -> None:
        self.app = app
        self.taken = taken
        self.gate = asyncio.Event()
        self.held = 0  # uploads now waiting at the gate

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        upload = (
            scope.get("type") == "http"
            and scope.get("method") == "POST"
            and str(scope.get("path", "")).endswith("/Attachments")
        )
        if not upload:
            await self.app(scope, receive, send)
            return
        read: list[dict[str, Any]] = []
        size = 0
        while size < self.taken:
            message = await receive()
            read.append(message)
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        self.held += 1
        try:
            await self.gate.wait()
        finally:
            self.held -= 1

        async def replay() -> dict[str, Any]:
            return read.pop(0) if read else await receive()

        await self.app(scope, replay, send)


@contextlib.asynccontextmanager
async def half_read_world(tmp_path: Path, taken: int) -> AsyncIterator[tuple[World, HalfRead]]:
    clock = FakeClock()
    sim = Simulator(seed="visit", tickets=40, clock=clock)
    sim.limits.latency_enabled = False
    app = HalfRead(sim.app, taken)
    opts = dataclasses.replace(
        options(sim, clock, tmp_path), transport=httpx.ASGITransport(app=app)
    )
    agent = await Agent.open(opts)
    try:
        yield World(sim, agent, clock, tmp_path), app
    finally:
        app.gate.set()
        await agent.close()


async def until(condition: Any, limit: float = 10.0) -> None:
    """Let the loop run until `condition()` holds (the upload's task moves on its own)."""
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110 (a state the upload's task reaches)
            await asyncio.sleep(0.001)
