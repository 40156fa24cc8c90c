"""The client covers a visit: typed service calls, checklists, charges and attachments, queries
on any real field, attachments with their limits, and a clear error for an unknown field."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest

from agent.autotask import (
    MAX_ATTACHMENT_BYTES,
    ApiCredentials,
    AttachmentQuotaError,
    AttachmentTooLargeError,
    AutotaskClient,
    ClientOptions,
    NotFoundError,
    ServiceCall,
    ServiceCallTicket,
    Ticket,
    TicketAttachment,
    TicketChecklistItem,
    TimeEntry,
    UnknownFieldError,
    eq,
)
from agent.clock import FakeClock
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator
from tests.simulator.conftest import own_ticket_ids


@pytest.fixture
def sim(fake_clock: FakeClock) -> Simulator:
    return Simulator(seed="visits", tickets=40, clock=fake_clock)


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[AutotaskClient]:
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport) as http:
        yield AutotaskClient(
            http,
            ApiCredentials(
                DEMO_USERNAME,
                DEMO_SECRET,
                DEMO_INTEGRATION_CODE,
                impersonation_resource_id=sim.technician_resource_id,  # as the agent does
            ),
            options=ClientOptions(directory_url="http://sim.test/ATServicesRest/"),
        )


async def test_a_days_service_calls_and_their_tickets_read_typed(
    client: AutotaskClient, sim: Simulator
) -> None:
    calls = [c async for c in client.query(ServiceCall, eq("status", _first_status(sim)))]
    assert calls and all(isinstance(c, ServiceCall) and c.start_date_time for c in calls)
    links = await client.children(ServiceCallTicket, calls[0].id or 0)
    stored = sim.tenant.records["ServiceCallTickets"]
    assert [link.ticket_id for link in links] == [
        r["ticketID"] for r in stored.values() if r["serviceCallID"] == calls[0].id
    ]


def _first_status(sim: Simulator) -> int:
    return sim.tenant.picklist("ServiceCalls", "status")[0].value


async def test_a_checklist_item_is_completed_under_its_ticket(
    client: AutotaskClient, sim: Simulator
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    items = await client.children(TicketChecklistItem, ticket_id)
    todo = next(i for i in items if not i.is_completed)
    await client.update(TicketChecklistItem, todo.id or 0, {"isCompleted": True}, ticket_id)
    stored = sim.tenant.records["TicketChecklistItems"][todo.id]
    assert stored["isCompleted"] is True
    assert stored["completedByResourceID"] == sim.technician_resource_id


async def test_queries_and_writes_reach_any_real_field(
    client: AutotaskClient, sim: Simulator
) -> None:
    contract = next(iter(sim.tenant.records["Contracts"].values()))
    tickets = sim.tenant.records["Tickets"]
    ticket_id = next(i for i, t in tickets.items() if t["companyID"] == contract["companyID"])
    sla = sim.tenant.picklist("Tickets", "serviceLevelAgreementID")[-1].value
    changes = {"contractID": contract["id"], "serviceLevelAgreementID": sla}
    await client.update(Ticket, ticket_id, changes)
    found = [
        t async for t in client.query("Tickets", eq("contractID", contract["id"]), ["contractID"])
    ]
    assert found == [{"id": ticket_id, "contractID": contract["id"], "userDefinedFields": []}]
    assert sim.tenant.records["Tickets"][ticket_id]["serviceLevelAgreementID"] == sla


async def test_a_field_the_entity_does_not_have_is_a_clear_error(client: AutotaskClient) -> None:
    with pytest.raises(UnknownFieldError) as caught:
        [t async for t in client.query(Ticket, eq("colour", "red"))]
    assert (caught.value.entity, caught.value.field) == ("Ticket", "colour")
    assert "Ticket has no field 'colour'" in str(caught.value)
    assert not caught.value.may_have_reached_server


async def test_a_file_is_attached_and_read_back(client: AutotaskClient, sim: Simulator) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    photo = bytes(range(256)) * 40
    attachment_id = await client.attach(ticket_id, "after.png", photo, title="After the fix")
    stored = sim.tenant.records["TicketAttachments"][attachment_id]
    assert base64.b64decode(stored["data"]) == photo
    one = await client.get(TicketAttachment, attachment_id, ticket_id)
    assert (one.title, one.content_type, one.file_size) == ("After the fix", "image/png", 10240.0)


async def test_a_file_over_the_limit_is_refused_before_sending(
    client: AutotaskClient, sim: Simulator
) -> None:
    with pytest.raises(AttachmentTooLargeError) as caught:
        await client.attach(own_ticket_ids(sim)[0], "scan.pdf", b"x" * (MAX_ATTACHMENT_BYTES + 1))
    assert caught.value.limit == MAX_ATTACHMENT_BYTES
    assert sim.limits.usage(sim.tenant.name) == 0  # nothing reached the server


async def test_past_the_attachment_budget_the_client_says_when_to_retry(
    client: AutotaskClient, sim: Simulator
) -> None:
    ticket_id = own_ticket_ids(sim)[0]
    chunk = b"y" * (MAX_ATTACHMENT_BYTES - 10)
    await client.attach(ticket_id, "a.bin", chunk)
    with pytest.raises(AttachmentQuotaError) as caught:
        await client.attach(ticket_id, "b.bin", chunk)
    assert caught.value.retry_after == 300
    assert len(sim.tenant.records["TicketAttachments"]) == 1


async def test_both_answers_for_a_missing_id_read_as_not_found(client: AutotaskClient) -> None:
    with pytest.raises(NotFoundError):  # Tickets answer 200 {"item": null}
        await client.get(Ticket, 1)
    with pytest.raises(NotFoundError):  # TimeEntries answer 404
        await client.get(TimeEntry, 1)
