"""A field edited again while its earlier change waits in a conflict: the technician is asked once
per field, about the value they typed last; keeping theirs sends it, keeping Autotask's drops it,
and no older value of the field is ever sent after a newer one.

Counted from the simulator's records (the ticket as the server holds it, the PATCHes it saw)."""

from __future__ import annotations

from pathlib import Path

from agent.simulator import writes
from agent.simulator.tenant import Actor
from agent.sync.visit_pull import REFRESH_S as VISIT_REFRESH_S
from tests.sync.engine_world import World, world_at


async def in_conflict(w: World, mine: str = "B", theirs: str = "D by dispatcher") -> int:
    """The technician's title `mine` waits offline while the dispatcher sets `theirs`: the sync
    opens one conflict on the title. Returns the ticket's id."""
    assert (await w.sync()).error is None
    tid = (await w.my_ticket_ids())[0]
    await w.agent.update_ticket(tid, title=mine)
    w.sim.edit_ticket(tid, title=theirs)
    await w.sync()
    [c] = await w.agent.conflicts()
    assert (c.field, c.mine, c.theirs) == ("title", mine, theirs)
    return tid


async def rounds(w: World, n: int = 4) -> None:
    for _ in range(n):
        w.clock.advance(60)
        await w.sync()


async def live_ops(w: World) -> list[object]:
    return [o for o in await w.ops() if o.state in ("pending", "leased", "conflict", "parked")]


async def test_keeping_mine_after_typing_again_sends_the_last_value(tmp_path: Path) -> None:
    async with world_at(tmp_path, seed="edit-over-conflict") as w:
        tid = await in_conflict(w)
        patches = w.counter("tickets", "PATCH")
        await w.agent.update_ticket(tid, title="C")
        conflicts = await w.agent.conflicts()
        assert [(c.field, c.mine, c.theirs) for c in conflicts] == [
            ("title", "C", "D by dispatcher")
        ]  # one question, about what was typed last
        view = await w.agent.ticket(tid)
        assert view is not None and view.fields["title"].value == "C"
        await rounds(w)
        assert w.server_ticket(tid)["title"] == "D by dispatcher"  # nothing sent unasked
        assert patches.fired == 0
        assert len(await w.agent.conflicts()) == 1
        await w.agent.resolve_all("mine")
        await rounds(w)
        assert w.server_ticket(tid)["title"] == "C"
        assert patches.fired == 1  # C alone: B (older) never went
        assert await w.agent.conflicts() == []
        assert await live_ops(w) == []


async def test_keeping_theirs_after_typing_again_keeps_the_servers_value(tmp_path: Path) -> None:
    async with world_at(tmp_path, seed="edit-over-conflict") as w:
        tid = await in_conflict(w)
        patches = w.counter("tickets", "PATCH")
        await w.agent.update_ticket(tid, title="C")
        await w.agent.resolve_all("theirs")
        await rounds(w)
        assert w.server_ticket(tid)["title"] == "D by dispatcher"
        assert patches.fired == 0
        assert await w.agent.conflicts() == []
        assert await live_ops(w) == []
        view = await w.agent.ticket(tid)
        assert view is not None
        assert view.fields["title"].value == "D by dispatcher"
        assert not view.fields["title"].pending


async def test_other_fields_of_the_edit_are_sent_at_once(tmp_path: Path) -> None:
    async with world_at(tmp_path, seed="edit-over-conflict") as w:
        tid = await in_conflict(w)
        await w.agent.update_ticket(tid, title="C", description="Fixed the pump")
        await rounds(w, 2)
        server = w.server_ticket(tid)
        assert (server["title"], server["description"]) == ("D by dispatcher", "Fixed the pump")
        await w.agent.update_ticket(tid, title="E", description="Fixed the pump and valve")
        await rounds(w, 2)
        assert w.server_ticket(tid)["description"] == "Fixed the pump and valve"
        [c] = await w.agent.conflicts()
        assert (c.field, c.mine, c.theirs) == ("title", "E", "D by dispatcher")
        await w.agent.resolve_conflict(c.id, "mine")
        await rounds(w)
        server = w.server_ticket(tid)
        assert (server["title"], server["description"]) == ("E", "Fixed the pump and valve")
        assert await w.agent.conflicts() == []
        assert await live_ops(w) == []


async def test_typing_autotasks_value_settles_the_conflict(tmp_path: Path) -> None:
    async with world_at(tmp_path, seed="edit-over-conflict") as w:
        tid = await in_conflict(w)
        patches = w.counter("tickets", "PATCH")
        await w.agent.update_ticket(tid, title="D by dispatcher")
        assert await w.agent.conflicts() == []
        await rounds(w)
        assert w.server_ticket(tid)["title"] == "D by dispatcher"
        assert patches.fired == 0
        assert await live_ops(w) == []


async def test_the_new_value_in_the_conflict_is_in_the_audit_trail(tmp_path: Path) -> None:
    async with world_at(tmp_path, seed="edit-over-conflict") as w:
        tid = await in_conflict(w)
        await w.agent.update_ticket(tid, title="C")
        [c] = await w.agent.conflicts()
        [event] = await w.agent.audit_events(action="conflict_updated")
        assert (event.entity_id, event.op_id) == (str(tid), c.op_id)
        assert (event.detail["field"], event.detail["mine"]) == ("title", "C")
        assert event.detail["theirs"] == "D by dispatcher"
        assert (await w.agent.verify_audit()).ok


def dispatcher_ticks(w: World, ticket_id: int, item_id: int, done: bool) -> None:
    writes.write(
        w.sim.tenant,
        "TicketChecklistItems",
        "PATCH",
        {"id": item_id, "ticketID": ticket_id, "isCompleted": done},
        Actor(w.sim.dispatcher_resource_id),
        ("ticketID", ticket_id),
    )


async def test_a_checklist_item_ticked_again_over_its_conflict(tmp_path: Path) -> None:
    """The technician unticks an item the dispatcher ticks again meanwhile (a conflict), then
    ticks it again: both agree, nothing is left to ask or to send."""
    async with world_at(tmp_path, seed="edit-over-conflict") as w:
        assert (await w.sync()).error is None
        items = w.sim.dump()["TicketChecklistItems"]
        ticket = next(
            t
            for t in await w.my_ticket_ids()
            if any(r["ticketID"] == t and not r["isCompleted"] for r in items.values())
        )
        item = min(i for i, r in items.items() if r["ticketID"] == ticket and not r["isCompleted"])
        dispatcher_ticks(w, ticket, item, True)
        w.clock.advance(VISIT_REFRESH_S)
        await w.sync()
        await w.agent.set_work_offline(True)
        await w.agent.set_checklist_item(ticket, item, False)
        w.clock.advance(60)
        dispatcher_ticks(w, ticket, item, False)
        w.clock.advance(60)
        dispatcher_ticks(w, ticket, item, True)
        await w.agent.set_work_offline(False)
        await w.sync()
        [c] = await w.agent.conflicts()
        assert (c.field, c.mine, c.theirs) == ("isCompleted", False, True)
        patches = w.counter("TicketChecklistItems", "PATCH")
        await w.agent.set_checklist_item(ticket, item, True)
        assert await w.agent.conflicts() == []
        assert await live_ops(w) == []
        await rounds(w, 2)
        assert w.sim.dump()["TicketChecklistItems"][item]["isCompleted"]
        assert patches.fired == 0
