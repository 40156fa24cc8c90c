"""A drain after reconnecting watches the tenant's budget as it goes: other integrations jumping
to 97 % mid-drain are seen within a few dozen calls, and a 429 with a huge Retry-After holds the
drain only until a reading shows room. Real agent and store, the simulator in process on a fake
clock, counted from the simulator's own ledger and records."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from agent.api.facade import Agent
from agent.clock import FakeClock
from agent.resilience.allowance import QuotaSettings
from agent.simulator import Simulator
from tests.e2e.conftest import options

NOTES = 60


@asynccontextmanager
async def offline_work(
    tmp_path: Path, seed: str, count: int = NOTES
) -> AsyncIterator[tuple[Simulator, Agent]]:
    """An agent holding `count` notes and `count` time entries made offline, the tenant at 5 %."""
    clock = FakeClock()
    sim = Simulator(seed=seed, tickets=40, clock=clock)  # threshold 10,000 / hour
    sim.limits.latency_enabled = False
    agent = await Agent.open(options(sim, clock, tmp_path))
    try:
        await agent.sync_now()
        ids = sorted(t.id for t in await agent.my_tickets())[:6]
        lists = await agent.picklists("TicketNotes")
        role = (await agent.resources())[sim.technician_resource_id][1][0]
        await agent.set_work_offline(True)
        for n in range(count):
            tid = ids[n % len(ids)]
            await agent.add_note(
                tid,
                f"quota note {n}",
                title="On site",
                note_type=min(lists["noteType"]),
                publish=min(lists["publish"]),
            )
            await agent.log_time(
                ticketID=tid,
                dateWorked="2026-01-05T00:00:00Z",
                hoursWorked=0.25,
                summaryNotes=f"quota time {n}",
                roleID=role,
            )
        others_use(sim, 500)
        yield sim, agent
    finally:
        await agent.close()


def others_use(sim: Simulator, usage: int) -> None:
    """Other integrations bring the tenant's rolling hour to `usage` requests."""
    ledger = sim.limits.ledger(sim.tenant.name)
    now = sim.clock.monotonic()
    ledger.times.extend([now] * max(0, usage - sim.limits.usage(sim.tenant.name)))


def landed_once(sim: Simulator, count: int = NOTES) -> bool:
    dump = sim.dump()
    notes = Counter(n["description"] for n in dump["TicketNotes"].values())
    times = Counter(e["summaryNotes"] for e in dump["TimeEntries"].values())
    return all(notes[f"quota note {n}"] == 1 == times[f"quota time {n}"] for n in range(count))


async def test_others_jumping_to_97_percent_mid_drain_are_seen_within_a_few_dozen_calls(
    tmp_path: Path,
) -> None:
    async with offline_work(tmp_path, "quota-jump") as (sim, agent):
        seen = {"before": 0, "after": 0}
        enter = sim.limits.enter

        def entering(code: str, endpoint: str) -> bool:  # every call but the readings
            if seen["before"] < 30:
                seen["before"] += 1
                if seen["before"] == 30:
                    others_use(sim, 9_700)  # in a moment the tenant is at 97 %
            else:
                seen["after"] += 1
            return enter(code, endpoint)

        sim.limits.enter = entering  # type: ignore[method-assign]
        await agent.set_work_offline(False)
        for _ in range(3):
            await agent.sync_now()
        usage = sim.limits.usage(sim.tenant.name)
        pending = (await agent.status()).pending
    # calls already let through when the jump came (the write slots) and at most twenty more
    assert seen["after"] <= QuotaSettings().burst_reread_calls + 6
    assert pending > 0  # the rest waits: past the reserve, this agent's share is gone
    assert usage < sim.limits.threshold  # the tenant stayed open for everyone


async def test_a_429_with_a_huge_retry_after_holds_the_drain_only_until_a_reading_shows_room(
    tmp_path: Path,
) -> None:
    # The hold is met by the first call: a drain of fewer changes than the other test's will do.
    async with offline_work(tmp_path, "quota-retry-after", count=20) as (sim, agent):
        clock = sim.clock
        assert isinstance(clock, FakeClock)
        sim.faults.throttle(retry_after=1e9, count=1)
        started = clock.monotonic()
        await agent.set_work_offline(False)
        for _ in range(12):
            await agent.sync_now()
            if not (await agent.status()).pending:
                break
            clock.advance(5.0)
        assert (await agent.status()).pending == 0
        took = clock.monotonic() - started
    assert took <= 120.0  # not a billion seconds, nor the hour the window would allow
    assert landed_once(sim, count=20)
    assert sim.limits.usage(sim.tenant.name) < 0.1 * sim.limits.threshold
