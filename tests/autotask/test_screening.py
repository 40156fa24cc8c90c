"""Every record a query or a read answers passes one check at the client boundary: ids positive
and within 64 bits (SQLite's integers), fields of the right type, change markers no later than
the server's own clock (its `Date` header). A bad record is skipped and noted, never a crash and
never the end of the page; what is noted names the entity, the field and the fault, never a value.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from agent.autotask import AutotaskClient, ProtocolError, Ticket
from agent.autotask.screening import MAX_ID, marker_clamped, unreadable_fields
from agent.clock import FakeClock
from tests.autotask.mock_api import API, MockApi, json_response, make_client

# The server's clock, one hour after ours (the FakeClock starts at 2026-01-05 09:00 UTC).
SERVER_DATE = "Mon, 05 Jan 2026 10:00:00 GMT"
MARK = "2026-01-05T09:30:00.250Z"
FAR = "9999-12-31T23:59:59.999Z"
TICKET = {
    "id": 10,
    "title": "Printer jams (customer text)",
    "companyID": 5,
    "assignedResourceID": 7,
    "status": 1,
    "lastTrackedModificationDateTime": MARK,
}


def page(*items: Any, next_url: str | None = None) -> httpx.Response:
    body = {"items": list(items), "pageDetails": {"nextPageUrl": next_url}}
    return json_response(200, body, date=SERVER_DATE)


@pytest.fixture
async def client(api: MockApi) -> AsyncIterator[AutotaskClient]:
    http, autotask = make_client(api, clock=FakeClock())
    async with http:
        yield autotask


async def ids_of_query(client: AutotaskClient, entity: str = "Tickets") -> list[Any]:
    return [r["id"] async for r in client.query(entity)]


async def ids_by_id_pages(client: AutotaskClient, entity: str = "Tickets") -> list[Any]:
    return [r["id"] async for p in client.query_by_id_pages(entity) for r in p]


def noted(client: AutotaskClient) -> list[tuple[str, str, str, bool]]:
    return [(p.entity, p.field, p.problem, p.skipped) for p in client.screening.take()]


BAD_IDS = [
    ("id", 2**64 + 5, "beyond 64 bits"),
    ("id", MAX_ID + 1, "beyond 64 bits"),
    ("id", -3, "not positive"),
    ("id", 0, "not positive"),
    ("id", "12", "not a whole number"),
    ("id", 12.0, "not a whole number"),
    ("id", True, "not a whole number"),
    ("id", [12], "not a whole number"),
    ("id", None, "missing"),
]
BAD_FIELDS = [
    ("companyID", 2**64, "beyond 64 bits"),
    ("companyID", -1, "not positive"),
    ("companyID", "5", "not a whole number"),
    ("assignedResourceID", {"id": 7}, "not a whole number"),
    ("status", 2**70, "beyond 64 bits"),
    ("status", "open", "wrong type"),
    ("status", "9" * 5000, "wrong type"),
    # The Swagger types these `int32`: a .NET `int` holds no more than 2**31 - 1.
    ("companyID", 2**31, "beyond 32 bits"),
    ("status", 2**40, "beyond 32 bits"),
    ("status", -(2**31) - 1, "beyond 32 bits"),
    # Digits .NET never writes, which Python's str.isdigit() takes.
    ("status", "٣", "wrong type"),
    ("status", "７", "wrong type"),
    ("status", "²", "wrong type"),
    ("title", ["a", "list"], "wrong type"),
    ("title", {"an": "object"}, "wrong type"),
    ("lastTrackedModificationDateTime", "not a date", "not a date-time"),
    ("lastTrackedModificationDateTime", 20260105, "not a date-time"),
    ("userDefinedFields", {"name": "x"}, "wrong type"),
    ("userDefinedFields", [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]], "nested too deeply"),
    ("somethingNew", {"a": [{"b": [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}]}, "nested too deeply"),
]


@pytest.mark.parametrize(("field", "value", "problem"), BAD_IDS)
@pytest.mark.parametrize("read", [ids_of_query, ids_by_id_pages])
async def test_a_record_without_a_usable_id_is_skipped_and_the_rest_of_the_page_kept(
    api: MockApi, client: AutotaskClient, read: Any, field: str, value: Any, problem: str
) -> None:
    bad = {**TICKET, "id": 11, field: value}
    api.on("GET", "Tickets/query", page(TICKET, bad, {**TICKET, "id": 12}))
    assert await read(client) == [10, 12]
    assert noted(client) == [("Tickets", field, problem, True)]


@pytest.mark.parametrize(("field", "value", "problem"), BAD_FIELDS)
@pytest.mark.parametrize("read", [ids_of_query, ids_by_id_pages])
async def test_a_bad_field_is_left_out_and_its_record_kept(
    api: MockApi, client: AutotaskClient, read: Any, field: str, value: Any, problem: str
) -> None:
    bad = {**TICKET, "id": 11, field: value}
    api.on("GET", "Tickets/query", page(TICKET, bad, {**TICKET, "id": 12}))
    assert await read(client) == [10, 11, 12]
    assert noted(client) == [("Tickets", field, problem, False)]
    (kept,) = [r async for r in client.query("Tickets") if r["id"] == 11]
    assert field not in kept and unreadable_fields(kept) == {field}
    assert {k: v for k, v in kept.items()} == {k: v for k, v in bad.items() if k != field}


async def test_an_int32_field_keeps_its_largest_value(api: MockApi, client: AutotaskClient) -> None:
    edge = {**TICKET, "companyID": 2**31 - 1, "status": -(2**31)}
    api.on("GET", "Tickets/query", page(edge))
    assert [dict(r) async for r in client.query("Tickets")] == [edge]
    assert noted(client) == []


async def test_a_missing_id_is_skipped(api: MockApi, client: AutotaskClient) -> None:
    nameless = {k: v for k, v in TICKET.items() if k != "id"}
    api.on("GET", "Tickets/query", page(nameless, {**TICKET, "id": 12}))
    assert await ids_of_query(client) == [12]
    assert noted(client) == [("Tickets", "id", "missing", True)]


@pytest.mark.parametrize("item", [[1, 2], "a text", 5, None, True])
async def test_an_item_that_is_not_an_object_is_skipped(
    api: MockApi, client: AutotaskClient, item: Any
) -> None:
    api.on("GET", "Tickets/query", page(TICKET, item, {**TICKET, "id": 12}))
    assert await ids_by_id_pages(client) == [10, 12]
    assert noted(client) == [("Tickets", "record", "not an object", True)]


async def test_the_id_twice_in_different_case_with_different_values_is_skipped(
    api: MockApi, client: AutotaskClient
) -> None:
    twice = {**TICKET, "id": 11, "ID": 2**70}
    api.on("GET", "Tickets/query", page(TICKET, twice))
    assert await ids_of_query(client) == [10]
    assert noted(client) == [("Tickets", "id", "sent twice", True)]


async def test_a_field_twice_in_different_case_with_the_same_value_is_read_once(
    api: MockApi, client: AutotaskClient
) -> None:
    twice = {**TICKET, "id": 11, "ID": 11, "Title": TICKET["title"]}
    api.on("GET", "Tickets/query", page(twice))
    (record,) = [r async for r in client.query("Tickets")]
    assert record == {**TICKET, "id": 11} and unreadable_fields(record) == set()
    assert noted(client) == []


async def test_another_field_twice_with_different_values_is_left_out(
    api: MockApi, client: AutotaskClient
) -> None:
    twice = {**TICKET, "id": 11, "PRIORITY": 2, "priority": 3}
    api.on("GET", "Tickets/query", page(twice))
    (record,) = [r async for r in client.query("Tickets")]
    assert record == {**TICKET, "id": 11} and unreadable_fields(record) == {"priority"}
    assert noted(client) == [("Tickets", "priority", "sent twice", False)]


async def test_a_field_in_another_case_is_read_under_its_own_name(
    api: MockApi, client: AutotaskClient
) -> None:
    api.on(
        "GET", "Tickets/query", page({**{k: v for k, v in TICKET.items() if k != "id"}, "ID": 3})
    )
    (record,) = [r async for r in client.query("Tickets")]
    assert record["id"] == 3 and "ID" not in record
    assert noted(client) == []


@pytest.mark.parametrize(
    ("entity", "record", "field", "problem"),
    [
        ("TicketNotes", {"id": 4, "ticketID": None, "description": "d"}, "ticketID", "missing"),
        ("TicketNotes", {"id": 4, "description": "d"}, "ticketID", "missing"),
        ("TicketNotes", {"id": 4, "ticketID": 2**64}, "ticketID", "beyond 64 bits"),
        ("ResourceRoles", {"id": 4, "resourceID": 9, "roleID": None}, "roleID", "missing"),
        (
            "ResourceRoles",
            {"id": 4, "resourceID": 2**65, "roleID": 3},
            "resourceID",
            "beyond 64 bits",
        ),
        ("Resources", {"id": 2**64, "userName": "u"}, "id", "beyond 64 bits"),
        ("Opportunities", {"id": -1}, "id", "not positive"),
    ],
)
async def test_the_ids_of_every_entity_are_checked(
    api: MockApi,
    client: AutotaskClient,
    entity: str,
    record: dict[str, Any],
    field: str,
    problem: str,
) -> None:
    good = {"id": 2, "ticketID": 1, "resourceID": 9, "roleID": 3}
    api.on("GET", f"{entity}/query", page(good, record))
    assert await ids_by_id_pages(client, entity) == [2]
    assert noted(client) == [(entity, field, problem, True)]


@pytest.mark.parametrize(
    ("entity", "record", "field", "problem"),
    [
        ("TimeEntries", {"id": 4, "ticketID": -8}, "ticketID", "not positive"),
        (
            "TimeEntries",
            {"id": 4, "ticketID": 1, "hoursWorked": "1.5"},
            "hoursWorked",
            "wrong type",
        ),
        ("Contacts", {"id": 4, "companyID": 2**63}, "companyID", "beyond 64 bits"),
        ("Companies", {"id": 4, "ownerResourceID": 0}, "ownerResourceID", "not positive"),
    ],
)
async def test_the_other_ids_of_every_entity_are_checked_and_left_out(
    api: MockApi,
    client: AutotaskClient,
    entity: str,
    record: dict[str, Any],
    field: str,
    problem: str,
) -> None:
    api.on("GET", f"{entity}/query", page(record))
    (kept,) = [r async for p in client.query_by_id_pages(entity) for r in p]
    assert kept == {k: v for k, v in record.items() if k != field}
    assert noted(client) == [(entity, field, problem, False)]


async def test_a_marker_past_the_servers_clock_is_clamped_to_it_and_noted(
    api: MockApi, client: AutotaskClient
) -> None:
    future = {**TICKET, "id": 11, "lastTrackedModificationDateTime": "9999-12-31T23:59:59.999Z"}
    api.on("GET", "Tickets/query", page(TICKET, future))
    records = [r async for r in client.query("Tickets")]
    assert [r["id"] for r in records] == [10, 11]  # the record itself is real: kept
    assert records[0]["lastTrackedModificationDateTime"] == MARK  # a sound marker is untouched
    assert records[1]["lastTrackedModificationDateTime"] == "2026-01-05T10:00:00Z"  # server time
    assert records[1]["title"] == TICKET["title"]
    assert noted(client) == [("Tickets", "lastTrackedModificationDateTime", "in the future", False)]


async def test_a_marker_a_little_past_the_date_header_is_kept_or_clamped_quietly(
    api: MockApi, client: AutotaskClient
) -> None:
    """`Date` has whole seconds: a marker within that second is sound; one a minute ahead is
    clock jitter between Autotask's servers, clamped (the watermark never passes the server's
    clock) but not reported."""
    within = {**TICKET, "id": 11, "lastTrackedModificationDateTime": "2026-01-05T10:00:00.900Z"}
    jitter = {**TICKET, "id": 12, "lastTrackedModificationDateTime": "2026-01-05T10:01:00Z"}
    api.on("GET", "Tickets/query", page(within, jitter))
    records = [r async for r in client.query("Tickets")]
    marks = [r["lastTrackedModificationDateTime"] for r in records]
    assert marks == ["2026-01-05T10:00:00.900Z", "2026-01-05T10:00:00Z"]
    assert [marker_clamped(r) for r in records] == [False, True]  # no watermark from a clamp
    assert noted(client) == []


async def test_each_entitys_change_marker_is_clamped(api: MockApi, client: AutotaskClient) -> None:
    note = {"id": 3, "ticketID": 1, "lastActivityDate": "2199-01-01T00:00:00Z"}
    api.on("GET", "TicketNotes/query", page(note))
    (got,) = [r async for r in client.query("TicketNotes")]
    assert got["lastActivityDate"] == "2026-01-05T10:00:00Z"
    assert noted(client) == [("TicketNotes", "lastActivityDate", "in the future", False)]


async def test_without_a_date_header_our_own_clock_bounds_the_markers(
    api: MockApi, client: AutotaskClient
) -> None:
    future = {**TICKET, "lastTrackedModificationDateTime": "2030-01-01T00:00:00Z"}
    api.on("GET", "Tickets/query", json_response(200, {"items": [future]}))
    (got,) = [r async for r in client.query("Tickets")]
    assert got["lastTrackedModificationDateTime"] == "2026-01-05T09:00:00Z"


async def test_a_typed_query_skips_a_bad_record_too(api: MockApi, client: AutotaskClient) -> None:
    api.on("GET", "Tickets/query", page(TICKET, {**TICKET, "id": -4}))
    assert [t.id async for t in client.query(Ticket)] == [10]
    assert noted(client) == [("Tickets", "id", "not positive", True)]


async def test_paging_by_id_goes_on_past_a_page_whose_last_record_is_bad(
    api: MockApi, client: AutotaskClient
) -> None:
    answers = iter(
        [
            page(TICKET, {**TICKET, "id": "11"}, next_url=API + "Tickets/query/next"),
            page({**TICKET, "id": 12}),
        ]
    )
    api.on("GET", "Tickets/query", lambda _request: next(answers))
    assert await ids_by_id_pages(client) == [10, 12]


async def test_a_record_without_a_usable_id_read_by_id_is_a_protocol_error_and_noted(
    api: MockApi, client: AutotaskClient
) -> None:
    api.on("GET", "Tickets/10", json_response(200, {"item": {**TICKET, "id": -5}}))
    with pytest.raises(ProtocolError):
        await client.get("Tickets", 10)
    assert noted(client) == [("Tickets", "id", "not positive", True)]


async def test_a_bad_field_read_by_id_is_left_out_and_noted(
    api: MockApi, client: AutotaskClient
) -> None:
    item = {"item": {**TICKET, "companyID": -5}}
    api.on("GET", "Tickets/10", json_response(200, item, date=SERVER_DATE))
    got = await client.get("Tickets", 10)
    assert "companyID" not in got and unreadable_fields(got) == {"companyID"}
    assert noted(client) == [("Tickets", "companyID", "not positive", False)]


async def test_what_is_noted_holds_no_value_of_the_record(
    api: MockApi, client: AutotaskClient
) -> None:
    secret_text = "Customer secret text 4711"
    bad = {**TICKET, "id": 11, "title": [secret_text], "description": secret_text}
    api.on("GET", "Tickets/query", page(bad, {**TICKET, "id": -99999}))
    await ids_of_query(client)
    reasons = [p.reason for p in client.screening.take()]
    assert reasons == ["Tickets.title: wrong type", "Tickets.id: not positive"]
    assert not any(secret_text in r or "99999" in r for r in reasons)


@pytest.mark.parametrize("item_id", [2**64 + 9, MAX_ID + 1, 0, -5])
async def test_a_write_answered_with_an_id_out_of_range_landed_but_is_unusable(
    api: MockApi, client: AutotaskClient, item_id: int
) -> None:
    api.on("POST", "Tickets/1/Notes", json_response(200, {"itemId": item_id}))
    with pytest.raises(ProtocolError) as caught:
        await client.create("TicketNotes", {"ticketID": 1, "description": "d"})
    assert caught.value.may_have_reached_server  # it landed: reconciliation finds its real id


async def test_a_date_header_far_ahead_of_our_clock_is_believed_one_day_at_most(
    api: MockApi, client: AutotaskClient
) -> None:
    future = {**TICKET, "lastTrackedModificationDateTime": FAR}
    answer = json_response(200, {"items": [future]}, date="Fri, 31 Dec 9999 23:59:59 GMT")
    api.on("GET", "Tickets/query", answer)
    (got,) = [r async for r in client.query("Tickets")]
    assert got["lastTrackedModificationDateTime"] == "2026-01-06T09:00:00Z"  # ours + 1 day
