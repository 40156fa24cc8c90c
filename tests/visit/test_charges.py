"""Parts used on a ticket: captured offline from the cached product list or by name, changed or
deleted while pending, sent exactly once (a lost answer is found, not sent again), merged per
field with the dispatcher's changes of the same charge."""

from __future__ import annotations

from typing import Any

import pytest

from agent.api.validation import EditRejected
from agent.simulator import writes
from agent.simulator.tenant import Actor
from agent.sync.context_pull import REFRESH_S
from tests.e2e.conftest import World

HOUR = 3600.0


async def synced(world: World) -> None:
    report = await world.agent.sync_now()
    assert report is not None and report.error is None, report


def server_charges(world: World, ticket_id: int) -> dict[int, dict[str, Any]]:
    """The ticket's charges, from the simulator's own records."""
    return {
        i: r for i, r in world.sim.dump()["TicketCharges"].items() if r["ticketID"] == ticket_id
    }


def dispatcher_patches(world: World, ticket_id: int, charge_id: int, **values: Any) -> None:
    writes.write(
        world.sim.tenant,
        "TicketCharges",
        "PATCH",
        {"id": charge_id, "ticketID": ticket_id, **values},
        Actor(world.sim.dispatcher_resource_id),
        ("ticketID", ticket_id),
    )


async def a_ticket(world: World) -> int:
    await synced(world)
    return (await world.agent.my_tickets())[0].id


async def test_the_product_list_and_the_tickets_charges_are_cached(world: World):
    await synced(world)
    products = await world.agent.products()
    server = {i: p for i, p in world.sim.dump()["Products"].items() if p["isActive"]}
    assert {p.id for p in products} == set(server)
    assert all(p.unit_price == server[p.id]["unitPrice"] for p in products)
    seeded = {r["ticketID"] for r in world.sim.dump()["TicketCharges"].values()}
    mine = {t.id for t in await world.agent.my_tickets()}
    ticket = min(seeded & mine)
    lines = await world.agent.charges(ticket)
    assert {int(c.key) for c in lines} == set(server_charges(world, ticket))
    assert not any(c.pending for c in lines)


async def test_a_product_used_offline_is_pending_then_created_once(world: World):
    ticket = await a_ticket(world)
    product = (await world.agent.products())[0]
    before = set(server_charges(world, ticket))
    await world.agent.set_work_offline(True)
    result = await world.agent.add_charge(ticket, product_id=product.id, quantity=2)
    assert result.op_id is not None and result.key.startswith("~")
    (line,) = [c for c in await world.agent.charges(ticket) if c.pending]
    assert (line.name, line.quantity, line.unit_price) == (product.name, 2.0, product.unit_price)
    assert line.billable and line.amount == round(2 * (product.unit_price or 0), 2)
    events = await world.agent.audit_events(entity_type="TicketCharges")
    assert "edit_captured" in [e.action for e in events]
    (queued,) = (await world.agent.queue_page()).items
    assert queued.description.startswith("Add part on ticket ") and queued.description.endswith(
        f": 2 x {product.name}"
    )
    assert set(server_charges(world, ticket)) == before
    await world.agent.set_work_offline(False)
    await synced(world)
    new = {i: r for i, r in server_charges(world, ticket).items() if i not in before}
    assert len(new) == 1
    (created,) = new.values()
    assert created["productID"] == product.id and created["unitQuantity"] == 2.0
    assert created["isBillableToCompany"] is True
    assert created["creatorResourceID"] == world.sim.technician_resource_id
    lines = await world.agent.charges(ticket)
    assert [c for c in lines if c.pending] == []
    assert str(created["id"]) in {c.key for c in lines}


async def test_a_lost_answer_is_reconciled_and_the_part_is_created_once(world: World):
    ticket = await a_ticket(world)
    before = set(server_charges(world, ticket))
    result = await world.agent.add_charge(
        ticket, name="Cable ties (bag)", quantity=1, unit_price=4.5, billable=False
    )
    world.sim.faults.drop_response(route="tickets/*/charges", verb="POST", count=1)
    lost = await world.agent.sync_now()
    assert lost is not None and lost.push.failed == 1, lost
    assert len(server_charges(world, ticket)) == len(before) + 1  # it landed
    for _ in range(3):
        world.clock.advance(HOUR)
        await synced(world)
    new = [r for i, r in server_charges(world, ticket).items() if i not in before]
    assert len(new) == 1, new
    assert (new[0]["name"], new[0]["isBillableToCompany"]) == ("Cable ties (bag)", False)
    page = await world.agent.queue_page(states=None)
    (op,) = [o for o in page.items if o.id == result.op_id]
    assert op.state == "done"
    assert [c.key for c in await world.agent.charges(ticket) if c.name == "Cable ties (bag)"] == [
        str(new[0]["id"])
    ]


async def test_a_pending_part_is_changed_then_deleted_and_nothing_is_sent(world: World):
    ticket = await a_ticket(world)
    before = dict(server_charges(world, ticket))
    await world.agent.set_work_offline(True)
    added = await world.agent.add_charge(ticket, name="Fuse 5 A", quantity=3, unit_price=1.2)
    changed = await world.agent.update_charge(added.key, unitQuantity=4, isBillableToCompany=False)
    assert changed.op_id is not None
    (line,) = [c for c in await world.agent.charges(ticket) if c.key == added.key]
    assert (line.quantity, line.billable) == (4.0, False)
    await world.agent.delete_charge(added.key)
    assert [c for c in await world.agent.charges(ticket) if c.key == added.key] == []
    await world.agent.set_work_offline(False)
    await synced(world)
    assert server_charges(world, ticket) == before
    page = await world.agent.queue_page(states=None)
    assert {o.state for o in page.items} == {"cancelled"}, page


async def test_a_pending_part_changed_is_created_with_the_change(world: World):
    ticket = await a_ticket(world)
    before = set(server_charges(world, ticket))
    await world.agent.set_work_offline(True)
    added = await world.agent.add_charge(ticket, name="Fuse 5 A", quantity=3, unit_price=1.2)
    await world.agent.update_charge(added.key, unitQuantity=5)
    await world.agent.set_work_offline(False)
    await synced(world)
    (new,) = [r for i, r in server_charges(world, ticket).items() if i not in before]
    assert new["unitQuantity"] == 5.0 and new["unitPrice"] == 1.2


async def a_server_charge(world: World) -> tuple[int, int]:
    ticket = await a_ticket(world)
    added = await world.agent.add_charge(ticket, name="Patch lead", quantity=1, unit_price=3.0)
    await synced(world)
    (charge,) = [int(c.key) for c in await world.agent.charges(ticket) if c.name == "Patch lead"]
    assert added.key != str(charge)
    return ticket, charge


async def test_the_dispatcher_changing_another_field_is_no_conflict(world: World):
    ticket, charge = await a_server_charge(world)
    await world.agent.set_work_offline(True)
    await world.agent.update_charge(str(charge), unitQuantity=2)
    dispatcher_patches(world, ticket, charge, unitPrice=3.5)
    await world.agent.set_work_offline(False)
    await synced(world)
    server = server_charges(world, ticket)[charge]
    assert (server["unitQuantity"], server["unitPrice"]) == (2.0, 3.5)
    assert await world.agent.conflicts() == []


async def test_both_changing_the_quantity_is_a_conflict_of_that_field_only(world: World):
    ticket, charge = await a_server_charge(world)
    await world.agent.set_work_offline(True)
    await world.agent.update_charge(str(charge), unitQuantity=2, isBillableToCompany=False)
    dispatcher_patches(world, ticket, charge, unitQuantity=7)
    await world.agent.set_work_offline(False)
    await synced(world)
    server = server_charges(world, ticket)[charge]
    assert server["unitQuantity"] == 7.0  # nothing overwritten
    assert server["isBillableToCompany"] is False  # the other field went
    conflicts = await world.agent.conflicts()
    assert [(c.entity_type, c.entity_id, c.field, c.mine, c.theirs) for c in conflicts] == [
        ("TicketCharges", charge, "unitQuantity", 2.0, 7.0)
    ]
    (line,) = [c for c in await world.agent.charges(ticket) if c.key == str(charge)]
    assert line.conflicts == {"unitQuantity": conflicts[0].id}
    await world.agent.resolve_conflict(conflicts[0].id, "mine")
    await synced(world)
    assert server_charges(world, ticket)[charge]["unitQuantity"] == 2.0


async def test_a_server_part_deleted_offline_is_deleted_once(world: World):
    ticket, charge = await a_server_charge(world)
    await world.agent.set_work_offline(True)
    await world.agent.delete_charge(str(charge))
    (line,) = [c for c in await world.agent.charges(ticket) if c.key == str(charge)]
    assert line.deleted and line.pending
    await world.agent.set_work_offline(False)
    await synced(world)
    assert charge not in server_charges(world, ticket)
    assert [c for c in await world.agent.charges(ticket) if c.key == str(charge)] == []


async def test_a_charge_the_dispatcher_deleted_leaves_the_list(world: World):
    ticket, charge = await a_server_charge(world)
    del world.sim.tenant.records["TicketCharges"][charge]
    world.clock.advance(REFRESH_S)
    await synced(world)
    assert [c for c in await world.agent.charges(ticket) if c.key == str(charge)] == []


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"name": "Part", "quantity": 0}, "unitQuantity"),
        ({"name": "Part", "quantity": -1}, "unitQuantity"),
        ({"name": "Part", "quantity": float("nan")}, "unitQuantity"),
        ({"name": "Part", "quantity": 1, "unit_price": -2.0}, "unitPrice"),
        ({"name": "   ", "quantity": 1}, "name"),
        ({"name": "x" * 101, "quantity": 1}, "name"),
        ({"quantity": 1}, "name"),
        ({"product_id": 999_999, "quantity": 1}, "productID"),
    ],
)
async def test_a_bad_part_is_refused_with_its_field_and_nothing_is_queued(
    world: World, given: dict[str, Any], field: str
):
    ticket = await a_ticket(world)
    with pytest.raises(EditRejected) as refused:
        await world.agent.add_charge(ticket, **given)
    assert [p.field for p in refused.value.problems] == [field]
    assert (await world.agent.queue_page()).total == 0


async def test_a_part_on_a_ticket_not_in_my_list_is_refused(world: World):
    await synced(world)
    with pytest.raises(EditRejected):
        await world.agent.add_charge(999_999, name="Part", quantity=1)
    assert (await world.agent.queue_page()).total == 0
