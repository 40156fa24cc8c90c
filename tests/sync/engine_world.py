"""A real agent (store file, outbox, client, pipeline, engine) against the simulator in process,
on a fake clock, with helpers that count from the simulator's own records and request ledger."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.api.facade import Agent
from agent.clock import FakeClock
from agent.simulator import Simulator
from agent.simulator.faults import FaultRule
from agent.sync.engine import SyncReport
from tests.e2e.conftest import options


@dataclass
class World:
    sim: Simulator
    agent: Agent
    clock: FakeClock
    data_dir: Path

    # -- the simulator's side (ground truth) ------------------------------------------------
    def server_ticket(self, ticket_id: int) -> dict[str, Any]:
        return self.sim.dump()["Tickets"][ticket_id]

    def usage(self) -> int:
        """Requests the tenant has made in the simulator's rolling hour."""
        return self.sim.limits.usage(self.sim.tenant.name)

    def use_budget(self, requests: int) -> None:
        """Other integrations of the tenant spend `requests` of its hourly threshold now."""
        now = self.clock.monotonic()
        self.sim.limits.ledger(self.sim.tenant.name).times.extend([now] * requests)

    def counter(self, route: str, verb: str | None = None) -> FaultRule:
        """A rule that changes nothing and counts the requests reaching `route` (`.fired`)."""
        return self.sim.faults.latency(0.0, route=route, verb=verb)

    # -- the agent's side -------------------------------------------------------------------
    async def sync(self) -> SyncReport:
        report = await self.agent.sync_now()
        assert report is not None
        return report

    async def sync_until_sent(
        self, wanted: dict[int, str], *, step: float = 5.0, rounds: int = 50
    ) -> int:
        """Sync every `step` seconds until the server has every title in `wanted`; returns the
        rounds it took (fails when `rounds` are not enough)."""
        for n in range(1, rounds + 1):
            await self.sync()
            if all(self.server_ticket(t)["title"] == v for t, v in wanted.items()):
                return n
            self.clock.advance(step)
        missing = {t: self.server_ticket(t)["title"] for t in wanted}
        raise AssertionError(f"not sent after {rounds} rounds: {missing}; {await self.ops()}")

    async def my_ticket_ids(self) -> list[int]:
        return [t.id for t in await self.agent.my_tickets()]

    async def ops(self) -> list[Any]:
        page = await self.agent.queue_page(limit=1000)
        return page.items

    async def parked_ever(self) -> bool:
        """Whether any operation is parked now or was ever sent to "needs attention"."""
        parked = await self.agent.queue_page(states=["parked"], limit=1000)
        failures = await self.agent.audit_events(action="failed")
        return bool(parked.items) or any(
            e.detail.get("action") == "park_needs_attention" for e in failures
        )


@contextlib.asynccontextmanager
async def world_at(
    data_dir: Path, *, seed: str = "pushfirst", clock: FakeClock | None = None, **sim_args: Any
) -> AsyncIterator[World]:
    clock = clock or FakeClock()
    sim = Simulator(seed=seed, tickets=60, clock=clock, **sim_args)
    sim.limits.latency_enabled = False
    world = World(sim, await Agent.open(options(sim, clock, data_dir)), clock, data_dir)
    try:
        yield world
    finally:
        await world.agent.close()  # the agent `reopen` left open, if it was called


async def reopen(world: World) -> Agent:
    """Close the agent and open a new one on the same profile (a restart), same simulator."""
    await world.agent.close()
    world.agent = await Agent.open(options(world.sim, world.clock, world.data_dir))
    return world.agent


async def new_title_edits(world: World, count: int, prefix: str = "Edited") -> dict[int, str]:
    """`count` title edits of the technician's tickets; returns {ticket id: new title}."""
    ids = (await world.my_ticket_ids())[:count]
    assert len(ids) == count, "the seed gives the technician enough tickets"
    wanted = {tid: f"{prefix} {tid}" for tid in ids}
    for tid, title in wanted.items():
        await world.agent.update_ticket(tid, title=title)
    return wanted
