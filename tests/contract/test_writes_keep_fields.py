"""A write never drops a field silently: for every writable field of every entity the Swagger
lets a client write, the value sent is stored (counted from the simulator's own records) or the
write is refused with a message that names the field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agent.simulator import Simulator
from agent.simulator.schema import CHILDREN, ENTITIES, EntitySpec, FieldSpec
from agent.simulator.values import canonical_time
from tests.contract.samples import child_route_of, ensure_record, sample_value
from tests.simulator.conftest import own_ticket_ids

PATCHABLE = [
    e
    for e in ENTITIES
    if "PATCH" in e.collection_verbs
    or any(c.entity is e and "PATCH" in c.collection_verbs for c in CHILDREN.values())
]


# A refusal may name the field a value decides: times decide a time entry's hours.
DERIVED = {"startDateTime": {"hoursworked"}, "endDateTime": {"hoursworked"}}


def _valid_value(sim: Simulator, spec: EntitySpec, field: FieldSpec, current: Any) -> Any:
    """A value the entity's rules accept where they are known, else a value of the type."""
    if field.picklist:
        values = sorted(sim.tenant.picklist_values(spec.route, field.name) - {current})
        return values[0] if values else current
    value = sample_value(field, 0)
    return sample_value(field, 1) if value == current else value


def _stored_form(field: FieldSpec, value: Any) -> Any:
    if field.data_type == "datetime":
        return canonical_time(value)
    if field.data_type in ("double", "decimal"):
        return float(value)
    return value


def _collection(spec: EntitySpec, record: dict[str, Any]) -> str:
    if "PATCH" in spec.collection_verbs:
        return spec.route
    found = child_route_of(spec)
    assert found is not None and found[1].parent_field
    return found[0].replace("{parentId}", str(record[found[1].parent_field]))


def _record(sim: Simulator, spec: EntitySpec) -> dict[str, Any]:
    if spec.route == "Tickets":
        return sim.tenant.records["Tickets"][own_ticket_ids(sim)[0]]
    return ensure_record(sim, spec)


@pytest.mark.parametrize("spec", PATCHABLE, ids=lambda s: s.route)
async def test_a_patch_stores_every_writable_field_or_names_it(
    api: httpx.AsyncClient, sim: Simulator, spec: EntitySpec
) -> None:
    record = _record(sim, spec)
    url = _collection(spec, record)
    stored, refused = 0, []
    for field in spec.writable:
        current = record.get(field.name)
        value = _valid_value(sim, spec, field, current)
        r = await api.patch(url, json={"id": record["id"], field.name: value})
        now = sim.tenant.records[spec.route][record["id"]]
        if r.status_code == 200:
            assert now[field.name] == _stored_form(field, value), f"{spec.route}.{field.name}"
            stored += 1
        else:
            assert r.status_code == 500, r.text
            text = " ".join(r.json()["errors"]).lower()
            named = {field.name.lower(), field.name.lower().removesuffix("id").strip()}
            named |= DERIVED.get(field.name, set())
            if field.reference:  # "The resource 7 does not exist": the record it points at
                named.add(field.reference.lower())
            assert any(n in text for n in named), (field.name, text)
            refused.append(field.name)
        record = now
    assert stored >= len(refused), (spec.route, refused)


async def test_the_patch_of_a_real_field_the_old_simulator_dropped_is_kept(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    contract = next(iter(sim.tenant.records["Contracts"].values()))
    tickets = sim.tenant.records["Tickets"]
    ticket_id = next(i for i, t in tickets.items() if t["companyID"] == contract["companyID"])
    r = await api.patch("Tickets", json={"id": ticket_id, "contractID": contract["id"]})
    assert r.status_code == 200, r.text
    assert sim.tenant.records["Tickets"][ticket_id]["contractID"] == contract["id"]
    r = await api.post(
        "Tickets/query",
        json={
            "IncludeFields": ["contractID"],
            "Filter": [{"op": "eq", "field": "contractID", "value": contract["id"]}],
        },
    )
    assert r.json()["items"] == [
        {"id": ticket_id, "contractID": contract["id"], "userDefinedFields": []}
    ]


async def test_fields_no_model_has_stay_ignored(api: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    before = dict(sim.tenant.records["Tickets"][ticket_id])
    r = await api.patch("Tickets", json={"id": ticket_id, "colour": "red"})
    assert r.status_code == 200
    assert sim.tenant.records["Tickets"][ticket_id] == before


async def test_read_only_fields_in_a_write_are_ignored(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    before = dict(sim.tenant.records["Tickets"][ticket_id])
    r = await api.patch(
        "Tickets",
        json={"id": ticket_id, "ticketNumber": "T1", "createDate": "2020-01-01T00:00:00Z"},
    )
    assert r.status_code == 200
    assert sim.tenant.records["Tickets"][ticket_id] == before
