"""Creates, updates and deletes: envelopes, PATCH vs PUT, validation messages, change markers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agent.clock import FakeClock
from agent.simulator import Simulator
from tests.simulator.conftest import own_ticket_ids, picklist


def new_ticket(sim: Simulator, **extra: Any) -> dict[str, Any]:
    company = next(iter(sim.tenant.records["Companies"]))
    return {
        "companyID": company,
        "title": "Laptop will not boot",
        "status": 1,
        "priority": picklist(sim, "Tickets", "priority")[0],
        **extra,
    }


def new_time_entry(sim: Simulator, ticket_id: int, **extra: Any) -> dict[str, Any]:
    role = sorted(sim.tenant.roles_of(sim.technician_resource_id))[0]
    return {
        "resourceID": sim.technician_resource_id,
        "ticketID": ticket_id,
        "dateWorked": "2026-01-05T00:00:00Z",
        "hoursWorked": 1.5,
        "summaryNotes": "Replaced the disk.",
        "roleID": role,
        **extra,
    }


async def test_create_ticket_returns_item_id_and_server_fields(
    api: httpx.AsyncClient, sim: Simulator, fake_clock: FakeClock
) -> None:
    r = await api.post("Tickets", json=new_ticket(sim, id=1, ticketNumber="X", createDate="bad"))
    assert r.status_code == 200, r.text
    new_id = r.json()["itemId"]
    item = (await api.get(f"Tickets/{new_id}")).json()["item"]
    assert item["title"] == "Laptop will not boot"
    assert item["ticketNumber"].startswith("T20260105.")
    assert item["createDate"] == item["lastTrackedModificationDateTime"]
    assert item["createDate"] == "2026-01-05T09:00:00.000Z"
    assert new_id > max(own_ticket_ids(sim)[:-1])


@pytest.mark.parametrize("missing", ["companyID", "priority", "status", "title"])
async def test_ticket_required_fields(api: httpx.AsyncClient, sim: Simulator, missing: str) -> None:
    body = new_ticket(sim)
    del body[missing]
    r = await api.post("Tickets", json=body)
    assert r.status_code == 500
    assert any(missing in e for e in r.json()["errors"])


async def test_assigning_a_resource_needs_both_ids(api: httpx.AsyncClient, sim: Simulator) -> None:
    body = new_ticket(sim, assignedResourceID=sim.technician_resource_id)
    r = await api.post("Tickets", json=body)
    assert r.status_code == 500
    assert r.json()["errors"] == [
        "When assigning a Resource, you must assign both a assignedResourceID and "
        "assignedResourceRoleID."
    ]


async def test_role_must_belong_to_the_resource(api: httpx.AsyncClient, sim: Simulator) -> None:
    tech = sim.technician_resource_id
    foreign = sorted(
        {r for r in picklist(sim, "Tickets", "assignedResourceRoleID")} - sim.tenant.roles_of(tech)
    )[0]
    r = await api.post(
        "Tickets", json=new_ticket(sim, assignedResourceID=tech, assignedResourceRoleID=foreign)
    )
    assert r.status_code == 500
    assert "not one of the roles" in r.json()["errors"][0]


async def test_picklist_values_are_checked(api: httpx.AsyncClient, sim: Simulator) -> None:
    r = await api.post("Tickets", json=new_ticket(sim, status=999_999))
    assert r.status_code == 500
    assert "status" in r.json()["errors"][0]


async def test_patch_changes_only_sent_fields_and_moves_the_marker(
    api: httpx.AsyncClient, sim: Simulator, fake_clock: FakeClock
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    before = dict(sim.tenant.records["Tickets"][ticket_id])
    fake_clock.advance(60)
    r = await api.patch("Tickets", json={"ID": ticket_id, "Description": "Changed"})
    assert r.json() == {"itemId": ticket_id}
    after = sim.tenant.records["Tickets"][ticket_id]
    assert after["description"] == "Changed"
    assert after["title"] == before["title"]
    assert after["lastTrackedModificationDateTime"] == "2026-01-05T09:01:00.000Z"
    fake_clock.advance(60)
    await api.patch("Tickets", json={"id": ticket_id, "description": "Changed"})
    unchanged = sim.tenant.records["Tickets"][ticket_id]["lastTrackedModificationDateTime"]
    assert unchanged == "2026-01-05T09:01:00.000Z"


async def test_put_nulls_omitted_writable_fields(api: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    record = sim.tenant.records["Tickets"][ticket_id]
    body = {"id": ticket_id, **{k: record[k] for k in ("companyID", "title", "status", "priority")}}
    r = await api.put("Tickets", json=body)
    assert r.status_code == 200, r.text
    after = sim.tenant.records["Tickets"][ticket_id]
    assert after["description"] is None and after["assignedResourceID"] is None
    assert after["createDate"] is not None  # read-only fields survive a PUT


async def test_update_of_missing_record_is_a_500(api: httpx.AsyncClient, sim: Simulator) -> None:
    r = await api.patch("Tickets", json={"id": 1, "title": "x"})
    assert r.status_code == 500
    r = await api.patch("Tickets", json={"title": "no id"})
    assert r.status_code == 500


async def test_wrong_types_are_refused(api: httpx.AsyncClient, sim: Simulator) -> None:
    r = await api.post("Tickets", json=new_ticket(sim, priority="high", dueDateTime="soon"))
    assert r.status_code == 500
    assert len(r.json()["errors"]) == 2
    r = await api.post(
        "Tickets", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 500


async def test_note_add_moves_last_activity_date_not_the_version(
    api: httpx.AsyncClient, sim: Simulator, fake_clock: FakeClock
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    ticket = sim.tenant.records["Tickets"][ticket_id]
    version = ticket["lastTrackedModificationDateTime"]
    fake_clock.advance(300)
    note = {"title": "On site", "description": "Swapped the toner.", "noteType": 1, "publish": 1}
    r = await api.post(f"Tickets/{ticket_id}/Notes", json=note)
    assert r.status_code == 200, r.text
    note_id = r.json()["itemId"]
    assert ticket["lastActivityDate"] == "2026-01-05T09:05:00.000Z"
    assert ticket["lastTrackedModificationDateTime"] == version
    stored = (await api.get(f"TicketNotes/{note_id}")).json()["item"]
    assert stored["ticketID"] == ticket_id
    assert stored["creatorResourceID"] == sim.api_user_resource_id  # no one impersonated
    assert stored["impersonatorCreatorResourceID"] is None
    assert stored["createDateTime"] == "2026-01-05T09:05:00.000Z"


async def test_note_validation(api: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    r = await api.post(f"Tickets/{ticket_id}/Notes", json={"description": "x", "noteType": 1})
    assert r.status_code == 500
    assert any("publish" in e for e in r.json()["errors"])
    r = await api.post(
        f"Tickets/{ticket_id}/Notes", json={"description": "x", "noteType": 1, "publish": 3}
    )
    assert "publish" in r.json()["errors"][0]
    r = await api.post(
        f"Tickets/{ticket_id}/Notes",
        json={"ticketID": ticket_id + 1, "description": "x", "noteType": 1, "publish": 1},
    )
    assert r.status_code == 500


async def test_impersonation_makes_the_resource_the_creator(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    other = sorted(sim.tenant.records["Resources"])[3]
    ticket_id = own_ticket_ids(sim)[0]
    note = {"description": "As someone else", "noteType": 1, "publish": 1}
    r = await api.post(
        f"Tickets/{ticket_id}/Notes", json=note, headers={"impersonationResourceId": str(other)}
    )
    stored = sim.tenant.records["TicketNotes"][r.json()["itemId"]]
    assert stored["creatorResourceID"] == other
    assert stored["impersonatorCreatorResourceID"] == sim.api_user_resource_id
    role = sorted(sim.tenant.roles_of(other))[0]
    entry = new_time_entry(sim, ticket_id, roleID=role)
    del entry["resourceID"]
    r = await api.post("TimeEntries", json=entry, headers={"ImpersonationResourceId": str(other)})
    assert sim.tenant.records["TimeEntries"][r.json()["itemId"]]["resourceID"] == other


async def test_time_entry_create_update_delete(
    api: httpx.AsyncClient, sim: Simulator, fake_clock: FakeClock
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    body = new_time_entry(sim, ticket_id, hoursToBill=99)
    r = await api.post("TimeEntries", json=body)
    entry_id = r.json()["itemId"]
    stored = (await api.get(f"TimeEntries/{entry_id}")).json()["item"]
    assert stored["hoursToBill"] == 1.5  # read-only: the 99 sent is ignored
    assert sim.tenant.records["Tickets"][ticket_id]["lastActivityDate"] == stored["createDateTime"]
    fake_clock.advance(10)
    await api.patch("TimeEntries", json={"id": entry_id, "summaryNotes": "Better notes"})
    stored = (await api.get(f"TimeEntries/{entry_id}")).json()["item"]
    assert stored["lastModifiedDateTime"] == "2026-01-05T09:00:10.000Z"
    assert (await api.delete(f"TimeEntries/{entry_id}")).json() == {"itemId": entry_id}
    assert (await api.get(f"TimeEntries/{entry_id}")).status_code == 404


async def test_time_entry_hours_from_start_and_end(api: httpx.AsyncClient, sim: Simulator) -> None:
    body = new_time_entry(
        sim,
        own_ticket_ids(sim)[0],
        startDateTime="2026-01-05T08:00:00Z",
        endDateTime="2026-01-05T10:30:00Z",
    )
    del body["hoursWorked"]
    r = await api.post("TimeEntries", json=body)
    assert sim.tenant.records["TimeEntries"][r.json()["itemId"]]["hoursWorked"] == 2.5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hoursWorked": 0}, "hoursWorked must be greater than 0"),
        ({"hoursWorked": 24.5}, "hoursWorked must be greater than 0"),
        ({"hoursWorked": None}, "hoursWorked"),
        ({"summaryNotes": None}, "summaryNotes"),
        ({"roleID": None}, "roleID"),
        ({"dateWorked": None}, "dateWorked"),
        ({"ticketID": None}, "ticketID or a taskID"),
        ({"resourceID": None}, "resourceID"),
        ({"billingCodeID": 1}, "billingCodeID"),
    ],
)
async def test_time_entry_validation(
    api: httpx.AsyncClient, sim: Simulator, change: dict[str, Any], message: str
) -> None:
    body = new_time_entry(sim, own_ticket_ids(sim)[0], **change)
    r = await api.post("TimeEntries", json=body)
    assert r.status_code == 500
    assert any(message in e for e in r.json()["errors"]), r.json()


async def test_company_and_contact_writes(
    api: httpx.AsyncClient, sim: Simulator, fake_clock: FakeClock
) -> None:
    owner = sim.technician_resource_id
    r = await api.post(
        "Companies",
        json={"companyName": "Acme", "companyType": 1, "phone": "555", "ownerResourceID": owner},
    )
    company = r.json()["itemId"]
    fake_clock.advance(5)
    await api.patch("Companies", json={"id": company, "city": "Paris"})
    stored = sim.tenant.records["Companies"][company]
    assert stored["lastTrackedModifiedDateTime"] == "2026-01-05T09:00:05.000Z"
    r = await api.post(
        f"Companies/{company}/Contacts", json={"firstName": "Ada", "lastName": "L", "isActive": 1}
    )
    contact = r.json()["itemId"]
    assert sim.tenant.records["Contacts"][contact]["companyID"] == company
    r = await api.patch(f"Companies/{company}/Contacts", json={"id": contact, "title": "CTO"})
    assert sim.tenant.records["Contacts"][contact]["title"] == "CTO"
    assert (await api.delete(f"Companies/{company + 1}/Contacts/{contact}")).status_code == 500
    assert (await api.delete(f"Companies/{company}/Contacts/{contact}")).status_code == 200
    assert contact not in sim.tenant.records["Contacts"]


async def test_resources_take_patch_not_post(api: httpx.AsyncClient, sim: Simulator) -> None:
    resource = sim.technician_resource_id
    assert (await api.patch("Resources", json={"id": resource, "title": "Lead"})).status_code == 200
    assert sim.tenant.records["Resources"][resource]["title"] == "Lead"
    r = await api.put("Resources", json={"id": resource, "firstName": "A"})
    assert r.status_code == 500
    assert (await api.post("Resources", json={})).status_code == 405


async def test_udfs_are_written_by_name(api: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    r = await api.patch(
        "Tickets",
        json={"id": ticket_id, "userDefinedFields": [{"name": "asset tag", "value": "AT-1"}]},
    )
    assert r.status_code == 200
    udfs = {
        u["name"]: u["value"] for u in sim.tenant.records["Tickets"][ticket_id]["userDefinedFields"]
    }
    assert udfs["Asset Tag"] == "AT-1"
    r = await api.patch(
        "Tickets",
        json={"id": ticket_id, "userDefinedFields": [{"name": "Shoe size", "value": "9"}]},
    )
    assert r.status_code == 500


async def test_completing_a_ticket_sets_completed_date(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    await api.patch("Tickets", json={"id": ticket_id, "status": 5})
    assert sim.tenant.records["Tickets"][ticket_id]["completedDate"] == "2026-01-05T09:00:00.000Z"


async def test_patching_start_and_end_recomputes_hours(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    body = new_time_entry(
        sim,
        own_ticket_ids(sim)[0],
        startDateTime="2026-01-05T08:00:00Z",
        endDateTime="2026-01-05T09:00:00Z",
    )
    del body["hoursWorked"]
    entry_id = (await api.post("TimeEntries", json=body)).json()["itemId"]
    await api.patch("TimeEntries", json={"id": entry_id, "endDateTime": "2026-01-05T11:00:00Z"})
    assert sim.tenant.records["TimeEntries"][entry_id]["hoursWorked"] == 3.0
