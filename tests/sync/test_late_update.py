"""An update the slow server applies after the client gave up must not overwrite a newer value
the technician typed meanwhile. Over a real socket (uvicorn applies the held write late), with
the agent on a fake clock: the newer edit of the same record waits until no earlier attempt can
still land (Autotask ends a request after about five minutes), then goes.

Counted from the simulator's records and its request ledger."""

from __future__ import annotations

from pathlib import Path

from tests.sync.conftest import LATE, eventually, socket_world


async def test_a_late_patch_never_overwrites_a_newer_edit(tmp_path: Path) -> None:
    async with socket_world(tmp_path) as w:
        await w.agent.sync_now()
        tid = (await w.agent.my_tickets())[0].id
        await w.agent.update_ticket(tid, title="Typed first")
        held = w.sim.faults.latency(LATE, route="tickets", verb="PATCH", count=1)
        await w.agent.sync_now()  # the PATCH outlives the client's deadline; it is sent again
        assert held.fired == 1
        await w.agent.update_ticket(tid, title="Typed last")
        patches = w.sim.faults.latency(0.0, route="tickets", verb="PATCH")
        w.clock.advance(5)
        await w.agent.sync_now()
        waiting = patches.fired
        # The held write is applied (its retry had put the same value there already).
        await eventually(lambda: not w.sim.limits.in_flight, LATE * 4)
        assert w.sim.dump()["Tickets"][tid]["title"] == "Typed first"
        for _ in range(10):
            w.clock.advance(60)
            await w.agent.sync_now()
        assert w.sim.dump()["Tickets"][tid]["title"] == "Typed last"
        assert waiting == 0  # nothing went while the held write could still land
        assert patches.fired == 1  # then the last value, once
        assert not await w.agent.conflicts()
        shown = await w.agent.ticket(tid)
        assert shown is not None and shown.fields["title"].value == "Typed last"
        assert not shown.fields["title"].pending
