"""Attachments under every parent (Companies, Opportunities, Projects, Tasks, Tickets) follow the
same rules: base64 data (white space allowed, as .NET reads it), the per-file limit, an existing
parent, a publish picklist value, server-set size and type; and the byte budget counts only a
file that passed every rule."""

from __future__ import annotations

import base64

import httpx
import pytest

from agent.clock import FakeClock
from agent.simulator import Simulator
from agent.simulator.attachments import MAX_FILE_BYTES, PARENTS, WINDOW_BYTES
from tests.simulator.conftest import own_ticket_ids

SEGMENTS = {
    "CompanyAttachments": "Companies",
    "OpportunityAttachments": "Opportunities",
    "ProjectAttachments": "Projects",
    "TaskAttachments": "Tasks",
    "TicketAttachments": "Tickets",
}


def _file(size: int, name: str = "report.pdf", **extra: object) -> dict[str, object]:
    return {
        "attachmentType": "FILE_ATTACHMENT",
        "title": name,
        "fullPath": name,
        "publish": 1,
        "data": base64.b64encode(b"z" * size).decode(),
        **extra,
    }


def _parent_id(sim: Simulator, route: str) -> int:
    """A stored record of the attachment's parent entity (inserted where the seed has none)."""
    parent = PARENTS[route].route
    table = sim.tenant.records[parent]
    if parent == "Tickets":
        return own_ticket_ids(sim)[0]
    if table:
        return next(iter(table))
    company = next(iter(sim.tenant.records["Companies"]))
    return sim.tenant.insert(parent, {"companyID": company})


@pytest.mark.parametrize("route", sorted(SEGMENTS))
async def test_every_parent_checks_its_attachments(
    api: httpx.AsyncClient, sim: Simulator, route: str
) -> None:
    parent_id = _parent_id(sim, route)
    url = f"{SEGMENTS[route]}/{parent_id}/Attachments"
    table = sim.tenant.records[route]
    refusals = {
        "garbage base64": _file(10) | {"data": "not base64!"},
        "over the limit": _file(7_000_000),
        "publish 99": _file(10, publish=99),
    }
    for case, body in refusals.items():
        r = await api.post(url, json=body)
        assert r.status_code == 500, case
    missing = await api.post(f"{SEGMENTS[route]}/99999999/Attachments", json=_file(10))
    assert missing.status_code == 500
    assert "99999999 does not exist" in missing.json()["errors"][0]
    assert not table
    sent = _file(10, fileSize=1.0, contentType="text/plain")
    r = await api.post(url, json=sent)
    assert r.status_code == 200, r.text
    stored = table[r.json()["itemId"]]
    assert (stored["fileSize"], stored["contentType"]) == (10.0, "application/pdf")
    assert stored["parentID"] == parent_id
    info = sim.tenant.records["AttachmentInfo"][stored["id"]]
    assert (info["parentID"], info["parentType"]) == (parent_id, PARENTS[route].parent_type)


@pytest.mark.parametrize("route", sorted(SEGMENTS))
async def test_every_attachment_entity_describes_its_server_set_fields(
    api: httpx.AsyncClient, route: str
) -> None:
    fields = (await api.get(f"{route}/entityInformation/fields")).json()["fields"]
    by_name = {f["name"]: f for f in fields}
    for name in ("fileSize", "contentType", "attachDate", "attachedByResourceID"):
        assert by_name[name]["isReadOnly"], (route, name)
    assert by_name["publish"]["isPickList"]
    assert sorted(int(v["value"]) for v in by_name["publish"]["picklistValues"]) == [1, 2, 4]


async def test_base64_with_line_breaks_is_read_as_dotnet_reads_it(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    content = bytes(range(256)) * 3
    body = _file(0) | {"data": base64.encodebytes(content).decode()}
    assert "\n" in str(body["data"])
    r = await api.post(f"Tickets/{ticket_id}/Attachments", json=body)
    assert r.status_code == 200, r.text
    stored = sim.tenant.records["TicketAttachments"][r.json()["itemId"]]
    assert base64.b64decode(stored["data"], validate=True) == content
    assert stored["fileSize"] == float(len(content))


async def test_a_file_over_the_per_file_limit_is_refused_as_such_not_as_over_budget(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    url = f"Tickets/{own_ticket_ids(sim)[0]}/Attachments"
    r = await api.post(url, json=_file(12_000_000))
    assert r.status_code == 500
    assert "exceeds the maximum size" in r.json()["errors"][0]
    assert (await api.post(url, json=_file(MAX_FILE_BYTES - 10))).status_code == 200


async def test_a_refused_create_does_not_count_toward_the_budget(
    api: httpx.AsyncClient, sim: Simulator, fake_clock: FakeClock
) -> None:
    url = f"Tickets/{own_ticket_ids(sim)[0]}/Attachments"
    big = MAX_FILE_BYTES - 1000
    for _ in range(3):  # each would use most of the budget, but none passes validation
        r = await api.post(url, json=_file(big) | {"title": None})
        assert r.status_code == 500
        assert "title is required" in r.json()["errors"][0]
    accepted = 0
    while accepted + big <= WINDOW_BYTES:
        assert (await api.post(url, json=_file(big))).status_code == 200
        accepted += big
    # An invalid create while over budget is told what is wrong with it ...
    invalid = await api.post(url, json=_file(big) | {"publish": 3})
    assert invalid.status_code == 500
    # ... and only a valid one meets the budget and starts the refusal period.
    refused = await api.post(url, json=_file(big))
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "300"
    fake_clock.advance(301)
    assert (await api.post(url, json=_file(big))).status_code == 200
