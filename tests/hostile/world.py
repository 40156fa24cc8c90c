"""A real agent (through the facade) against the hostile app wrapping an in-process simulator,
on a fake clock; the simulator's own records are the ground truth."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from agent.api.facade import Agent, AgentOptions
from agent.clock import FakeClock
from agent.resilience.timeouts import AdaptiveTimeouts, TimeoutSettings
from agent.simulator import Simulator
from tests.e2e.conftest import options
from tests.hostile.app import HostileApp
from tests.sync.engine_world import World

# Deadlines for the drip tests: a whole call may take ~0.8 s (in process, a call takes ms).
SHORT = TimeoutSettings(connect=0.2, read_min=0.1, read_default=0.5)
TINY = TimeoutSettings(connect=0.1, read_min=0.05, read_default=0.2)  # ~0.3 s a call


@dataclass
class HostileWorld(World):
    app: HostileApp

    def agent_options(self) -> AgentOptions:
        return hostile_options(self.sim, self.clock, self.data_dir, self.app)

    async def reopen(self) -> Agent:
        """A restart on the same profile: the zone is looked up again at the first call."""
        await self.agent.close()
        self.agent = await Agent.open(self.agent_options())
        return self.agent

    def short_deadlines(self, settings: TimeoutSettings = SHORT) -> None:
        assert self.agent.pipeline is not None
        self.agent.pipeline.timeouts = AdaptiveTimeouts(settings)

    def my_tickets_on_server(self) -> set[int]:
        me = self.sim.technician_resource_id
        return {
            tid for tid, t in self.sim.dump()["Tickets"].items() if t["assignedResourceID"] == me
        }


def hostile_options(
    sim: Simulator, clock: FakeClock, data_dir: Path, app: HostileApp
) -> AgentOptions:
    return dataclasses.replace(
        options(sim, clock, data_dir), transport=httpx.ASGITransport(app=app)
    )


@contextlib.asynccontextmanager
async def hostile_world(
    data_dir: Path, *, seed: str = "hostile", tickets: int = 40
) -> AsyncIterator[HostileWorld]:
    clock = FakeClock()
    sim = Simulator(seed=seed, tickets=tickets, clock=clock)
    sim.limits.latency_enabled = False
    app = HostileApp(sim)
    agent = await Agent.open(hostile_options(sim, clock, data_dir, app))
    world = HostileWorld(sim, agent, clock, data_dir, app)
    try:
        yield world
    finally:
        await world.agent.close()
