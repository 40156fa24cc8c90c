"""One adversarial scenario's world: a simulator, an agent on a real SQLite profile, one clock.

The agent runs on a `FakeClock`; the simulator runs on a `SteppedClock` over the same fake time,
whose sleeps (the `latency` fault's) end only when the scenario moves time past them, so "the
server applies the create 90 s after it arrived" is an exact statement, not a race. The
simulator is reached in process (httpx's ASGI transport) or over a real loopback socket
(uvicorn), where a client that gives up really disconnects while the server goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.api.facade import Agent, AgentOptions
from agent.clock import FakeClock
from agent.credentials import ApiSecretBundle
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator
from agent.simulator.server import serve
from agent.store.models import OpState
from tests.e2e.conftest import options
from tests.soak.truth import Typed, count

ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


class SteppedClock:
    """The simulator's clock: the shared fake time, with sleeps that end when time passes."""

    def __init__(self, fake: FakeClock) -> None:
        self.fake = fake
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def monotonic(self) -> float:
        return self.fake.monotonic()

    def now(self) -> Any:
        return self.fake.now()

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.fake.monotonic() + seconds, done))
        await done

    def release_due(self) -> None:
        now = self.fake.monotonic()
        for due, done in list(self._sleepers):
            if due <= now:
                self._sleepers.remove((due, done))
                if not done.done():
                    done.set_result(None)

    def release_all(self) -> None:
        for _, done in self._sleepers:
            if not done.done():
                done.set_result(None)
        self._sleepers.clear()

    @property
    def sleeping(self) -> int:
        return len(self._sleepers)


class InFlight:
    """Wraps the simulator's ASGI app and counts the requests it is still working on (a
    request whose client gave up is still in flight until the server has finished it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.active = 0
        self._idle: asyncio.Event | None = None

    def _event(self) -> asyncio.Event:
        if self._idle is None:
            self._idle = asyncio.Event()
            if not self.active:
                self._idle.set()
        return self._idle

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        self.active += 1
        self._event().clear()
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1
            if not self.active:
                self._event().set()

    async def idle(self) -> None:
        await self._event().wait()


@dataclass
class World:
    clock: FakeClock
    sim_clock: SteppedClock
    sim: Simulator
    inflight: InFlight
    agent: Agent
    data_dir: Path
    base: str | None
    mine: list[int] = field(default_factory=list)
    note_type: int = 0
    publish: int = 0
    role: int = 0

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.sim_clock.release_due()

    def fired(self) -> int:
        """How many times the scenario's faults fired (zero: the scenario tested nothing)."""
        return sum(rule.fired for rule in self.sim.faults.rules)

    async def server_idle(self, limit: float = 10.0) -> None:
        """Wait (real time, a few loop turns) until the server has finished every request."""
        try:
            async with asyncio.timeout(limit):
                await self.inflight.idle()
        except TimeoutError:
            raise AssertionError(
                f"{self.inflight.active} request(s) still in the simulator"
            ) from None

    async def note(self, typed: Typed, ticket_id: int, text: str) -> None:
        await self.agent.add_note(ticket_id, text, note_type=self.note_type, publish=self.publish)
        typed.create(
            "TicketNotes",
            {
                "ticketID": ticket_id,
                "description": text,
                "noteType": self.note_type,
                "publish": self.publish,
            },
        )

    async def time_entry(self, typed: Typed, ticket_id: int, text: str, hours: float) -> None:
        entry = {
            "ticketID": ticket_id,
            "dateWorked": "2026-01-05T00:00:00Z",
            "hoursWorked": hours,
            "summaryNotes": text,
            "roleID": self.role,
        }
        await self.agent.log_time(**entry)
        typed.create("TimeEntries", entry)

    async def drain(self, rounds: int = 40, step: float = 400.0) -> None:
        """Sync until nothing is left to send (parked and conflicting work stays), letting
        backoffs, leases and grace periods pass between rounds."""
        for _ in range(rounds):
            status = await self.agent.status()
            if status.pending == 0:
                return
            self.advance(step)
            await self.agent.sync_now()

    async def settle(self, rounds: int = 3) -> None:
        """A few more rounds after the outbox is empty: work a round does after the fact (a
        pull, a check for duplicates) gets its chance before the count."""
        await self.server_idle()
        await self.drain()
        for _ in range(rounds):
            self.advance(400)
            await self.agent.sync_now()
        await self.server_idle()
        await self.drain()

    async def parked(self) -> list[dict[str, Any]]:
        page = await self.agent.queue_page(states=[OpState.PARKED, OpState.CONFLICT], limit=10_000)
        out = []
        for item in page.items:
            op = await self.agent.store.aread(lambda i=item.id: self.agent.outbox.get(i))
            assert op is not None
            out.append(
                {
                    "entity_type": op.entity_type,
                    "kind": op.kind.value,
                    "target_id": op.target_id,
                    "fields": dict(op.fields),
                    "reason": op.reason or op.last_error,
                }
            )
        return out

    async def count(self, typed: Typed) -> dict[str, Any]:
        result = count(typed, self.sim.dump(), await self.parked())
        result["pending"] = (await self.agent.status()).pending
        result["integrity"] = agent_integrity(self.agent)
        return result


def agent_integrity(agent: Agent) -> str:
    """`PRAGMA integrity_check`, then the pending-values invariant: every value shown as
    pending is owned by a live operation that still sends it ("ok" when both hold)."""
    from agent.sync import overlays

    found = agent.store.integrity_check()
    if found != "ok":
        return found
    orphans = agent.store.read(lambda: overlays.find(agent.outbox))
    unshown = agent.store.read(lambda: overlays.unshown(agent.outbox))
    if unshown:
        return f"{len(unshown)} queued values show no pending mark: " + "; ".join(
            f"{op.entity_type} {op.entity_key} {name} (operation #{op.id})"
            for op, name in unshown[:5]
        )
    if orphans:
        return f"{len(orphans)} pending values no operation owns: " + "; ".join(
            f"{o.entity_type} {o.entity_key} {o.field} ({o.why})" for o in orphans[:5]
        )
    return "ok"


async def _always_online() -> bool:
    return True


def agent_options(world_sim: Simulator, clock: FakeClock, data_dir: Path, base: str | None) -> Any:
    if base is None:
        return options(world_sim, clock, data_dir)
    return AgentOptions(
        data_dir=data_dir,
        directory_url=f"{base}/ATServicesRest/",
        clock=clock,
        credentials=ApiSecretBundle(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE),
        technician_resource_id=world_sim.technician_resource_id,
        probe=_always_online,
        sample_metrics=False,
    )


async def open_agent(sim: Simulator, clock: FakeClock, data_dir: Path, base: str | None) -> Agent:
    return await Agent.open(agent_options(sim, clock, data_dir, base))


@contextlib.asynccontextmanager
async def world(
    workdir: Path, *, seed: str, loopback: bool = False, tickets: int = 60
) -> AsyncIterator[World]:
    """A simulator and an agent after its first sync; closed (and the server stopped) after."""
    clock = FakeClock()
    sim_clock = SteppedClock(clock)
    sim = Simulator(seed=seed, tickets=tickets, clock=sim_clock, threshold=200_000)
    sim.limits.latency_enabled = False
    inflight = InFlight(sim.app)
    sim.app = inflight  # type: ignore[assignment]
    async with contextlib.AsyncExitStack() as stack:
        base = await stack.enter_async_context(serve(sim)) if loopback else None
        data_dir = workdir / "agent"
        agent = await open_agent(sim, clock, data_dir, base)
        w = World(clock, sim_clock, sim, inflight, agent, data_dir, base)
        try:
            first = await agent.sync_now()
            assert first is not None and first.error is None, first
            w.mine = [t.id for t in await agent.my_tickets()]
            notes = await agent.picklists("TicketNotes")
            w.note_type, w.publish = min(notes["noteType"]), min(notes["publish"])
            w.role = (await agent.resources())[sim.technician_resource_id][1][0]
            yield w
        finally:
            await w.agent.close()
            sim.faults.clear()
            sim_clock.release_all()
