"""The seeded visit entities page like any other (nextPageUrl across 500-row pages, GET and
POST), and the dispatcher's visit edits, run in the background on the injected clock, are what
a change-marker query finds afterwards."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from agent.clock import FakeClock
from agent.simulator import Simulator
from agent.simulator.values import format_time
from tests.simulator.conftest import own_ticket_ids

VISIT_ENTITIES = (
    "ServiceCalls",
    "ServiceCallTickets",
    "ServiceCallTicketResources",
    "Appointments",
    "TicketChecklistItems",
    "TicketCharges",
    "ConfigurationItems",
    "BillingCodes",
    "Products",
    "CompanyLocations",
    "Contracts",
)


async def _all_pages(
    api: httpx.AsyncClient, entity: str, body: dict[str, Any], verb: str
) -> list[list[dict[str, Any]]]:
    """Every page of a query, following nextPageUrl as the API says (a POSTed query's next
    page is POSTed again with the same body)."""
    if verb == "POST":
        r = await api.post(f"{entity}/query", json=body)
    else:
        r = await api.get(f"{entity}/query", params={"search": json.dumps(body)})
    pages = []
    while True:
        assert r.status_code == 200, r.text
        payload = r.json()
        pages.append(payload["items"])
        url = payload["pageDetails"]["nextPageUrl"]
        if url is None:
            return pages
        r = await (api.post(url, json=body) if verb == "POST" else api.get(url))


@pytest.mark.parametrize("verb", ["GET", "POST"])
async def test_checklist_items_page_in_500_rows(
    api: httpx.AsyncClient, sim: Simulator, verb: str
) -> None:
    tickets = own_ticket_ids(sim)
    for n in range(900):  # beyond the seed's own, so the query needs two 500-row pages
        sim.tenant.insert(
            "TicketChecklistItems",
            {"ticketID": tickets[n % len(tickets)], "itemName": f"Step {n}", "position": n},
        )
    body = {"filter": [{"op": "gte", "field": "id", "value": 0}]}
    pages = await _all_pages(api, "TicketChecklistItems", body, verb)
    truth = sorted(sim.tenant.records["TicketChecklistItems"])
    assert len(truth) > 1000
    assert [len(p) for p in pages] == [500, 500, len(truth) - 1000]
    assert [i["id"] for p in pages for i in p] == truth


@pytest.mark.parametrize("entity", VISIT_ENTITIES)
async def test_every_seeded_visit_entity_pages_to_its_last_record(
    api: httpx.AsyncClient, sim: Simulator, entity: str
) -> None:
    truth = sorted(sim.tenant.records[entity])
    assert truth, entity
    size = max(1, len(truth) // 3)
    body = {"MaxRecords": size, "filter": [{"op": "exist", "field": "id"}]}
    pages = await _all_pages(api, entity, body, "POST")
    assert all(len(p) <= size for p in pages)
    assert [i["id"] for p in pages for i in p] == truth


async def test_the_dispatchers_visit_edits_over_time_are_found_by_their_marker(
    api: httpx.AsyncClient, sim: Simulator, fake_clock: FakeClock
) -> None:
    start = format_time(fake_clock.now())
    calls_before = {i: dict(c) for i, c in sim.tenant.records["ServiceCalls"].items()}
    sim.dispatcher.interval = 30
    sim.dispatcher.start()
    for _ in range(400):  # each round sleeps on the fake clock, then edits
        await asyncio.sleep(0)
    await sim.dispatcher.stop()
    assert len(sim.dispatcher.visit_history) >= 8
    rounds = len(fake_clock.sleeps)
    assert fake_clock.monotonic() - 1000.0 == pytest.approx(30 * rounds)
    moved = {e["id"] for e in sim.dispatcher.visit_history if e["entity"] == "ServiceCalls"}
    assert moved
    body = {"filter": [{"op": "gt", "field": "lastModifiedDateTime", "value": start}]}
    found = (await api.post("ServiceCalls/query", json=body)).json()["items"]
    assert {c["id"] for c in found} == moved
    for call in found:
        assert start < call["lastModifiedDateTime"] <= format_time(fake_clock.now())
        before = calls_before[call["id"]]
        assert call["duration"] == before["duration"]  # moved, not stretched
    added = [e for e in sim.dispatcher.visit_history if e["entity"] == "TicketChecklistItems"]
    for edit in added:
        item = sim.tenant.records["TicketChecklistItems"][edit["id"]]
        assert item["ticketID"] == edit["ticketID"] and item["isCompleted"] is False
