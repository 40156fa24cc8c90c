"""A real agent against the simulator served over a loopback socket, where a slow server really
applies a write after the client gave up (uvicorn does not cancel the request it is serving).

The agent runs on a `FakeClock`: days of queueing are a clock advance. The server's wall clock
follows it (plus an optional skew) but sleeps for real, so the `latency` fault holds a request
past the client's real deadline and then applies it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from agent.api.facade import Agent, AgentOptions
from agent.clock import FakeClock
from agent.credentials import ApiSecretBundle
from agent.resilience.timeouts import AdaptiveTimeouts, TimeoutSettings
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator, serve
from agent.simulator.faults import FaultRule

# The client's whole-call deadline in these tests: connect + read (times 1.1 in the session).
SHORT = TimeoutSettings(connect=0.3, read_min=0.1, read_default=0.6)
# How long the slow server holds a write before applying it (well past SHORT's deadline).
LATE = 2.5


class ServerClock:
    """The simulated server's clock: the agent's fake wall time plus `skew`, real sleeps."""

    def __init__(self, agent_clock: FakeClock, skew: float = 0.0) -> None:
        self.agent_clock, self.skew = agent_clock, skew

    def monotonic(self) -> float:
        return self.agent_clock.monotonic()

    def now(self) -> datetime:
        return self.agent_clock.now() + timedelta(seconds=self.skew)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


@dataclass
class World:
    sim: Simulator
    agent: Agent
    clock: FakeClock
    base: str
    data_dir: Path
    timeouts: TimeoutSettings

    async def reopen(self) -> None:
        """Close the agent and start it again on the same profile (a restart)."""
        await self.agent.close()
        self.agent = await _open(self.sim, self.clock, self.base, self.data_dir, self.timeouts)

    def records(self, route: str, **match: Any) -> list[dict[str, Any]]:
        """The server's own records of `route` whose fields equal `match` (the ground truth)."""
        return [
            r
            for r in self.sim.dump()[route].values()
            if all(r.get(k) == v for k, v in match.items())
        ]


async def _always_online() -> bool:
    return True


async def _open(
    sim: Simulator, clock: FakeClock, base: str, data_dir: Path, timeouts: TimeoutSettings
) -> Agent:
    agent = await Agent.open(
        AgentOptions(
            data_dir=data_dir,
            directory_url=base + "/ATServicesRest/",
            clock=clock,
            credentials=ApiSecretBundle(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE),
            technician_resource_id=sim.technician_resource_id,
            probe=_always_online,
            sample_metrics=False,
        )
    )
    assert agent.pipeline is not None
    agent.pipeline.timeouts = AdaptiveTimeouts(timeouts)
    return agent


@asynccontextmanager
async def socket_world(
    tmp_path: Path, *, skew: float = 0.0, timeouts: TimeoutSettings = SHORT
) -> AsyncIterator[World]:
    clock = FakeClock()
    sim = Simulator(seed="creates", tickets=40, clock=ServerClock(clock, skew))
    sim.limits.latency_enabled = False
    async with serve(sim) as base:
        agent = await _open(sim, clock, base, tmp_path, timeouts)
        world = World(sim, agent, clock, base, tmp_path, timeouts)
        try:
            yield world
        finally:
            await world.agent.close()


async def eventually(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait (really) until the slow server has done what `condition` looks for."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the server never got there")


def a_failed_read_after(sim: Simulator, rule: FaultRule) -> list[FaultRule]:
    """Once `rule` has fired, the next read of the tickets answers 503: the retry of a write
    whose answer `rule` took finds the server unreadable, so the write stays uncertain. The
    list returned holds that 503 rule once it is added."""
    fire = sim.faults.fire
    failing: list[FaultRule] = []

    def then_a_failed_read(kinds: tuple[str, ...], key: str, verb: str) -> list[FaultRule]:
        if rule.fired and not failing:
            failing.append(sim.faults.error(503, route="tickets/query*", count=1))
        return fire(kinds, key, verb)

    sim.faults.fire = then_a_failed_read  # type: ignore[method-assign]
    return failing
