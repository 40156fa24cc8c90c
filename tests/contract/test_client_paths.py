"""Every request path the client builds exists in the Swagger with the verb it is sent with."""

from __future__ import annotations

import re

import pytest

from agent.api.validation import TICKET_EDITABLE
from agent.autotask import ENTITY_TYPES, VISIT_TYPES, routes
from agent.autotask.catalogue import catalogue
from agent.autotask.entities import ResourceRole
from agent.autotask.records import Record
from agent.simulator.schema import CHILDREN, entity
from tests.contract.swagger_schema import swagger_verbs

TYPES = (*ENTITY_TYPES, ResourceRole, *VISIT_TYPES)


def _template(path: str) -> str:
    """`Tickets/7/Notes/5` -> `/V1.0/Tickets/{parentId}/Notes/{id}` (ids as the Swagger names
    them: the last id is `{id}`, one before a child segment `{parentId}`)."""
    parts = path.split("/")
    out = []
    for i, part in enumerate(parts):
        if re.fullmatch(r"\d+", part):
            out.append("{parentId}" if i + 1 < len(parts) else "{id}")
        else:
            out.append(part)
    return "/V1.0/" + "/".join(out)


def _writes(name: str) -> set[str]:
    """The write verbs the Swagger offers for an entity, at its root or under its parent."""
    spec = entity(name)
    verbs = set(spec.collection_verbs)
    for child in CHILDREN.values():
        if child.entity is spec:
            verbs |= child.collection_verbs - {"GET"}
    return verbs


@pytest.mark.parametrize("record", TYPES, ids=lambda t: t.ENTITY)
def test_reads_the_client_builds_exist(record: type[Record]) -> None:
    name = record.ENTITY
    child = routes.CHILD_ROUTES.get(name)
    reads = [routes.query_route(name), routes.query_route(name, count=True)]
    reads.append(routes.fields_route(name) if child is None else routes.item_route(name, 5, 7))
    if child is None and "GET" in entity(name).item_verbs:
        reads.append(routes.item_route(name, 5))
    if child is not None:
        reads.append(routes.collection_route(name, 7))
    for route in reads:
        assert "GET" in swagger_verbs(_template(route.path)), route.path


@pytest.mark.parametrize("record", TYPES, ids=lambda t: t.ENTITY)
def test_writes_the_client_builds_exist_with_their_verb(record: type[Record]) -> None:
    name = record.ENTITY
    parent = 7 if name in routes.CHILD_ROUTES else None
    path = _template(routes.collection_route(name, parent).path)
    for verb in _writes(name):
        assert verb in swagger_verbs(path), (verb, path)
    if "DELETE" in entity(name).item_verbs or any(
        c.entity is entity(name) and "DELETE" in c.item_verbs for c in CHILDREN.values()
    ):
        target = _template(routes.item_route(name, 5, parent).path)
        assert "DELETE" in swagger_verbs(target), target


def test_the_calls_outside_entities_exist() -> None:
    assert "GET" in swagger_verbs("/V1.0/ThresholdInformation")
    assert "GET" in swagger_verbs("/V1.0/ZoneInformation")
    assert "GET" in swagger_verbs("/VersionInformation")
    assert swagger_verbs("/V1.0/Tickets/{id}/Widgets") == frozenset()


@pytest.mark.parametrize("record", TYPES, ids=lambda t: t.ENTITY)
def test_every_field_a_typed_record_writes_is_in_the_swagger(record: type[Record]) -> None:
    """A record written back (`to_wire`) names only its model's properties, so the client's
    unknown-field check never refuses the program's own writes."""
    known = catalogue().fields_of(record.ENTITY)
    assert known is not None, record.ENTITY
    assert catalogue().unknown_fields(record.ENTITY, record.wire_kinds()) == []


def test_the_ticket_fields_the_program_edits_are_in_the_swagger() -> None:
    assert catalogue().unknown_fields("Tickets", sorted(TICKET_EDITABLE)) == []
