"""Service calls and what lives inside them: deleting a call deletes its ticket links and
their dispatched resources, a ticket is linked once and only to a call of its own company, and
a seeded call is at its company's primary location."""

from __future__ import annotations

from typing import Any

import httpx

from agent.simulator import Simulator


def _call_with_resources(sim: Simulator) -> dict[str, Any]:
    links = sim.tenant.records["ServiceCallTickets"].values()
    dispatched = {
        r["serviceCallTicketID"] for r in sim.tenant.records["ServiceCallTicketResources"].values()
    }
    link = next(link for link in links if link["id"] in dispatched)
    return sim.tenant.records["ServiceCalls"][link["serviceCallID"]]


def _inside(sim: Simulator, call_id: int) -> tuple[set[int], set[int]]:
    links = {
        i
        for i, r in sim.tenant.records["ServiceCallTickets"].items()
        if r["serviceCallID"] == call_id
    }
    dispatched = {
        i
        for i, r in sim.tenant.records["ServiceCallTicketResources"].items()
        if r["serviceCallTicketID"] in links
    }
    return links, dispatched


async def test_deleting_a_service_call_deletes_its_links_and_dispatched_resources(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    call_id = _call_with_resources(sim)["id"]
    links, dispatched = _inside(sim, call_id)
    assert links and dispatched
    others = len(sim.tenant.records["ServiceCallTickets"]) - len(links)
    r = await api.delete(f"ServiceCalls/{call_id}")
    assert r.status_code == 200 and r.json() == {"itemId": call_id}
    assert call_id not in sim.tenant.records["ServiceCalls"]
    assert not links & set(sim.tenant.records["ServiceCallTickets"])
    assert not dispatched & set(sim.tenant.records["ServiceCallTicketResources"])
    assert len(sim.tenant.records["ServiceCallTickets"]) == others
    (link,) = list(links)[:1]
    assert (await api.get(f"ServiceCallTickets/{link}")).status_code == 404
    assert (await api.get(f"ServiceCalls/{call_id}/Tickets")).json()["items"] == []


async def test_deleting_a_link_deletes_its_dispatched_resources(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    call_id = _call_with_resources(sim)["id"]
    links, dispatched = _inside(sim, call_id)
    for link in links:
        r = await api.delete(f"ServiceCalls/{call_id}/Tickets/{link}")
        assert r.status_code == 200, r.text
    assert not dispatched & set(sim.tenant.records["ServiceCallTicketResources"])
    assert call_id in sim.tenant.records["ServiceCalls"]


async def test_a_ticket_is_linked_to_a_service_call_once(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    call_id = _call_with_resources(sim)["id"]
    links, _ = _inside(sim, call_id)
    ticket_id = sim.tenant.records["ServiceCallTickets"][next(iter(links))]["ticketID"]
    count = len(sim.tenant.records["ServiceCallTickets"])
    r = await api.post(f"ServiceCalls/{call_id}/Tickets", json={"ticketID": ticket_id})
    assert r.status_code == 500
    assert r.json()["errors"] == [
        f"The ticket {ticket_id} is already on the service call {call_id}."
    ]
    assert len(sim.tenant.records["ServiceCallTickets"]) == count


async def test_a_ticket_of_another_company_is_refused(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    call = _call_with_resources(sim)
    tickets = sim.tenant.records["Tickets"].values()
    same = next(
        t
        for t in tickets
        if t["companyID"] == call["companyID"]
        and t["id"]
        not in {
            sim.tenant.records["ServiceCallTickets"][i]["ticketID"]
            for i in _inside(sim, call["id"])[0]
        }
    )
    foreign = next(t for t in tickets if t["companyID"] != call["companyID"])
    count = len(sim.tenant.records["ServiceCallTickets"])
    r = await api.post(f"ServiceCalls/{call['id']}/Tickets", json={"ticketID": foreign["id"]})
    assert r.status_code == 500
    assert r.json()["errors"] == [
        f"The ticket {foreign['id']} belongs to company {foreign['companyID']}, not to the "
        f"service call's company {call['companyID']}."
    ]
    assert len(sim.tenant.records["ServiceCallTickets"]) == count
    r = await api.post(f"ServiceCalls/{call['id']}/Tickets", json={"ticketID": same["id"]})
    assert r.status_code == 200, r.text


def test_seeded_service_calls_are_at_their_companys_primary_location(sim: Simulator) -> None:
    calls = list(sim.tenant.records["ServiceCalls"].values())
    assert calls
    for call in calls:
        location = sim.tenant.records["CompanyLocations"][call["companyLocationID"]]
        assert location["companyID"] == call["companyID"] and location["isPrimary"]


async def test_a_service_call_location_must_be_its_companys(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    call = _call_with_resources(sim)
    other = next(
        loc
        for loc in sim.tenant.records["CompanyLocations"].values()
        if loc["companyID"] != call["companyID"]
    )
    r = await api.patch("ServiceCalls", json={"id": call["id"], "companyLocationID": other["id"]})
    assert r.status_code == 500
    assert r.json()["errors"] == [
        f"The company location {other['id']} does not belong to company {call['companyID']}."
    ]


async def test_a_child_route_get_ignores_search(api: httpx.AsyncClient, sim: Simulator) -> None:
    call_id = _call_with_resources(sim)["id"]
    links, _ = _inside(sim, call_id)
    search = '{"filter":[{"op":"eq","field":"id","value":-1}]}'
    r = await api.get(f"ServiceCalls/{call_id}/Tickets", params={"search": search})
    assert r.status_code == 200
    assert {link["id"] for link in r.json()["items"]} == links
