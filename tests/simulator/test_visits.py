"""The entities of a technician's visit are seeded around the technician's own tickets, served
with their rules, and edited by the dispatcher now and then."""

from __future__ import annotations

import httpx

from agent.simulator import Simulator
from tests.simulator.conftest import own_ticket_ids


async def test_the_technicians_visits_are_seeded_and_linked(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    own = set(own_ticket_ids(sim))
    records = sim.tenant.records
    links = list(records["ServiceCallTickets"].values())
    assert links and {link["ticketID"] for link in links} <= own
    for link in links:
        call = records["ServiceCalls"][link["serviceCallID"]]
        assert call["companyID"] == records["Tickets"][link["ticketID"]]["companyID"]
        tickets = (await api.get(f"ServiceCalls/{call['id']}/Tickets")).json()["items"]
        assert link["id"] in {t["id"] for t in tickets}
        dispatched = (await api.get(f"ServiceCallTickets/{link['id']}/Resources")).json()["items"]
        assert [d["resourceID"] for d in dispatched] == [sim.technician_resource_id]
    ticket_id = sorted(own)[0]
    checklist = (await api.get(f"Tickets/{ticket_id}/ChecklistItems")).json()["items"]
    assert [c["position"] for c in checklist] == [1, 2, 3, 4]
    work_types = {p.value for p in sim.tenant.picklist("TimeEntries", "billingCodeID")}
    assert work_types <= set(records["BillingCodes"])
    assert records["Products"] and records["ConfigurationItems"] and records["Appointments"]


async def test_completing_a_checklist_item_stamps_who_and_when(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    item = next(
        i
        for i in sim.tenant.records["TicketChecklistItems"].values()
        if i["ticketID"] == ticket_id and not i["isCompleted"]
    )
    r = await api.patch(
        f"Tickets/{ticket_id}/ChecklistItems",
        json={"id": item["id"], "isCompleted": True},
        headers={"ImpersonationResourceId": str(sim.technician_resource_id)},
    )
    assert r.status_code == 200, r.text
    stored = sim.tenant.records["TicketChecklistItems"][item["id"]]
    assert stored["completedByResourceID"] == sim.technician_resource_id
    assert stored["completedDateTime"] == sim.tenant.now_text()


async def test_a_charge_computes_its_amounts_and_checks_its_product(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    product = next(iter(sim.tenant.records["Products"].values()))
    body = {
        "name": product["name"],
        "productID": product["id"],
        "unitQuantity": 2,
        "unitPrice": 10.0,
        "unitCost": 4.0,
        "chargeType": 1,
        "status": 1,
    }
    r = await api.post(f"Tickets/{ticket_id}/Charges", json=body)
    assert r.status_code == 200, r.text
    stored = sim.tenant.records["TicketCharges"][r.json()["itemId"]]
    assert (stored["billableAmount"], stored["extendedCost"]) == (20.0, 8.0)
    r = await api.post(f"Tickets/{ticket_id}/Charges", json={**body, "productID": 1})
    assert r.json() == {"errors": ["The product 1 does not exist."]}


async def test_the_dispatcher_moves_calls_and_adds_checklist_items(sim: Simulator) -> None:
    calls_before = {i: dict(c) for i, c in sim.tenant.records["ServiceCalls"].items()}
    items_before = len(sim.tenant.records["TicketChecklistItems"])
    for _ in range(12):
        await sim.dispatcher.step()
    edits = sim.dispatcher.visit_history
    assert {e["entity"] for e in edits} == {"ServiceCalls", "TicketChecklistItems"}
    for edit in edits:
        if edit["entity"] == "ServiceCalls":
            now = sim.tenant.records["ServiceCalls"][edit["id"]]
            assert now["startDateTime"] != calls_before[edit["id"]]["startDateTime"] or any(
                e is not edit and e.get("id") == edit["id"] for e in edits
            )
    added = sum(e["entity"] == "TicketChecklistItems" for e in edits)
    assert len(sim.tenant.records["TicketChecklistItems"]) == items_before + added
