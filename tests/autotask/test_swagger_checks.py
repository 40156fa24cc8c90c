"""The client sends only what the API offers: a path and verb the Swagger lacks, or a write
naming a field the entity's model lacks, is refused locally with a clear error and no request
(counted from the simulator's own request counter)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from agent.autotask import (
    ApiCredentials,
    AutotaskClient,
    ClientOptions,
    TicketAttachment,
    UnknownFieldError,
    UnsupportedCallError,
    ValidationError,
)
from agent.autotask.catalogue import catalogue
from agent.clock import FakeClock
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator
from agent.simulator.schema import CHILDREN, ENTITIES
from tests.simulator.conftest import own_ticket_ids

Call = Callable[[AutotaskClient, int], Awaitable[Any]]


@pytest.fixture
def sim(fake_clock: FakeClock) -> Simulator:
    return Simulator(seed="checks", tickets=30, clock=fake_clock)


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[AutotaskClient]:
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport) as http:
        yield AutotaskClient(
            http,
            ApiCredentials(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE),
            options=ClientOptions(directory_url="http://sim.test/ATServicesRest/"),
        )


def _requests(sim: Simulator) -> int:
    return sim.limits.usage(sim.tenant.name)


UNOFFERED: dict[str, tuple[Call, str]] = {
    "DELETE Tickets/{id}": (lambda c, t: c.delete("Tickets", t), "Tickets/{id}"),
    "DELETE Tickets/{parentId}/Notes/{id}": (
        lambda c, t: c.delete("TicketNotes", 5, parent_id=t),
        "Tickets/{parentId}/Notes/{id}",
    ),
    "PATCH ServiceCalls/{parentId}/Tickets": (
        lambda c, t: c.update("ServiceCallTickets", 5, {"ticketID": t}, parent_id=7),
        "ServiceCalls/{parentId}/Tickets",
    ),
    "PATCH Tickets/{parentId}/Attachments": (
        lambda c, t: c.update(TicketAttachment, 5, {"title": "x"}, parent_id=t),
        "Tickets/{parentId}/Attachments",
    ),
    "POST BillingCodes": (lambda c, t: c.create("BillingCodes", {"name": "x"}), "BillingCodes"),
    "POST Resources": (lambda c, t: c.create("Resources", {"firstName": "x"}), "Resources"),
    "GET Widgets/{id}": (lambda c, t: c.get("Widgets", 5), "Widgets/{id}"),
}


@pytest.mark.parametrize("case", sorted(UNOFFERED))
async def test_a_call_the_swagger_lacks_is_refused_before_sending(
    client: AutotaskClient, sim: Simulator, case: str
) -> None:
    call, endpoint = UNOFFERED[case]
    await client.threshold()  # the zone is known; from here on every request is counted
    sent = _requests(sim)
    with pytest.raises(UnsupportedCallError) as caught:
        await call(client, own_ticket_ids(sim)[0])
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, ValidationError)
    assert caught.value.endpoint == endpoint
    assert str(caught.value).startswith(f"Autotask's API has no {case.split()[0]} {endpoint}")
    assert not caught.value.may_have_reached_server
    assert _requests(sim) == sent


@pytest.mark.parametrize(
    ("entity", "fields"),
    [
        ("Tickets", {"bogusField": 1}),
        ("Tickets", {"descripton": "typo of description"}),
        ("TimeEntries", {"summaryNotes": "ok", "hoursWorkd": 1.0}),
    ],
)
async def test_an_update_naming_a_field_the_model_lacks_is_refused_before_sending(
    client: AutotaskClient, sim: Simulator, entity: str, fields: dict[str, Any]
) -> None:
    await client.threshold()
    sent = _requests(sim)
    before = sim.dump()
    record_id = own_ticket_ids(sim)[0]
    with pytest.raises(UnknownFieldError) as caught:
        await client.update(entity, record_id, fields)
    wrong = next(k for k in fields if k not in ("summaryNotes",))
    assert (caught.value.entity, caught.value.field) == (entity, wrong)
    assert f"{entity} has no field '{wrong}'" in str(caught.value)
    assert _requests(sim) == sent
    assert sim.dump() == before


async def test_a_create_naming_a_field_the_model_lacks_sends_nothing(
    client: AutotaskClient, sim: Simulator
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    await client.threshold()
    sent = _requests(sim)
    with pytest.raises(UnknownFieldError) as caught:
        await client.create(
            "TicketNotes",
            {"description": "x", "noteType": 1, "publish": 1, "colour": "red"},
            parent_id=ticket_id,
        )
    assert caught.value.field == "colour"
    assert _requests(sim) == sent


async def test_field_names_match_without_regard_to_case_and_udfs_pass(
    client: AutotaskClient, sim: Simulator
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    udfs = [{"name": "Asset Tag", "value": "A-7"}]
    await client.update("Tickets", ticket_id, {"Description": "Case", "userDefinedFields": udfs})
    stored = sim.tenant.records["Tickets"][ticket_id]
    assert stored["description"] == "Case"
    assert {"name": "Asset Tag", "value": "A-7"} in stored["userDefinedFields"]


def test_the_clients_catalogue_is_the_simulators() -> None:
    """Both read the same packaged Swagger; they must agree on every entity's fields and on the
    verbs of every root and child route."""
    ours = catalogue()
    for spec in ENTITIES:
        names = {f.name.casefold() for f in spec.fields}
        if spec.has_udfs:
            names.add("userdefinedfields")
        assert ours.fields_of(spec.route) == frozenset(names), spec.route
        assert ours.verbs_of(spec.route) == spec.collection_verbs, spec.route
        assert ours.verbs_of(f"{spec.route}/{{id}}") == spec.item_verbs, spec.route
    for (parent, segment), child in CHILDREN.items():
        assert ours.verbs_of(f"{parent}/{{parentId}}/{segment}") == child.collection_verbs
        assert ours.verbs_of(f"{parent}/{{parentId}}/{segment}/{{id}}") == child.item_verbs
