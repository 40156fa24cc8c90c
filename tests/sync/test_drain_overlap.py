"""After reconnecting at the default threshold, the drain overlaps its calls across endpoints
up to Autotask's limits and still lands every edit exactly once. Real agent and store, the
simulator in process on a fake clock, counted from the simulator's own records."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from agent.api.facade import Agent
from agent.clock import FakeClock
from agent.simulator import Simulator
from tests.e2e.conftest import options


class InFlight:
    """Wraps the simulator's thread accounting to see how many calls it holds at once."""

    def __init__(self, sim: Simulator) -> None:
        self.now: Counter[str] = Counter()
        self.peak_total = 0
        self.peak_per_endpoint = 0
        self.refused = 0
        self.overlapping = asyncio.Event()  # more calls held at once than one endpoint allows
        enter, leave = sim.limits.enter, sim.limits.leave

        def entering(code: str, endpoint: str) -> bool:
            admitted = enter(code, endpoint)
            if not admitted:
                self.refused += 1
                return False
            self.now[endpoint] += 1
            self.peak_total = max(self.peak_total, sum(self.now.values()))
            self.peak_per_endpoint = max(self.peak_per_endpoint, self.now[endpoint])
            if self.peak_total > 3:
                self.overlapping.set()
            return True

        def leaving(code: str, endpoint: str) -> None:
            self.now[endpoint] -= 1
            leave(code, endpoint)

        sim.limits.enter = entering  # type: ignore[method-assign]
        sim.limits.leave = leaving  # type: ignore[method-assign]


async def test_a_drain_overlaps_endpoints_within_their_limits_and_lands_each_edit_once(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    sim = Simulator(seed="drain-overlap", tickets=60, clock=clock)  # threshold 10,000 / hour
    sim.limits.latency_enabled = False
    agent = await Agent.open(options(sim, clock, tmp_path))
    try:
        await agent.sync_now()
        ids = sorted(t.id for t in await agent.my_tickets())[:6]
        notes = await agent.picklists("TicketNotes")
        role = (await agent.resources())[sim.technician_resource_id][1][0]
        await agent.set_work_offline(True)
        for n, tid in enumerate(ids * 2):
            await agent.update_ticket(tid, title=f"Back online {tid}")
            await agent.add_note(
                tid,
                f"overlap note {n}",
                title="On site",
                note_type=min(notes["noteType"]),
                publish=min(notes["publish"]),
            )
            await agent.log_time(
                ticketID=tid,
                dateWorked="2026-01-05T00:00:00Z",
                hoursWorked=0.5,
                summaryNotes=f"overlap time {n}",
                roleID=role,
            )
        sim.limits.ledger(sim.tenant.name).times.extend([clock.monotonic()] * 500)  # 5 % used
        seen = InFlight(sim)
        held = sim.faults.hang()  # calls are held at the server until they have all met
        await agent.set_work_offline(False)
        drain = asyncio.create_task(agent.sync_now())
        await asyncio.wait_for(seen.overlapping.wait(), timeout=30)
        sim.faults.remove(held)
        sim.faults.release_hangs()
        await drain
        for _ in range(5):
            if not (await agent.status()).pending:
                break
            await agent.sync_now()
        assert (await agent.status()).pending == 0
    finally:
        await agent.close()
    assert seen.refused == 0  # never a fourth call on one endpoint
    assert seen.peak_per_endpoint <= 3
    assert seen.peak_total > 3  # endpoints overlapped
    dump = sim.dump()
    assert all(dump["Tickets"][t]["title"] == f"Back online {t}" for t in ids)
    made_notes = Counter(n["description"] for n in dump["TicketNotes"].values())
    made_times = Counter(e["summaryNotes"] for e in dump["TimeEntries"].values())
    assert all(made_notes[f"overlap note {n}"] == 1 for n in range(12))
    assert all(made_times[f"overlap time {n}"] == 1 for n in range(12))
