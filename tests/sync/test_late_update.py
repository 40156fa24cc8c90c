"""An update the slow server applies after the client gave up must not overwrite a newer value
the technician typed meanwhile. Over a real socket (uvicorn applies the held write late), with
the agent on a fake clock: the newer edit of the same record waits until no earlier attempt can
still land (Autotask ends a request after about five minutes), then goes. The wait holds when
the wall clock is set days ahead, across a restart, and when the newer value is typed into a
conflict over the uncertain change itself.

Counted from the simulator's records and its request ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.store.models import Setting
from agent.sync.late_writes import ROW
from tests.sync.conftest import LATE, World, a_failed_read_after, eventually, socket_world


async def held_then_typed(w: World, between: str) -> tuple[int, object]:
    """ "Typed first" is held by the server past the client's deadline; then (after `between`)
    "Typed last" is typed. Returns the ticket id and a counter of the PATCHes after that."""
    await w.agent.sync_now()
    tid = (await w.agent.my_tickets())[0].id
    await w.agent.update_ticket(tid, title="Typed first")
    held = w.sim.faults.latency(LATE, route="tickets", verb="PATCH", count=1)
    await w.agent.sync_now()  # the PATCH outlives the client's deadline; it is sent again
    assert held.fired == 1
    if between == "the wall clock set days ahead":
        w.clock.step_wall(3 * 86_400)
    elif between == "a restart":
        await w.reopen()
    await w.agent.update_ticket(tid, title="Typed last")
    return tid, w.sim.faults.latency(0.0, route="tickets", verb="PATCH")


async def the_held_write_lands(w: World, tid: int) -> None:
    # The held write is applied (its retry had put the same value there already).
    await eventually(lambda: not w.sim.limits.in_flight, LATE * 4)
    assert w.sim.dump()["Tickets"][tid]["title"] == "Typed first"


@pytest.mark.parametrize("between", ["nothing", "the wall clock set days ahead", "a restart"])
async def test_a_late_patch_never_overwrites_a_newer_edit(tmp_path: Path, between: str) -> None:
    async with socket_world(tmp_path) as w:
        tid, patches = await held_then_typed(w, between)
        w.clock.advance(5)
        await w.agent.sync_now()
        waiting = patches.fired  # type: ignore[attr-defined]
        await the_held_write_lands(w, tid)
        for _ in range(10):
            w.clock.advance(60)
            await w.agent.sync_now()
        assert w.sim.dump()["Tickets"][tid]["title"] == "Typed last"
        assert waiting == 0  # nothing went while the held write could still land
        assert patches.fired == 1  # type: ignore[attr-defined]  # then the last value, once
        assert not await w.agent.conflicts()
        shown = await w.agent.ticket(tid)
        assert shown is not None and shown.fields["title"].value == "Typed last"
        assert not shown.fields["title"].pending


async def test_a_value_typed_into_a_conflict_over_a_late_write_waits_for_it(
    tmp_path: Path,
) -> None:
    """The uncertain change itself meets the dispatcher's value: the conflict's new "mine" is
    not what went, so it waits like any newer change."""
    async with socket_world(tmp_path) as w:
        await w.agent.sync_now()
        tid = (await w.agent.my_tickets())[0].id
        await w.agent.update_ticket(tid, title="Typed first")
        held = w.sim.faults.latency(LATE, route="tickets", verb="PATCH", count=1)
        failing = a_failed_read_after(w.sim, held)
        await w.agent.sync_now()  # held; the retry's read fails: the change stays uncertain
        assert failing and failing[0].fired == 1
        w.sim.edit_ticket(tid, title="Dispatcher's")
        w.clock.advance(5)
        await w.agent.sync_now()
        [conflict] = await w.agent.conflicts()
        await w.agent.update_ticket(tid, title="Typed last")
        await w.agent.resolve_conflict(conflict.id, "mine")
        patches = w.sim.faults.latency(0.0, route="tickets", verb="PATCH")
        w.clock.advance(5)
        await w.agent.sync_now()
        waiting = patches.fired
        await eventually(lambda: not w.sim.limits.in_flight, LATE * 4)
        for _ in range(10):
            w.clock.advance(60)
            await w.agent.sync_now()
        assert waiting == 0
        assert w.sim.dump()["Tickets"][tid]["title"] == "Typed last"
        assert not await w.agent.conflicts()  # its own late value is never asked about


async def test_a_restart_that_lost_the_record_of_a_late_write_still_waits(tmp_path: Path) -> None:
    """A crash while the write was on the wire leaves it outcome-unknown in the outbox but
    nothing in the record of late writes (here: the row deleted): the flag is enough."""
    async with socket_world(tmp_path) as w:
        await w.agent.sync_now()
        tid = (await w.agent.my_tickets())[0].id
        await w.agent.update_ticket(tid, title="Typed first")
        held = w.sim.faults.latency(LATE, route="tickets", verb="PATCH", count=1)
        a_failed_read_after(w.sim, held)
        await w.agent.sync_now()  # held; the retry's read fails: the change stays uncertain
        await w.agent.store.awrite(lambda: Setting.delete().where(Setting.key == ROW).execute())
        await w.reopen()
        await w.agent.update_ticket(tid, title="Typed last")
        w.clock.advance(5)
        await w.agent.sync_now()
        early = w.sim.dump()["Tickets"][tid]["title"]  # its own retry may go; nothing newer
        await eventually(lambda: not w.sim.limits.in_flight, LATE * 4)
        for _ in range(10):
            w.clock.advance(60)
            await w.agent.sync_now()
        assert early != "Typed last"
        assert w.sim.dump()["Tickets"][tid]["title"] == "Typed last"
        assert not await w.agent.conflicts()
