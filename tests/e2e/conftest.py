"""A real agent (store, outbox, client, pipeline, engine) against the simulator in process."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agent.api.facade import Agent, AgentOptions
from agent.clock import FakeClock
from agent.credentials import ApiSecretBundle
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator

BASE = "http://sim.test"


@dataclass
class World:
    sim: Simulator
    agent: Agent
    clock: FakeClock
    data_dir: Path


async def _always_online() -> bool:
    return True


def options(sim: Simulator, clock: FakeClock, data_dir: Path) -> AgentOptions:
    return AgentOptions(
        data_dir=data_dir,
        directory_url=BASE + "/ATServicesRest/",
        transport=httpx.ASGITransport(app=sim.app),
        clock=clock,
        credentials=ApiSecretBundle(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE),
        technician_resource_id=sim.technician_resource_id,
        probe=_always_online,
        sample_metrics=False,  # its loop would race a fake clock forward
    )


@contextlib.asynccontextmanager
async def open_world(tmp_path: Path, seed: str, tickets: int) -> AsyncIterator[World]:
    """An agent on a fake clock against an in-process simulator without latency."""
    clock = FakeClock()
    sim = Simulator(seed=seed, tickets=tickets, clock=clock)
    sim.limits.latency_enabled = False
    agent = await Agent.open(options(sim, clock, tmp_path))
    try:
        yield World(sim, agent, clock, tmp_path)
    finally:
        await agent.close()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with open_world(tmp_path, "e2e", 120) as opened:
        yield opened
