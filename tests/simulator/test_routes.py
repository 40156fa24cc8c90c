"""Routes, verbs, envelopes and case-insensitive matching of the simulated API."""

from __future__ import annotations

import httpx
import pytest

from agent.simulator import DEMO_USERNAME, Simulator
from tests.simulator.conftest import own_ticket_ids


async def test_zone_information_answers_the_zone_url_with_trailing_slash(
    raw_client: httpx.AsyncClient, sim: Simulator
) -> None:
    for path in ("/ATServicesRest/V1.0/ZoneInformation", "/atservicesrest/v1.0/zoneinformation"):
        r = await raw_client.get(path, params={"user": DEMO_USERNAME})
        assert r.status_code == 200
        body = r.json()
        assert body["ci"] == sim.zone == 5
        assert body["zoneName"] == "America East 5"
        assert body["url"] == "http://sim.test/zone5/ATServicesRest/"


async def test_zone_information_for_unknown_user_is_a_500(raw_client: httpx.AsyncClient) -> None:
    r = await raw_client.get("/ATServicesRest/V1.0/ZoneInformation", params={"user": "nobody@x"})
    assert r.status_code == 500
    assert r.json() == {"errors": ["Zone information could not be determined"]}


async def test_version_information_needs_no_credentials(raw_client: httpx.AsyncClient) -> None:
    for path in ("/ATServicesRest/VersionInformation", "/zone5/atservicesrest/versioninformation"):
        r = await raw_client.get(path)
        assert r.status_code == 200
        assert "1.0" in r.json()["apiVersions"]


async def test_get_by_id_answers_item_envelope(api: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    r = await api.get(f"Tickets/{ticket_id}")
    assert r.status_code == 200
    item = r.json()["item"]
    assert item["id"] == ticket_id
    assert item["assignedResourceID"] == sim.technician_resource_id
    assert item["lastTrackedModificationDateTime"].endswith("Z")


async def test_paths_match_without_regard_to_case(api: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    url = f"http://sim.test/ZONE5/atservicesrest/V1.0/tIcKeTs/{ticket_id}"
    r = await api.get(url)
    assert r.json()["item"]["id"] == ticket_id


async def test_a_missing_id_answers_as_its_entity_does(api: httpx.AsyncClient) -> None:
    for path in ("Tickets/1", "Companies/3", "Contacts/4", "Resources/5", "Tickets/1/Notes/9"):
        r = await api.get(path)
        assert (r.status_code, r.json()) == (200, {"item": None}), path
    for path in ("TimeEntries/2", "ServiceCalls/3", "Appointments/4", "Tickets/1/Attachments/9"):
        r = await api.get(path)
        assert r.status_code == 404, path
        assert r.json()["errors"][0].endswith("was not found."), path


@pytest.mark.parametrize(
    ("verb", "path"),
    [
        ("PATCH", "Tickets/7001"),
        ("DELETE", "Tickets/7001"),
        ("POST", "Resources"),
        ("DELETE", "Companies/170"),
        ("PUT", "Tickets/query"),
        ("POST", "Tickets/entityInformation"),
    ],
)
async def test_verb_a_url_shape_does_not_take_answers_405(
    api: httpx.AsyncClient, verb: str, path: str
) -> None:
    r = await api.request(verb, path, json={})
    assert r.status_code == 405
    assert r.json() == {"Message": f"The requested resource does not support http method '{verb}'."}


async def test_unknown_route_answers_404(api: httpx.AsyncClient) -> None:
    r = await api.get("Widgets/1")
    assert r.status_code == 404
    assert "No HTTP resource" in r.json()["Message"]


@pytest.mark.parametrize(
    ("verb", "path"),
    [
        ("GET", "BillingCodes"),  # the Swagger has BillingCodes/{id} and /query, no collection
        ("POST", "TicketNotes"),  # notes are written under their ticket only
        ("POST", "Contacts"),
        ("GET", "Tickets/7677/Attachments/entityInformation"),  # only the root one exists
        ("GET", "Tickets/7677/Attachments/entityInformation/fields"),
        ("GET", "Tickets/9223372036854775808"),  # past Int64: no route binds it
        ("GET", "Tickets/12x"),
    ],
)
async def test_a_path_the_swagger_does_not_have_answers_404(
    api: httpx.AsyncClient, verb: str, path: str
) -> None:
    r = await api.request(verb, path)
    assert r.status_code == 404, r.text
    assert "No HTTP resource" in r.json()["Message"]


@pytest.mark.parametrize("record_id", ["9223372036854775807", "-5", "+5", "1234567890123456789"])
async def test_an_id_of_the_long_route_answers_as_a_missing_record(
    api: httpx.AsyncClient, record_id: str
) -> None:
    r = await api.get(f"Tickets/{record_id}")
    assert (r.status_code, r.json()) == (200, {"item": None})
    r = await api.get(f"TimeEntries/{record_id}")
    assert r.status_code == 404
    assert r.json()["errors"][0].endswith("was not found.")
    r = await api.get(f"Tickets/{record_id}/Notes")
    assert (r.status_code, r.json()["items"]) == (200, [])


async def test_ticket_notes_child_routes(api: httpx.AsyncClient, sim: Simulator) -> None:
    notes = sim.tenant.records["TicketNotes"]
    note = next(iter(notes.values()))
    ticket_id = note["ticketID"]
    listed = (await api.get(f"Tickets/{ticket_id}/Notes")).json()
    expected = sorted(n["id"] for n in notes.values() if n["ticketID"] == ticket_id)
    assert [n["id"] for n in listed["items"]] == expected
    assert listed["pageDetails"]["count"] == len(expected)
    one = (await api.get(f"Tickets/{ticket_id}/Notes/{note['id']}")).json()["item"]
    assert one["id"] == note["id"]
    other = (await api.get(f"Tickets/{ticket_id + 1}/Notes/{note['id']}")).json()
    assert other == {"item": None}
    assert (await api.get(f"TicketNotes/{note['id']}")).json()["item"]["ticketID"] == ticket_id


async def test_contacts_are_read_top_level_and_written_under_their_company(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    contact = next(iter(sim.tenant.records["Contacts"].values()))
    r = await api.get(f"Contacts/{contact['id']}")
    assert r.json()["item"]["lastModifiedDate"].endswith("Z")
    company = contact["companyID"]
    r = await api.get(f"Companies/{company}/Contacts/{contact['id']}")
    assert r.json()["item"]["id"] == contact["id"]


@pytest.mark.parametrize(
    "entity", ["Tickets", "TicketNotes", "TimeEntries", "Companies", "Contacts", "Resources"]
)
async def test_entity_information_routes(api: httpx.AsyncClient, entity: str) -> None:
    info = (await api.get(f"{entity}/entityInformation")).json()["info"]
    assert info["canQuery"] is True
    fields = (await api.get(f"{entity}/entityInformation/fields")).json()["fields"]
    names = {f["name"] for f in fields}
    assert "id" in names
    for f in fields:
        assert set(f) >= {
            "name",
            "dataType",
            "length",
            "isRequired",
            "isReadOnly",
            "isQueryable",
            "isReference",
            "referenceEntityType",
            "isPickList",
            "picklistValues",
            "picklistParentValueField",
        }
    udfs = (await api.get(f"{entity}/entityInformation/userDefinedFields")).json()["fields"]
    assert isinstance(udfs, list)
    assert bool(udfs) == info["hasUserDefinedFields"]


async def test_picklists_carry_tenant_values_as_strings(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    fields = (await api.get("Tickets/entityInformation/fields")).json()["fields"]
    by_name = {f["name"]: f for f in fields}
    for name in ("status", "priority", "queueID", "issueType", "assignedResourceRoleID"):
        assert by_name[name]["isPickList"] is True
        values = by_name[name]["picklistValues"]
        assert values and all(isinstance(v["value"], str) for v in values)
        assert set(values[0]) == {
            "value",
            "label",
            "isDefaultValue",
            "sortOrder",
            "parentValue",
            "isActive",
            "isSystem",
        }
    subs = by_name["subIssueType"]
    assert subs["picklistParentValueField"] == "issueType"
    assert all(v["parentValue"] for v in subs["picklistValues"])
    notes = (await api.get("TicketNotes/entityInformation/fields")).json()["fields"]
    assert {f["name"] for f in notes if f["isPickList"]} == {"noteType", "publish"}
    other = Simulator(seed="other-tenant", tickets=5)
    assert other.tenant.picklist("Tickets", "queueID") != sim.tenant.picklist("Tickets", "queueID")


async def test_threshold_information_counts_itself(api: httpx.AsyncClient) -> None:
    first = (await api.get("ThresholdInformation")).json()
    second = (await api.get("ThresholdInformation")).json()
    assert first["externalRequestThreshold"] == 10_000
    assert first["requestThresholdTimeframe"] == 60
    assert second["currentTimeframeRequestCount"] == first["currentTimeframeRequestCount"] + 1


async def test_header_names_match_without_regard_to_case(
    raw_client: httpx.AsyncClient, headers: dict[str, str], sim: Simulator
) -> None:
    lowered = {k.lower(): v for k, v in headers.items()}
    r = await raw_client.get(
        "/zone5/ATServicesRest/V1.0/Resources/query",
        params={"search": '{"filter":[{"op":"exist","field":"id"}]}'},
        headers=lowered,
    )
    assert r.status_code == 200
    assert len(r.json()["items"]) == len(sim.tenant.records["Resources"])
