"""Simulator answers validate against the vendor's Swagger definitions (from the test extract)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from agent.simulator import DEMO_USERNAME, Simulator
from agent.simulator.schema import ENTITIES
from tests.simulator.conftest import own_ticket_ids

EXTRACT = json.loads((Path(__file__).parents[1] / "swagger_extract.json").read_text())
MODELS = {
    "Tickets": "TicketModel",
    "TicketNotes": "TicketNoteModel",
    "TimeEntries": "TimeEntryModel",
    "Companies": "CompanyModel",
    "Contacts": "ContactModel",
    "Resources": "ResourceModel",
    "Roles": "RoleModel",
    "ResourceRoles": "ResourceRoleModel",
}
TYPES = {
    "integer": "integer",
    "long": "integer",
    "short": "integer",
    "double": "number",
    "decimal": "number",
    "boolean": "boolean",
    "string": "string",
    "datetime": "string",
}


def _convert(node: Any, closed: bool) -> Any:
    """Swagger 2.0 -> JSON Schema: lower-case property names, every value nullable."""
    if isinstance(node, list):
        return [_convert(n, closed) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("readOnly", "format", "enum"):
            continue
        if key == "properties":
            out[key] = {name.lower(): _nullable(_convert(v, closed)) for name, v in value.items()}
        elif key == "$ref":
            out[key] = value
        else:
            out[key] = _convert(value, closed)
    if closed and "properties" in out:
        out["additionalProperties"] = False
    return out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "type" in schema:
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


# .NET `object` and the filter's value wrapper carry any JSON value on the wire.
ANY_VALUE = {"Object", "ValueItem"}
DEFINITIONS = {
    name: {} if name in ANY_VALUE else _convert(d, closed=True)
    for name, d in EXTRACT["definitions"].items()
}


def _lower_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k.lower(): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


_VALIDATORS: dict[str, jsonschema.Draft4Validator] = {}


def validate(instance: Any, definition: str) -> None:
    """Validate with a cached Draft 4 validator (Swagger 2.0 schemas are Draft 4)."""
    validator = _VALIDATORS.get(definition)
    if validator is None:
        schema = {"$ref": f"#/definitions/{definition}", "definitions": DEFINITIONS}
        jsonschema.Draft4Validator.check_schema(schema)
        validator = _VALIDATORS[definition] = jsonschema.Draft4Validator(schema)
    validator.validate(_lower_keys(instance))


def test_extract_holds_the_covered_paths() -> None:
    paths = {p.lower() for p in EXTRACT["paths"]}
    assert "/v1.0/tickets/query" in paths
    assert "/v1.0/tickets/{parentid}/notes" in paths
    assert "/v1.0/companies/{parentid}/contacts/{id}" in paths
    assert set(EXTRACT["paths"]["/V1.0/Resources"]) == {"put", "patch"}


@pytest.mark.parametrize("spec", ENTITIES, ids=lambda s: s.route)
def test_every_simulated_field_exists_in_swagger_with_its_type(spec: Any) -> None:
    props = {
        k.lower(): v for k, v in EXTRACT["definitions"][MODELS[spec.route]]["properties"].items()
    }
    for field in spec.fields:
        swagger = props.get(field.name.lower())
        assert swagger is not None, f"{spec.route}.{field.name} is not in the Swagger model"
        assert swagger["type"] == TYPES[field.data_type], field.name
        if field.data_type == "datetime":
            assert swagger.get("format") == "date-time", field.name


@pytest.mark.parametrize("route", list(MODELS))
async def test_items_of_every_entity_validate(
    api: httpx.AsyncClient, sim: Simulator, route: str
) -> None:
    r = await api.post(
        f"{route}/query", json={"MaxRecords": 50, "Filter": [{"op": "exist", "field": "id"}]}
    )
    items = r.json()["items"]
    assert items
    for item in items:
        validate(item, MODELS[route])
    one = (await api.get(f"{route}/{items[0]['id']}")).json()["item"]
    validate(one, MODELS[route])


async def test_envelopes_and_metadata_validate(api: httpx.AsyncClient, sim: Simulator) -> None:
    validate((await api.get("ThresholdInformation")).json(), "ThresholdStatusResultModel")
    count = await api.post("Tickets/query/count", json={"Filter": [{"op": "exist", "field": "id"}]})
    validate(count.json(), "QueryCountResultModel")
    validate(
        (await api.get("http://sim.test/ATServicesRest/VersionInformation")).json(),
        "ApiVersionResultModel",
    )
    zone = await api.get(
        "http://sim.test/ATServicesRest/V1.0/ZoneInformation", params={"user": DEMO_USERNAME}
    )
    validate(zone.json(), "ZoneInformationResultModel")
    for entity in ("Tickets", "TicketNotes", "TimeEntries"):
        validate(
            (await api.get(f"{entity}/entityInformation")).json(), "EntityInformationResultModel"
        )
        validate(
            (await api.get(f"{entity}/entityInformation/fields")).json(),
            "FieldInformationResultModel",
        )
        validate(
            (await api.get(f"{entity}/entityInformation/userDefinedFields")).json(),
            "UserDefinedFieldInformationResultModel",
        )


async def test_write_answers_validate(api: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    r = await api.patch("Tickets", json={"id": ticket_id, "title": "Valid"})
    validate(r.json(), "OperationResultModel")
    assert r.json() == {"itemId": ticket_id}


def test_query_bodies_follow_the_query_model() -> None:
    body = {
        "MaxRecords": 5,
        "IncludeFields": ["id"],
        "Filter": [{"op": "or", "items": [{"op": "eq", "field": "id", "value": 1}]}],
    }
    open_defs = {
        n: {} if n in ANY_VALUE else _convert(d, closed=False)
        for n, d in EXTRACT["definitions"].items()
    }
    schema = {"$ref": "#/definitions/QueryModel", "definitions": open_defs}
    jsonschema.validate(_lower_keys(body), schema)


def test_validation_catches_wrong_types_and_unknown_fields() -> None:
    with pytest.raises(jsonschema.ValidationError):
        validate({"id": "seven"}, "TicketModel")
    with pytest.raises(jsonschema.ValidationError):
        validate({"id": 7, "colour": "red"}, "TicketModel")
    validate({"ID": 7, "title": None}, "TicketModel")
