"""The context at hand for a ticket: all its company's contacts with phone and e-mail and the
company's devices (name, serial, location), cached and read offline, also after a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.api.facade import Agent
from tests.e2e.conftest import World, open_world, options


async def synced(world: World) -> None:
    report = await world.agent.sync_now()
    assert report is not None and report.error is None, report


def company_records(world: World, route: str, company_id: int) -> dict[int, dict[str, Any]]:
    return {i: r for i, r in world.sim.dump()[route].items() if r.get("companyID") == company_id}


async def test_every_contact_and_device_of_the_tickets_company_is_at_hand(world: World):
    await synced(world)
    ticket = (await world.agent.my_tickets())[0]
    ctx = await world.agent.ticket_context(ticket.id)
    assert ctx is not None and ctx.company_id == ticket.company_id
    server = world.sim.dump()["Tickets"][ticket.id]
    contacts = company_records(world, "Contacts", ticket.company_id or 0)
    assert len(contacts) > 1  # more than the ticket's own contact
    assert {c.id for c in ctx.contacts} == set(contacts)
    for c in ctx.contacts:
        assert c.email == (contacts[c.id].get("emailAddress") or "")
        assert c.phone.startswith(contacts[c.id].get("phone") or "")
        assert c.ticket_contact == (c.id == server.get("contactID"))
    if server.get("contactID") in contacts:
        assert ctx.contacts[0].ticket_contact
    devices = {
        i: r
        for i, r in company_records(world, "ConfigurationItems", ticket.company_id or 0).items()
        if r["isActive"]
    }
    assert devices and {d.id for d in ctx.devices} == set(devices)
    for d in ctx.devices:
        assert (d.name, d.serial, d.location) == (
            devices[d.id]["referenceTitle"],
            devices[d.id]["serialNumber"],
            devices[d.id]["location"],
        )
        assert d.product  # the product's name, from the cached product list


async def test_a_ticket_not_in_my_list_has_no_context(world: World):
    await synced(world)
    assert await world.agent.ticket_context(999_999) is None


async def test_context_parts_and_products_are_read_offline_after_a_restart(tmp_path: Path):
    async with open_world(tmp_path, "visit", 40) as world:
        await synced(world)
        ticket = (await world.agent.my_tickets())[0].id
        before = await world.agent.ticket_context(ticket)
        products = await world.agent.products()
        added = await world.agent.add_charge(ticket, product_id=products[0].id, quantity=1)
        await synced(world)
        charges = await world.agent.charges(ticket)
        await world.agent.set_work_offline(True)
        sim, clock = world.sim, world.clock
    sim.faults.reset(route="*")  # Autotask cannot be reached at all now
    agent = await Agent.open(options(sim, clock, tmp_path))
    try:
        assert before is not None and before.contacts and before.devices
        assert await agent.ticket_context(ticket) == before
        assert await agent.products() == products
        assert await agent.charges(ticket) == charges
        assert added.key not in {c.key for c in charges}  # it has its server id now
        offline = await agent.add_charge(ticket, product_id=products[1].id, quantity=3)
        assert offline.op_id is not None
    finally:
        await agent.close()
