"""User-defined fields in writes: an entity with none takes an empty list, a field needs a
name the tenant defines, and a picklist field takes one of its values as a built-in one does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from agent.autotask import ApiCredentials, AutotaskClient, ClientOptions, Company, ServiceCall
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator
from agent.simulator.schema import CHILDREN, ENTITIES, EntitySpec
from tests.contract.samples import child_route_of, ensure_record
from tests.simulator.conftest import own_ticket_ids

PATCHABLE = [
    e
    for e in ENTITIES
    if "PATCH" in e.collection_verbs
    or any(c.entity is e and "PATCH" in c.collection_verbs for c in CHILDREN.values())
]
CREATABLE = [
    e
    for e in ENTITIES
    if "POST" in e.collection_verbs
    or any(c.entity is e and "POST" in c.collection_verbs for c in CHILDREN.values())
]
SITE_VISIT = "Site Visit Required"


def _collection(spec: EntitySpec, record: dict[str, Any]) -> str:
    verbs = spec.collection_verbs
    if "PATCH" in verbs or ("POST" in verbs and spec.route != "TicketAttachments"):
        return spec.route
    found = child_route_of(spec)
    assert found is not None and found[1].parent_field
    return found[0].replace("{parentId}", str(record.get(found[1].parent_field) or 1))


@pytest.mark.parametrize("spec", PATCHABLE, ids=lambda s: s.route)
async def test_an_empty_udf_list_in_a_patch_changes_nothing(
    api: httpx.AsyncClient, sim: Simulator, spec: EntitySpec
) -> None:
    record = ensure_record(sim, spec)
    before = dict(record)
    r = await api.patch(
        _collection(spec, record), json={"id": record["id"], "userDefinedFields": []}
    )
    assert r.status_code == 200, r.text
    assert sim.tenant.records[spec.route][record["id"]] == before


@pytest.mark.parametrize("spec", CREATABLE, ids=lambda s: s.route)
async def test_an_empty_udf_list_in_a_create_is_no_fault(
    api: httpx.AsyncClient, sim: Simulator, spec: EntitySpec
) -> None:
    record = ensure_record(sim, spec)
    r = await api.post(_collection(spec, record), json={"userDefinedFields": []})
    # The empty body misses required fields on most entities; what matters is a JSON answer
    # that is about them, never about the empty list.
    assert r.status_code in (200, 500), r.text
    errors = r.json().get("errors") or []
    assert not any("user-defined" in e.lower() or "userdefined" in e.lower() for e in errors)


async def test_a_udf_on_an_entity_whose_tenant_defines_none_is_named(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    assert not sim.tenant.udfs.get("Companies")
    company = next(iter(sim.tenant.records["Companies"].values()))
    before = dict(company)
    body = {"id": company["id"], "userDefinedFields": [{"name": "Region", "value": "North"}]}
    r = await api.patch("Companies", json=body)
    assert r.status_code == 500
    assert r.json()["errors"] == ["Unable to find user-defined field Region on Company."]
    assert sim.tenant.records["Companies"][company["id"]] == before


@pytest.mark.parametrize("pair", [{"value": "x"}, {"name": None, "value": "x"}, {"name": " "}])
async def test_a_udf_without_a_name_says_so(
    api: httpx.AsyncClient, sim: Simulator, pair: dict[str, Any]
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    r = await api.patch("Tickets", json={"id": ticket_id, "userDefinedFields": [pair]})
    assert r.status_code == 500
    assert r.json()["errors"] == ["A user-defined field needs a name."]


def _site_visit(sim: Simulator, ticket_id: int) -> Any:
    udfs = sim.tenant.records["Tickets"][ticket_id]["userDefinedFields"]
    return next(u["value"] for u in udfs if u["name"] == SITE_VISIT)


def test_seeded_udf_picklist_values_are_values_not_labels(sim: Simulator) -> None:
    values = {str(p.value) for u in sim.tenant.udfs["Tickets"] for p in u.picklist}
    seen = {_site_visit(sim, i) for i in sim.tenant.records["Tickets"]}
    assert seen and seen <= values | {None}


@pytest.mark.parametrize("value", ["Yes", "3", "0", 7])
async def test_a_udf_picklist_refuses_a_value_it_does_not_have(
    api: httpx.AsyncClient, sim: Simulator, value: Any
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    before = _site_visit(sim, ticket_id)
    body = {"id": ticket_id, "userDefinedFields": [{"name": SITE_VISIT, "value": value}]}
    r = await api.patch("Tickets", json=body)
    assert r.status_code == 500
    assert r.json()["errors"] == [
        f"The value {value} is not a valid picklist value of the user-defined field {SITE_VISIT}."
    ]
    assert _site_visit(sim, ticket_id) == before


@pytest.mark.parametrize(("value", "stored"), [("2", "2"), (1, "1"), (None, None)])
async def test_a_udf_picklist_takes_one_of_its_values(
    api: httpx.AsyncClient, sim: Simulator, value: Any, stored: Any
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    body = {"id": ticket_id, "userDefinedFields": [{"name": "site visit required", "value": value}]}
    r = await api.patch("Tickets", json=body)
    assert r.status_code == 200, r.text
    assert _site_visit(sim, ticket_id) == stored


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[AutotaskClient]:
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport) as http:
        yield AutotaskClient(
            http,
            ApiCredentials(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE),
            options=ClientOptions(directory_url="http://sim.test/ATServicesRest/"),
        )


async def test_typed_records_written_back_with_no_udfs(
    client: AutotaskClient, sim: Simulator
) -> None:
    company_id = next(iter(sim.tenant.records["Companies"]))
    company = await client.get(Company, company_id)
    assert company.to_wire()["userDefinedFields"] == []
    changed = {**company.to_wire(), "phone": "555-0100"}
    assert await client.replace(Company, company_id, changed) == company_id
    assert sim.tenant.records["Companies"][company_id]["phone"] == "555-0100"
    call = ServiceCall(
        company_id=company_id,
        description="Boiler service",
        start_date_time=datetime(2026, 1, 6, 9, tzinfo=UTC),
        end_date_time=datetime(2026, 1, 6, 11, tzinfo=UTC),
        status=sorted(sim.tenant.picklist_values("ServiceCalls", "status"))[0],
        user_defined_fields={},
    )
    assert call.to_wire(omit_none=True)["userDefinedFields"] == []
    call_id = await client.create(ServiceCall, call)
    assert sim.tenant.records["ServiceCalls"][call_id]["description"] == "Boiler service"
