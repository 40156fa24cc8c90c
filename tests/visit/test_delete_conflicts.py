"""A part or a time entry deleted offline that a dispatcher changed meanwhile is not deleted
blindly: the delete carries the values it was made against, the push compares them with the
server's record, and a change there is a conflict (keep Autotask's version, or delete anyway),
decided once and sent at most once."""

from __future__ import annotations

from typing import Any

import pytest

from agent.simulator import writes
from agent.simulator.tenant import Actor
from tests.e2e.conftest import World

HOUR = 3600.0


async def synced(world: World) -> None:
    report = await world.agent.sync_now()
    assert report is not None and report.error is None, report


def dispatcher_patches(
    world: World, route: str, record_id: int, parent: tuple[str, int] | None, **values: Any
) -> None:
    body = {"id": record_id, **({parent[0]: parent[1]} if parent else {}), **values}
    writes.write(
        world.sim.tenant, route, "PATCH", body, Actor(world.sim.dispatcher_resource_id), parent
    )


async def deletes_sent(world: World, entity: str, record_id: int) -> int:
    events = await world.agent.audit_events(entity_type=entity, entity_id=str(record_id))
    return sum(1 for e in events if e.action == "sent" and e.detail.get("kind") == "delete")


async def a_server_charge(world: World) -> tuple[int, int]:
    await synced(world)
    ticket = (await world.agent.my_tickets())[0].id
    await world.agent.add_charge(ticket, name="Patch lead", quantity=1, unit_price=3.0)
    await synced(world)
    (charge,) = [int(c.key) for c in await world.agent.charges(ticket) if c.name == "Patch lead"]
    return ticket, charge


async def a_server_time_entry(world: World) -> tuple[int, int]:
    await synced(world)
    ticket = (await world.agent.my_tickets())[0].id
    resources = await world.agent.resources()
    role = resources[world.sim.technician_resource_id][1][0]
    await world.agent.log_time(
        ticketID=ticket,
        dateWorked="2026-01-05T00:00:00Z",
        hoursWorked=1.25,
        summaryNotes="Fuser replacement",
        roleID=role,
    )
    await synced(world)
    (entry,) = [
        i
        for i, e in world.sim.dump()["TimeEntries"].items()
        if e["summaryNotes"] == "Fuser replacement"
    ]
    return ticket, entry


async def settle(world: World) -> None:
    for _ in range(2):  # a later round sends nothing more
        world.clock.advance(HOUR)
        await synced(world)


@pytest.mark.parametrize("choice", ["mine", "theirs"])
async def test_a_part_deleted_offline_that_the_dispatcher_changed_is_a_conflict(
    world: World, choice: str
):
    ticket, charge = await a_server_charge(world)
    await world.agent.set_work_offline(True)
    await world.agent.delete_charge(str(charge))
    dispatcher_patches(world, "TicketCharges", charge, ("ticketID", ticket), unitQuantity=9)
    await world.agent.set_work_offline(False)
    await synced(world)
    server = world.sim.dump()["TicketCharges"]
    assert server[charge]["unitQuantity"] == 9.0  # not deleted over the dispatcher's change
    (conflict,) = await world.agent.conflicts()
    assert (conflict.entity_type, conflict.entity_id, conflict.kind) == (
        "TicketCharges",
        charge,
        "changed",
    )
    assert conflict.base == {"unitQuantity": 1.0} and conflict.theirs == {"unitQuantity": 9.0}
    events = await world.agent.audit_events(entity_type="TicketCharges", entity_id=str(charge))
    assert not any(e.action == "succeeded" and e.detail.get("kind") == "delete" for e in events)
    assert await deletes_sent(world, "TicketCharges", charge) == 0
    await world.agent.resolve_conflict(conflict.id, choice)  # type: ignore[arg-type]
    await settle(world)
    assert await world.agent.conflicts() == []
    server = world.sim.dump()["TicketCharges"]
    lines = {c.key: c for c in await world.agent.charges(ticket)}
    if choice == "mine":
        assert charge not in server
        assert str(charge) not in lines
        assert await deletes_sent(world, "TicketCharges", charge) == 1
    else:
        assert server[charge]["unitQuantity"] == 9.0
        line = lines[str(charge)]
        assert line.quantity == 9.0 and not line.deleted and not line.pending
        assert await deletes_sent(world, "TicketCharges", charge) == 0
    assert (await world.agent.status()).pending == 0


async def test_a_part_deleted_offline_that_nobody_changed_is_deleted_without_asking(
    world: World,
):
    _, charge = await a_server_charge(world)
    await world.agent.update_charge(str(charge), unitQuantity=2)  # my own change goes first
    await world.agent.delete_charge(str(charge))
    await synced(world)
    assert charge not in world.sim.dump()["TicketCharges"]
    assert await world.agent.conflicts() == []
    assert await deletes_sent(world, "TicketCharges", charge) == 1


@pytest.mark.parametrize("choice", ["mine", "theirs"])
async def test_a_time_entry_deleted_offline_that_the_dispatcher_changed_is_a_conflict(
    world: World, choice: str
):
    _, entry = await a_server_time_entry(world)
    await world.agent.set_work_offline(True)
    await world.agent.delete_time_entry(str(entry))
    dispatcher_patches(world, "TimeEntries", entry, None, summaryNotes="Fuser and rollers")
    await world.agent.set_work_offline(False)
    await synced(world)
    server = world.sim.dump()["TimeEntries"]
    assert server[entry]["summaryNotes"] == "Fuser and rollers"
    (conflict,) = await world.agent.conflicts()
    assert (conflict.entity_type, conflict.entity_id, conflict.kind) == (
        "TimeEntries",
        entry,
        "changed",
    )
    assert conflict.theirs == {"summaryNotes": "Fuser and rollers"}
    await world.agent.resolve_conflict(conflict.id, choice)  # type: ignore[arg-type]
    await settle(world)
    assert await world.agent.conflicts() == []
    server = world.sim.dump()["TimeEntries"]
    if choice == "mine":
        assert entry not in server
        assert await deletes_sent(world, "TimeEntries", entry) == 1
    else:
        assert server[entry]["summaryNotes"] == "Fuser and rollers"
        assert await deletes_sent(world, "TimeEntries", entry) == 0
    assert (await world.agent.status()).pending == 0
