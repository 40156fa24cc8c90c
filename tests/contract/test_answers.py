"""Every answer the simulator gives validates against the Swagger model it stands for, for
every entity of the Swagger; and the simulator serves every route with the Swagger's verbs."""

from __future__ import annotations

import re

import httpx
import pytest

from agent.simulator import DEMO_USERNAME, Simulator, swagger
from agent.simulator.routing import resolve
from agent.simulator.schema import ENTITIES, EntitySpec
from tests.contract.samples import child_route_of, ensure_record
from tests.contract.swagger_schema import validate

_PLACEHOLDER = re.compile(r"\{(id|parentId)\}")


@pytest.mark.parametrize("spec", ENTITIES, ids=lambda s: s.route)
async def test_records_of_every_entity_validate_against_its_model(
    api: httpx.AsyncClient, sim: Simulator, spec: EntitySpec
) -> None:
    model = f"{spec.type_name}Model"
    record = ensure_record(sim, spec)
    validate(record, model)
    answers = []
    if spec.queryable:
        r = await api.post(f"{spec.route}/query", json={"filter": [{"op": "exist", "field": "id"}]})
        assert r.status_code == 200, r.text
        answers += r.json()["items"]
        count = await api.get(
            f"{spec.route}/query/count",
            params={"search": '{"filter":[{"op":"exist","field":"id"}]}'},
        )
        validate(count.json(), "QueryCountResultModel")
    if "GET" in spec.item_verbs:
        answers.append((await api.get(f"{spec.route}/{record['id']}")).json()["item"])
    child = child_route_of(spec)
    if child is not None and child[1].parent_field:
        path = child[0].replace("{parentId}", str(record[child[1].parent_field]))
        if "GET" in child[1].collection_verbs:
            answers += (await api.get(path)).json()["items"]
        if "GET" in child[1].item_verbs:
            answers.append((await api.get(f"{path}/{record['id']}")).json()["item"])
    assert answers or not (spec.queryable or "GET" in spec.item_verbs)
    assert all(a is not None and a["id"] == record["id"] for a in answers[:1])
    for answer in answers:
        validate(answer, model)


@pytest.mark.parametrize("spec", ENTITIES, ids=lambda s: s.route)
async def test_entity_information_of_every_entity_validates(
    api: httpx.AsyncClient, spec: EntitySpec
) -> None:
    base = spec.route
    if not any(p.lower() == f"/v1.0/{base}/entityinformation".lower() for p in _paths()):
        child = child_route_of(spec)
        assert child is not None
        base = child[0].replace("{parentId}", "1")
    info = (await api.get(f"{base}/entityInformation")).json()
    validate(info, "EntityInformationResultModel")
    fields = (await api.get(f"{base}/entityInformation/fields")).json()
    validate(fields, "FieldInformationResultModel")
    assert {f["name"] for f in fields["fields"]} == {f.name for f in spec.fields}
    udfs = (await api.get(f"{base}/entityInformation/userDefinedFields")).json()
    validate(udfs, "UserDefinedFieldInformationResultModel")


def _paths() -> dict[str, frozenset[str]]:
    return swagger.catalogue().paths


def test_every_swagger_route_is_served_with_exactly_its_verbs() -> None:
    served = 0
    for path, verbs in _paths().items():
        concrete = _PLACEHOLDER.sub("12", path)
        route = resolve(f"/zone5/ATServicesRest{concrete}")
        assert route.kind != "notfound", path
        expected = {"GET", "POST"} if route.shape in ("query", "count") else verbs
        assert route.verbs == expected, path
        served += 1
    assert served == len(_paths()) > 1400


def test_paths_outside_the_swagger_are_not_found() -> None:
    for path in ("Widgets/query", "Tickets/12/Widgets", "Expenses/12", "Tickets/12/Notes/x"):
        assert resolve(f"/ATServicesRest/V1.0/{path}").kind == "notfound", path


async def test_envelopes_and_metadata_validate(api: httpx.AsyncClient) -> None:
    validate((await api.get("ThresholdInformation")).json(), "ThresholdStatusResultModel")
    validate(
        (await api.get("http://sim.test/ATServicesRest/VersionInformation")).json(),
        "ApiVersionResultModel",
    )
    zone = await api.get(
        "http://sim.test/ATServicesRest/V1.0/ZoneInformation", params={"user": DEMO_USERNAME}
    )
    validate(zone.json(), "ZoneInformationResultModel")


async def test_write_answers_validate(api: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = next(iter(sim.tenant.records["Tickets"]))
    r = await api.patch("Tickets", json={"id": ticket_id, "title": "Valid"})
    validate(r.json(), "OperationResultModel")
    assert r.json() == {"itemId": ticket_id}


def test_validation_catches_wrong_types_and_unknown_fields() -> None:
    import jsonschema

    with pytest.raises(jsonschema.ValidationError):
        validate({"id": "seven"}, "TicketModel")
    with pytest.raises(jsonschema.ValidationError):
        validate({"id": 7, "colour": "red"}, "TicketModel")
    validate({"ID": 7, "title": None}, "TicketModel")
