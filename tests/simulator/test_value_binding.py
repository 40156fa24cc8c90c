"""Values bind as ASP.NET binds them to the API's .NET models: integers within their Int32 or
Int64 type, booleans never null (a non-nullable bool left out is false), and server-computed
values right past a day."""

from __future__ import annotations

import httpx
import pytest

from agent.simulator import Simulator
from tests.simulator.conftest import own_ticket_ids


def _item(sim: Simulator) -> dict[str, object]:
    ticket_id = own_ticket_ids(sim)[0]
    return next(
        i for i in sim.tenant.records["TicketChecklistItems"].values() if i["ticketID"] == ticket_id
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("position", 1099511627776), ("position", 2147483648), ("position", -2147483649)],
)
async def test_an_int32_field_refuses_a_value_outside_int32(
    api: httpx.AsyncClient, sim: Simulator, field: str, value: int
) -> None:
    item = _item(sim)
    before = dict(item)
    url = f"Tickets/{item['ticketID']}/ChecklistItems"
    r = await api.patch(url, json={"id": item["id"], field: value})
    assert r.status_code == 500
    assert field in r.json()["errors"][0] and "outside the range" in r.json()["errors"][0]
    assert sim.tenant.records["TicketChecklistItems"][item["id"]] == before
    edge = await api.patch(url, json={"id": item["id"], field: 2147483647})
    assert edge.status_code == 200
    assert sim.tenant.records["TicketChecklistItems"][item["id"]][field] == 2147483647


async def test_an_int32_service_call_flag_refuses_an_int64_value(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    call = next(iter(sim.tenant.records["ServiceCalls"].values()))
    r = await api.patch("ServiceCalls", json={"id": call["id"], "isComplete": 2147483648})
    assert r.status_code == 500
    assert sim.tenant.records["ServiceCalls"][call["id"]]["isComplete"] == 0


async def test_an_int64_field_refuses_a_value_outside_int64(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    r = await api.post(
        "Tickets/query", json={"filter": [{"op": "eq", "field": "id", "value": 2**63}]}
    )
    assert r.status_code == 500
    assert "outside the range" in r.json()["errors"][0]
    r = await api.post(
        "Tickets/query", json={"filter": [{"op": "eq", "field": "id", "value": ticket_id}]}
    )
    assert [t["id"] for t in r.json()["items"]] == [ticket_id]


async def test_a_boolean_refuses_null(api: httpx.AsyncClient, sim: Simulator) -> None:
    item = _item(sim)
    before = dict(item)
    url = f"Tickets/{item['ticketID']}/ChecklistItems"
    r = await api.patch(url, json={"id": item["id"], "isCompleted": None})
    assert r.status_code == 500
    assert r.json()["errors"] == ["Invalid value for field isCompleted: null is not a boolean."]
    assert sim.tenant.records["TicketChecklistItems"][item["id"]] == before
    created = await api.post(url, json={"itemName": "Check the fan", "isImportant": None})
    assert created.status_code == 500


async def test_a_boolean_left_out_of_a_put_or_create_is_false(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    item = _item(sim)
    url = f"Tickets/{item['ticketID']}/ChecklistItems"
    r = await api.patch(url, json={"id": item["id"], "isImportant": True})
    assert r.status_code == 200
    r = await api.put(url, json={"id": item["id"], "itemName": "Replaced line"})
    assert r.status_code == 200, r.text
    stored = sim.tenant.records["TicketChecklistItems"][item["id"]]
    assert (stored["isImportant"], stored["isCompleted"]) == (False, False)
    assert stored["position"] is None  # a nullable int left out of a PUT is null
    created = await api.post(url, json={"itemName": "Check the fan"})
    new = sim.tenant.records["TicketChecklistItems"][created.json()["itemId"]]
    assert (new["isImportant"], new["isCompleted"]) == (False, False)


async def test_a_service_call_longer_than_a_day_keeps_its_whole_duration(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    call = next(iter(sim.tenant.records["ServiceCalls"].values()))
    body = {
        "id": call["id"],
        "startDateTime": "2026-02-02T08:00:00Z",
        "endDateTime": "2026-02-03T09:30:00Z",
    }
    r = await api.patch("ServiceCalls", json=body)
    assert r.status_code == 200, r.text
    assert sim.tenant.records["ServiceCalls"][call["id"]]["duration"] == 25.5


@pytest.mark.parametrize(
    ("sent", "stored"), [(1, True), (0, False), (True, True), ("false", False)]
)
async def test_a_boolean_takes_an_integer_as_json_net_converts_it(
    api: httpx.AsyncClient, sim: Simulator, sent: object, stored: bool
) -> None:
    item = _item(sim)
    url = f"Tickets/{item['ticketID']}/ChecklistItems"
    await api.patch(url, json={"id": item["id"], "isCompleted": not stored})
    r = await api.patch(url, json={"id": item["id"], "isCompleted": sent})
    assert r.status_code == 200, r.text
    assert sim.tenant.records["TicketChecklistItems"][item["id"]]["isCompleted"] is stored


@pytest.mark.parametrize("sent", [0.5, 1.0, "1", "yes", [1]])
async def test_a_boolean_refuses_what_json_net_does_not_convert(
    api: httpx.AsyncClient, sim: Simulator, sent: object
) -> None:
    item = _item(sim)
    before = dict(sim.tenant.records["TicketChecklistItems"][item["id"]])
    url = f"Tickets/{item['ticketID']}/ChecklistItems"
    r = await api.patch(url, json={"id": item["id"], "isCompleted": sent})
    assert r.status_code == 500
    assert r.json()["errors"] == ["Invalid value for field isCompleted: expected true or false."]
    assert sim.tenant.records["TicketChecklistItems"][item["id"]] == before
