"""A ticket's checklist: cached, ticked and unticked offline, merged per item with the
dispatcher's changes, sent once, with who completed it and when coming back from the server."""

from __future__ import annotations

from agent.simulator import writes
from agent.simulator.tenant import Actor
from agent.sync.visit_pull import REFRESH_S as VISIT_REFRESH_S
from tests.e2e.conftest import World


async def synced(world: World) -> None:
    report = await world.agent.sync_now()
    assert report is not None and report.error is None, report


def server_items(world: World, ticket_id: int) -> dict[int, dict]:
    return {
        i: r
        for i, r in world.sim.dump()["TicketChecklistItems"].items()
        if r["ticketID"] == ticket_id
    }


def dispatcher_sets(world: World, ticket_id: int, item_id: int, done: bool) -> None:
    writes.write(
        world.sim.tenant,
        "TicketChecklistItems",
        "PATCH",
        {"id": item_id, "ticketID": ticket_id, "isCompleted": done},
        Actor(world.sim.dispatcher_resource_id),
        ("ticketID", ticket_id),
    )


async def a_ticket(world: World) -> tuple[int, list[int]]:
    await synced(world)
    ticket = (await world.agent.my_tickets())[0].id
    open_items = [i for i, r in server_items(world, ticket).items() if not r["isCompleted"]]
    return ticket, sorted(open_items)


async def test_the_checklist_is_the_servers_in_order(world: World):
    ticket, _ = await a_ticket(world)
    lines = await world.agent.checklist(ticket)
    server = server_items(world, ticket)
    assert [line.id for line in lines] == sorted(server, key=lambda i: server[i]["position"])
    assert [line.name for line in lines] == [server[line.id]["itemName"] for line in lines]
    assert [line.done for line in lines] == [bool(server[line.id]["isCompleted"]) for line in lines]


async def test_ticking_offline_is_pending_then_stamped_by_the_server(world: World):
    ticket, (item, *_) = await a_ticket(world)
    await world.agent.set_work_offline(True)
    result = await world.agent.set_checklist_item(ticket, item, True)
    assert result.op_id is not None
    line = next(x for x in await world.agent.checklist(ticket) if x.id == item)
    assert line.done and line.pending and line.completed_at is None
    assert not server_items(world, ticket)[item]["isCompleted"]
    (queued,) = (await world.agent.queue_page()).items
    assert queued.description.startswith("Tick checklist item on ticket ")
    assert queued.description.endswith(f": {line.name}")
    await world.agent.set_work_offline(False)
    world.clock.advance(60)
    await synced(world)
    stored = server_items(world, ticket)[item]
    assert (
        stored["isCompleted"]
        and stored["completedByResourceID"] == world.sim.technician_resource_id
    )
    line = next(x for x in await world.agent.checklist(ticket) if x.id == item)
    assert line.done and not line.pending
    assert line.completed_at == stored["completedDateTime"]
    assert line.completed_by  # the technician's name, from the cached resources
    # Sent once: a second write would have stamped the item again with the later clock.
    world.clock.advance(600)
    await synced(world)
    assert server_items(world, ticket)[item]["completedDateTime"] == stored["completedDateTime"]


async def test_the_dispatcher_ticking_another_item_is_no_conflict(world: World):
    ticket, (mine, theirs, *_) = await a_ticket(world)
    await world.agent.set_work_offline(True)
    await world.agent.set_checklist_item(ticket, mine, True)
    dispatcher_sets(world, ticket, theirs, True)
    await world.agent.set_work_offline(False)
    await synced(world)
    items = server_items(world, ticket)
    assert items[mine]["isCompleted"] and items[theirs]["isCompleted"]
    assert items[theirs]["completedByResourceID"] == world.sim.dispatcher_resource_id
    assert await world.agent.conflicts() == []


async def test_both_ticking_the_same_item_agree_and_nothing_is_sent(world: World):
    ticket, (item, *_) = await a_ticket(world)
    await world.agent.set_work_offline(True)
    await world.agent.set_checklist_item(ticket, item, True)
    dispatcher_sets(world, ticket, item, True)
    stamp = server_items(world, ticket)[item]["completedDateTime"]
    await world.agent.set_work_offline(False)
    world.clock.advance(60)
    await synced(world)
    stored = server_items(world, ticket)[item]
    assert stored["completedByResourceID"] == world.sim.dispatcher_resource_id
    assert stored["completedDateTime"] == stamp
    assert await world.agent.conflicts() == []


async def test_unticking_what_the_dispatcher_ticked_again_is_a_conflict(world: World):
    ticket, (item, *_) = await a_ticket(world)
    dispatcher_sets(world, ticket, item, True)
    world.clock.advance(VISIT_REFRESH_S)
    await synced(world)  # the technician sees it done
    assert next(x for x in await world.agent.checklist(ticket) if x.id == item).done
    await world.agent.set_work_offline(True)
    await world.agent.set_checklist_item(ticket, item, False)
    world.clock.advance(60)
    dispatcher_sets(world, ticket, item, False)
    world.clock.advance(60)
    dispatcher_sets(world, ticket, item, True)  # done again, later: the dispatcher means it
    await world.agent.set_work_offline(False)
    await synced(world)
    assert server_items(world, ticket)[item]["isCompleted"]  # nothing overwritten
    conflicts = await world.agent.conflicts()
    assert [(c.entity_type, c.entity_id, c.field) for c in conflicts] == [
        ("TicketChecklistItems", item, "isCompleted")
    ]
    assert (conflicts[0].mine, conflicts[0].theirs) == (False, True)
    line = next(x for x in await world.agent.checklist(ticket) if x.id == item)
    assert line.conflict_id == conflicts[0].id
    await world.agent.resolve_conflict(conflicts[0].id, "mine")
    await synced(world)
    assert not server_items(world, ticket)[item]["isCompleted"]


async def test_an_item_of_another_ticket_is_refused(world: World):
    ticket, (item, *_) = await a_ticket(world)
    import pytest

    from agent.api.validation import EditRejected

    with pytest.raises(EditRejected):
        await world.agent.set_checklist_item(ticket + 1, item, True)
    assert (await world.agent.queue_page()).total == 0
