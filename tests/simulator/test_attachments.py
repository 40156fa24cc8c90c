"""Ticket attachments: base64 files stored under the ticket, shown in AttachmentInfo without
their data, and the API's limits: 6 MB per file, 10,000,000 bytes per 5 minutes per
integration, then 5 minutes of refusals (429 with Retry-After)."""

from __future__ import annotations

import base64

import httpx

from agent.clock import FakeClock
from agent.simulator import Simulator
from agent.simulator.attachments import MAX_FILE_BYTES, WINDOW_BYTES
from tests.simulator.conftest import own_ticket_ids


def _file(size: int, name: str = "photo.jpg") -> dict[str, object]:
    return {
        "attachmentType": "FILE_ATTACHMENT",
        "title": name,
        "fullPath": name,
        "publish": 1,
        "data": base64.b64encode(b"x" * size).decode(),
    }


async def test_a_file_is_stored_under_its_ticket_and_listed_without_data(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    r = await api.post(f"Tickets/{ticket_id}/Attachments", json=_file(1000))
    assert r.status_code == 200, r.text
    attachment_id = r.json()["itemId"]
    stored = sim.tenant.records["TicketAttachments"][attachment_id]
    assert base64.b64decode(stored["data"]) == b"x" * 1000
    assert (stored["parentID"], stored["fileSize"], stored["contentType"]) == (
        ticket_id,
        1000.0,
        "image/jpeg",
    )
    one = (await api.get(f"Tickets/{ticket_id}/Attachments/{attachment_id}")).json()["item"]
    assert one["data"] == stored["data"]
    listed = (await api.get(f"Tickets/{ticket_id}/Attachments")).json()["items"]
    assert [(a["id"], a["data"]) for a in listed] == [(attachment_id, None)]
    info = await api.post(
        "AttachmentInfo/query",
        json={"filter": [{"op": "eq", "field": "parentID", "value": ticket_id}]},
    )
    assert [(i["id"], i["parentType"], "data" in i) for i in info.json()["items"]] == [
        (attachment_id, 4, False)
    ]


async def test_a_file_over_the_api_limit_is_refused(api: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    r = await api.post(f"Tickets/{ticket_id}/Attachments", json=_file(MAX_FILE_BYTES + 1))
    assert r.status_code == 500
    assert "exceeds the maximum size" in r.json()["errors"][0]
    assert not sim.tenant.records["TicketAttachments"]
    bad = {**_file(10), "data": "not base64!"}
    r = await api.post(f"Tickets/{ticket_id}/Attachments", json=bad)
    assert r.json() == {"errors": ["The field data must be base64-encoded."]}


async def test_past_the_bytes_per_period_attachments_are_refused_for_the_period(
    api: httpx.AsyncClient, sim: Simulator, fake_clock: FakeClock
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    url = f"Tickets/{ticket_id}/Attachments"
    big = MAX_FILE_BYTES - 1000
    sent = 0
    while sent + big <= WINDOW_BYTES:
        assert (await api.post(url, json=_file(big))).status_code == 200
        sent += big
    refused = await api.post(url, json=_file(big))
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "300"
    assert "attachment upload limit" in refused.json()["errors"][0]
    fake_clock.advance(200)
    small = await api.post(url, json=_file(10))
    assert small.status_code == 429  # still inside the refusal period
    assert (
        await api.patch("Tickets", json={"id": ticket_id, "title": "Other calls go"})
    ).status_code == 200
    fake_clock.advance(101)
    assert (await api.post(url, json=_file(10))).status_code == 200
    assert len(sim.tenant.records["TicketAttachments"]) == sent // big + 1
