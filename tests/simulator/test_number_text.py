"""Numbers in text read as .NET reads them: ASCII digits, a sign and white space around, never
other scripts' digits or Python's underscores, in route ids, body ids, filters and headers."""

from __future__ import annotations

import httpx
import pytest

from agent.simulator import Simulator
from tests.simulator.conftest import own_ticket_ids

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def spellings(number: int) -> list[str]:
    """Texts Python's int() reads as `number` and .NET's Int64 does not."""
    text = str(number)
    return [text.translate(FULLWIDTH), text.translate(ARABIC_INDIC), f"{text[:1]}_{text[1:]}"]


@pytest.fixture
def ticket_id(sim: Simulator) -> int:
    return own_ticket_ids(sim)[0]


async def test_a_route_id_in_other_digits_matches_no_route(
    api: httpx.AsyncClient, ticket_id: int
) -> None:
    assert (await api.get(f"Tickets/{ticket_id}")).json()["item"]["id"] == ticket_id
    for text in spellings(ticket_id):
        r = await api.get(f"Tickets/{text}")
        assert r.status_code == 404, text
        r = await api.get(f"Tickets/{text}/Notes")
        assert r.status_code == 404, text


async def test_a_body_id_in_other_digits_names_no_record(
    api: httpx.AsyncClient, sim: Simulator, ticket_id: int
) -> None:
    before = dict(sim.tenant.records["Tickets"][ticket_id])
    for text in spellings(ticket_id):
        r = await api.patch("Tickets", json={"id": text, "title": "Changed"})
        assert r.status_code == 500, text
        assert r.json()["errors"] == ["An id is required to update a Ticket."]
    assert sim.tenant.records["Tickets"][ticket_id] == before
    r = await api.patch("Tickets", json={"id": f" {ticket_id} ", "title": "Changed"})
    assert r.status_code == 200, r.text
    assert sim.tenant.records["Tickets"][ticket_id]["title"] == "Changed"


async def test_a_filter_value_in_other_digits_is_refused(
    api: httpx.AsyncClient, ticket_id: int
) -> None:
    for text in spellings(ticket_id):
        body = {"filter": [{"op": "eq", "field": "id", "value": text}]}
        r = await api.post("Tickets/query", json=body)
        assert r.status_code == 500, text
        assert r.json()["errors"] == ["Invalid value for id: expected an integer."]
    body = {"filter": [{"op": "eq", "field": "id", "value": f"+{ticket_id} "}]}
    r = await api.post("Tickets/query", json=body)
    assert [t["id"] for t in r.json()["items"]] == [ticket_id]


@pytest.mark.parametrize("text", ["1_0.5", "１.５", "٢", "inf", "1.5.2"])
async def test_a_decimal_filter_value_is_read_as_net_reads_it(
    api: httpx.AsyncClient, text: str
) -> None:
    body = {"filter": [{"op": "gt", "field": "estimatedHours", "value": text}]}
    r = await api.post("Tickets/query", json=body)
    assert r.status_code == 500, text
    assert r.json()["errors"] == ["Invalid value for estimatedHours: expected a number."]
    body = {"filter": [{"op": "gt", "field": "estimatedHours", "value": " 1.5e0 "}]}
    assert (await api.post("Tickets/query", json=body)).status_code == 200


async def test_an_impersonated_resource_in_other_digits_is_refused(
    api: httpx.AsyncClient, sim: Simulator, ticket_id: int
) -> None:
    resource = sim.technician_resource_id
    # Header bytes read as Latin-1: "²" is a digit to Python's str.isdigit(), not to int().
    sent = [
        f"{resource}".translate(FULLWIDTH).encode(),
        spellings(resource)[2].encode(),
        "²".encode("latin-1"),
    ]
    for text in sent:
        r = await api.get(f"Tickets/{ticket_id}", headers={"ImpersonationResourceId": text})
        assert r.status_code == 500, text
        assert r.json()["errors"] == ["The impersonated resource does not exist or is inactive."]
    r = await api.get(f"Tickets/{ticket_id}", headers={"ImpersonationResourceId": str(resource)})
    assert r.status_code == 200
