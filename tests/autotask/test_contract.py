"""The client against the simulator: the same cases in process (ASGI) and over a real socket."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from agent.autotask import (
    ApiCredentials,
    AutotaskClient,
    ClientOptions,
    Contact,
    InvalidIntegrationCodeError,
    NetworkError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    ThreadLimitedError,
    Ticket,
    TicketNote,
    TimeEntry,
    UnknownUserError,
    ValidationError,
    WrongSecretError,
    Zone,
    ZoneMovedError,
    eq,
    gte,
    in_,
)
from agent.clock import FakeClock
from agent.simulator import (
    DEMO_INTEGRATION_CODE,
    DEMO_SECRET,
    DEMO_USERNAME,
    Simulator,
    serve,
)

TICKETS = 60


@dataclass
class Backend:
    """A simulator reachable through `http`, which records every request it sends."""

    kind: str
    sim: Simulator
    clock: FakeClock
    http: httpx.AsyncClient
    base: str
    sent: list[httpx.Request] = field(default_factory=list)

    def client(
        self,
        username: str = DEMO_USERNAME,
        secret: str = DEMO_SECRET,
        code: str = DEMO_INTEGRATION_CODE,
        zone: Zone | None = None,
        **options: Any,
    ) -> AutotaskClient:
        return AutotaskClient(
            self.http,
            ApiCredentials(username, secret, code),
            options=ClientOptions(directory_url=self.base + "/ATServicesRest/", **options),
            zone=zone,
        )

    def api_sent(self) -> list[httpx.Request]:
        return [r for r in self.sent if "zoneinformation" not in r.url.path.lower()]


@pytest.fixture(params=["asgi", pytest.param("socket", marks=pytest.mark.socket)])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    clock = FakeClock()
    sim = Simulator(seed="contract", tickets=TICKETS, clock=clock)
    sent: list[httpx.Request] = []

    async def record(r: httpx.Request) -> None:
        sent.append(r)

    hooks = {"request": [record]}
    if request.param == "asgi":
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(transport=transport, event_hooks=hooks) as http:
            yield Backend("asgi", sim, clock, http, "http://sim.test", sent)
    else:
        async with serve(sim, port=0) as base, httpx.AsyncClient(event_hooks=hooks) as http:
            yield Backend("socket", sim, clock, http, base, sent)


@pytest.fixture
def client(backend: Backend) -> AutotaskClient:
    return backend.client()


def ticket_ids(backend: Backend) -> list[int]:
    return sorted(backend.sim.dump()["Tickets"])


# Reading ---------------------------------------------------------------------------------


async def test_zone_lookup_finds_the_tenants_zone(backend: Backend, client: AutotaskClient) -> None:
    zone = await client.rediscover_zone()
    assert zone.url == f"{backend.base}/zone{backend.sim.zone}/ATServicesRest/"
    assert zone.ci == backend.sim.zone


async def test_get_reads_a_ticket_as_the_server_holds_it(
    backend: Backend, client: AutotaskClient
) -> None:
    ticket_id = ticket_ids(backend)[3]
    server = backend.sim.dump()["Tickets"][ticket_id]
    ticket = await client.get(Ticket, ticket_id)
    assert (ticket.id, ticket.title, ticket.status) == (
        ticket_id,
        server["title"],
        server["status"],
    )
    assert ticket.to_wire()["ticketNumber"] == server["ticketNumber"]
    with pytest.raises(NotFoundError):
        await client.get(Ticket, 999_999_999)


async def test_a_get_query_pages_to_the_end(backend: Backend, client: AutotaskClient) -> None:
    ids = [t.id async for t in client.query(Ticket, gte("id", 0), max_records=25)]
    assert ids == ticket_ids(backend)
    methods = [r.method for r in backend.api_sent()]
    assert methods == ["GET"] * 3


async def test_a_post_query_pages_to_the_end(backend: Backend, client: AutotaskClient) -> None:
    wanted = ticket_ids(backend)[:55]
    padding = list(range(10_000_000, 10_000_300))  # ids that exist nowhere, to force a POST
    found = [
        r["id"] async for r in client.query("Tickets", in_("id", [*wanted, *padding]), ["id"], 20)
    ]
    assert found == wanted
    assert [r.method for r in backend.api_sent()] == ["POST"] * 3


async def test_id_paging_reads_every_record_once(backend: Backend, client: AutotaskClient) -> None:
    pages = [p async for p in client.query_by_id_pages(Ticket, None, ["title"], max_records=25)]
    assert [len(p) for p in pages] == [25, 25, 10]
    assert [r["id"] for p in pages for r in p] == ticket_ids(backend)
    assert all(r["title"] for p in pages for r in p)


async def test_count_matches_the_server(backend: Backend, client: AutotaskClient) -> None:
    status = backend.sim.dump()["Tickets"][ticket_ids(backend)[0]]["status"]
    expected = sum(1 for t in backend.sim.dump()["Tickets"].values() if t["status"] == status)
    assert await client.count(Ticket, eq("status", status)) == expected


async def test_picklists_come_from_entity_information(
    backend: Backend, client: AutotaskClient
) -> None:
    picklists = await client.picklists(Ticket)
    statuses = {p.value for p in picklists["status"]}
    assert {t["status"] for t in backend.sim.dump()["Tickets"].values()} <= statuses
    assert all(isinstance(v, int) for v in statuses)
    fields = {f.name: f for f in await client.field_info("Tickets")}
    assert fields["title"].is_required


async def test_threshold_counts_calls_and_version_answers(client: AutotaskClient) -> None:
    first = await client.threshold()
    second = await client.threshold()
    assert first.limit == 10_000
    assert second.used == first.used + 1
    assert await client.version() == ["1.0"]


# Writing ---------------------------------------------------------------------------------


async def test_create_update_and_read_back_a_ticket(
    backend: Backend, client: AutotaskClient
) -> None:
    picklists = await client.picklists(Ticket)
    company_id = min(backend.sim.dump()["Companies"])
    status, priority = picklists["status"][0].value, picklists["priority"][0].value
    new_id = await client.create(
        Ticket,
        Ticket(title="Printer jams", company_id=company_id, status=status, priority=priority),
    )
    assert backend.sim.dump()["Tickets"][new_id]["title"] == "Printer jams"
    await client.update(Ticket, new_id, {"title": "Printer fixed"})
    stored = backend.sim.dump()["Tickets"][new_id]
    assert (stored["title"], stored["priority"]) == ("Printer fixed", priority)
    assert (await client.get(Ticket, new_id)).title == "Printer fixed"


async def test_a_business_rule_violation_is_a_validation_error(
    backend: Backend, client: AutotaskClient
) -> None:
    ticket_id = ticket_ids(backend)[0]
    with pytest.raises(ValidationError) as caught:
        await client.update(
            Ticket,
            ticket_id,
            {
                "assignedResourceID": backend.sim.technician_resource_id,
                "assignedResourceRoleID": None,
            },
        )
    assert caught.value.status == 500
    assert caught.value.may_have_reached_server is False
    assert any("assignedResourceRoleID" in m for m in caught.value.messages)


async def test_notes_and_contacts_are_written_under_their_parent(
    backend: Backend, client: AutotaskClient
) -> None:
    ticket_id = ticket_ids(backend)[0]
    picklists = await client.picklists(TicketNote)
    note = TicketNote(
        ticket_id=ticket_id,
        description="Replaced the fuser",
        note_type=picklists["noteType"][0].value,  # type: ignore[arg-type]
        publish=picklists["publish"][0].value,  # type: ignore[arg-type]
    )
    note_id = await client.create(TicketNote, note)
    assert backend.sim.dump()["TicketNotes"][note_id]["ticketID"] == ticket_id
    await client.update(TicketNote, note_id, {"description": "Replaced the fuser unit"}, ticket_id)
    read = await client.get(TicketNote, note_id, parent_id=ticket_id)
    assert read.description == "Replaced the fuser unit"

    company_id = min(backend.sim.dump()["Companies"])
    contact_id = await client.create(
        Contact, {"firstName": "Ann", "lastName": "Lee", "isActive": 1}, parent_id=company_id
    )
    assert backend.sim.dump()["Contacts"][contact_id]["companyID"] == company_id
    await client.delete(Contact, contact_id, parent_id=company_id)
    assert contact_id not in backend.sim.dump()["Contacts"]
    paths = [r.url.path for r in backend.api_sent() if r.method != "GET"]
    assert f"/zone{backend.sim.zone}/ATServicesRest/V1.0/Tickets/{ticket_id}/Notes" in paths
    assert f"/zone{backend.sim.zone}/ATServicesRest/V1.0/Companies/{company_id}/Contacts" in paths


async def create_time_entry(backend: Backend, client: AutotaskClient) -> int:
    technician = backend.sim.technician_resource_id
    return await client.create(
        TimeEntry,
        TimeEntry(
            ticket_id=ticket_ids(backend)[0],
            resource_id=technician,
            role_id=min(backend.sim.tenant.roles_of(technician)),
            date_worked=datetime(2026, 1, 5, tzinfo=UTC),
            hours_worked=1.5,
            summary_notes="On site",
        ),
    )


async def test_a_time_entry_is_created_and_deleted(
    backend: Backend, client: AutotaskClient
) -> None:
    entry_id = await create_time_entry(backend, client)
    entry = await client.get(TimeEntry, entry_id)
    assert (entry.hours_worked, entry.summary_notes) == (1.5, "On site")
    await client.delete(TimeEntry, entry_id)
    with pytest.raises(NotFoundError):
        await client.get(TimeEntry, entry_id)


# Faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_injected_server_errors_are_server_errors(
    backend: Backend, client: AutotaskClient, status: int
) -> None:
    backend.sim.faults.error(status, route="tickets/*", count=1)
    with pytest.raises(ServerError) as caught:
        await client.get(Ticket, ticket_ids(backend)[0])
    assert caught.value.status == status
    assert (await client.get(Ticket, ticket_ids(backend)[0])).id == ticket_ids(backend)[0]


async def test_a_server_error_on_a_write_leaves_the_outcome_unknown(
    backend: Backend, client: AutotaskClient
) -> None:
    backend.sim.faults.error(502, route="tickets", verb="PATCH", count=1)
    with pytest.raises(ServerError) as caught:
        await client.update(Ticket, ticket_ids(backend)[0], {"title": "x"})
    assert caught.value.is_write and caught.value.may_have_reached_server


async def test_a_reset_connection_is_a_network_error(
    backend: Backend, client: AutotaskClient
) -> None:
    await client.rediscover_zone()
    backend.sim.faults.reset(route="tickets/*", count=1)
    with pytest.raises(NetworkError) as caught:
        await client.get(Ticket, ticket_ids(backend)[0])
    assert caught.value.phase == "exchange"
    assert caught.value.may_have_reached_server is False
    assert client.zone is not None


async def test_a_hanging_server_times_out_on_read(backend: Backend, client: AutotaskClient) -> None:
    await client.rediscover_zone()
    backend.sim.faults.hang(route="tickets/*", count=1)
    with client.deadline(0.05), pytest.raises(RequestTimeoutError) as caught:
        await client.get(Ticket, ticket_ids(backend)[0])
    assert caught.value.phase == "read"
    assert caught.value.may_have_reached_server is False
    backend.sim.faults.release_hangs()


async def test_a_hanging_write_may_have_reached_the_server(
    backend: Backend, client: AutotaskClient
) -> None:
    await client.rediscover_zone()
    backend.sim.faults.hang(route="tickets", verb="PATCH", count=1)
    with client.deadline(0.05), pytest.raises(RequestTimeoutError) as caught:
        await client.update(Ticket, ticket_ids(backend)[0], {"title": "x"})
    assert caught.value.may_have_reached_server is True
    backend.sim.faults.release_hangs()


async def test_a_write_whose_answer_is_dropped_landed_and_says_so(
    backend: Backend, client: AutotaskClient
) -> None:
    ticket_id = ticket_ids(backend)[1]
    await client.rediscover_zone()
    backend.sim.faults.drop_response(route="tickets", verb="PATCH", count=1)
    with pytest.raises(NetworkError) as caught:
        await client.update(Ticket, ticket_id, {"title": "Landed anyway"})
    assert caught.value.may_have_reached_server is True
    assert caught.value.is_write is True
    assert backend.sim.dump()["Tickets"][ticket_id]["title"] == "Landed anyway"


async def test_malformed_json_is_a_protocol_error(backend: Backend, client: AutotaskClient) -> None:
    await client.rediscover_zone()
    backend.sim.faults.malformed_json(route="tickets/*", count=1)
    with pytest.raises(ProtocolError):
        await client.get(Ticket, ticket_ids(backend)[0])


async def test_a_huge_answer_is_read_within_the_cap_and_refused_past_it(
    backend: Backend,
) -> None:
    roomy = backend.client(max_response_bytes=4_000_000)
    tight = backend.client(max_response_bytes=1_000_000)
    ticket_id = ticket_ids(backend)[0]
    backend.sim.faults.huge_response(size=2_000_000, route="tickets/*")
    assert (await roomy.get(Ticket, ticket_id)).id == ticket_id
    with pytest.raises(ProtocolError, match="too large"):
        await tight.get(Ticket, ticket_id)


async def test_read_after_write_lag_answers_not_found_for_a_while(
    backend: Backend, client: AutotaskClient
) -> None:
    backend.sim.faults.read_lag(2.0, route="timeentries*")
    entry_id = await create_time_entry(backend, client)
    with pytest.raises(NotFoundError):
        await client.get(TimeEntry, entry_id)
    backend.clock.advance(3.0)
    assert (await client.get(TimeEntry, entry_id)).id == entry_id


# Limits ----------------------------------------------------------------------------------


async def test_the_hourly_quota_answers_rate_limited_with_retry_after(backend: Backend) -> None:
    backend.sim.limits.threshold = 3
    client = backend.client()
    ticket_id = ticket_ids(backend)[0]
    for _ in range(3):
        await client.get(Ticket, ticket_id)
    with pytest.raises(RateLimitedError) as caught:
        await client.get(Ticket, ticket_id)
    assert caught.value.status == 429
    assert 0 < caught.value.retry_after <= 3600


async def test_a_fourth_concurrent_call_on_an_endpoint_is_thread_limited(
    backend: Backend, client: AutotaskClient
) -> None:
    await client.rediscover_zone()
    ticket_id = ticket_ids(backend)[0]
    backend.sim.faults.hang(route="tickets/*", count=3)
    held = [asyncio.ensure_future(client.get(Ticket, ticket_id)) for _ in range(3)]
    for _ in range(2000):
        if sum(backend.sim.limits.in_flight.values()) >= 3:
            break
        await asyncio.sleep(0)
    # Let the held requests start waiting: the simulator only sees a release once they do.
    for _ in range(10):
        await asyncio.sleep(0)
    with pytest.raises(ThreadLimitedError) as caught:
        await client.get(Ticket, ticket_id)
    assert caught.value.status == 429
    backend.sim.faults.release_hangs()
    assert [t.id for t in await asyncio.gather(*held)] == [ticket_id] * 3


# Authentication and zones ----------------------------------------------------------------


async def test_an_unknown_user_is_told_at_zone_lookup(backend: Backend) -> None:
    with pytest.raises(UnknownUserError):
        await backend.client(username="nobody@example.test").get(Ticket, 1)


async def test_an_unknown_user_with_a_remembered_zone_is_told_too(
    backend: Backend, client: AutotaskClient
) -> None:
    zone = await client.rediscover_zone()
    with pytest.raises(UnknownUserError):
        await backend.client(username="nobody@example.test", zone=zone).get(Ticket, 1)


async def test_a_wrong_secret_and_a_bad_integration_code_are_told_apart(backend: Backend) -> None:
    with pytest.raises(WrongSecretError) as wrong:
        await backend.client(secret="not-the-secret").get(Ticket, ticket_ids(backend)[0])
    with pytest.raises(InvalidIntegrationCodeError) as bad:
        await backend.client(code="NOT-A-CODE").get(Ticket, ticket_ids(backend)[0])
    assert wrong.value.status == 401
    assert bad.value.status == 500
    assert "not-the-secret" not in str(wrong.value) + repr(wrong.value)
    assert "NOT-A-CODE" not in str(bad.value) + repr(bad.value)


async def test_a_rotated_secret_is_a_wrong_secret(backend: Backend, client: AutotaskClient) -> None:
    await client.get(Ticket, ticket_ids(backend)[0])
    backend.sim.faults.rotate_secret(DEMO_USERNAME)
    with pytest.raises(WrongSecretError):
        await client.get(Ticket, ticket_ids(backend)[0])


async def test_a_zone_migration_is_noticed_and_the_next_call_rediscovers(
    backend: Backend, client: AutotaskClient
) -> None:
    ticket_id = ticket_ids(backend)[0]
    await client.get(Ticket, ticket_id)
    old = client.zone
    backend.sim.faults.migrate_zone(backend.sim.zone + 4)
    with pytest.raises(ZoneMovedError):
        await client.get(Ticket, ticket_id)
    assert client.zone is None
    assert (await client.get(Ticket, ticket_id)).id == ticket_id
    assert client.zone is not None and client.zone != old
    assert client.zone.url.endswith(f"/zone{backend.sim.zone}/ATServicesRest/")


@pytest.mark.socket
async def test_a_refused_connection_drops_the_zone() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = Zone("gone", f"http://127.0.0.1:{port}/ATServicesRest/")
    async with httpx.AsyncClient() as http:
        client = AutotaskClient(http, ApiCredentials("u", "s", "c"), zone=dead)
        with pytest.raises(NetworkError) as caught:
            await client.get(Ticket, 1)
    assert caught.value.phase == "connect"
    assert caught.value.may_have_reached_server is False
    assert client.zone is None
