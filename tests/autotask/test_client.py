"""The client's calls: headers, zones, paging, writes and metadata, against a scripted API."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from agent.autotask import (
    ApiCredentials,
    AutotaskClient,
    AutotaskError,
    ClientOptions,
    NetworkError,
    ProtocolError,
    RequestTimeoutError,
    Ticket,
    TicketNote,
    UnknownUserError,
    Zone,
    ZoneMovedError,
    eq,
    in_,
)
from tests.autotask.mock_api import (
    API,
    CODE,
    CREDENTIALS,
    DIRECTORY,
    SECRET,
    ZONE_URL,
    MockApi,
    json_response,
    make_client,
)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def search_of(request: httpx.Request) -> Any:
    return json.loads(parse_qs(request.url.query.decode())["search"][0])


# Authentication and zones ----------------------------------------------------------------


async def test_calls_carry_the_auth_headers_and_the_lookup_carries_none(
    api: MockApi, client: AutotaskClient
) -> None:
    api.on("GET", "Tickets/1", json_response(200, {"item": {"id": 1}}))
    await client.get("Tickets", 1)
    lookup, call = api.requests
    assert str(lookup.url) == DIRECTORY + "V1.0/ZoneInformation?user=tech%40example.test"
    for header in ("Secret", "ApiIntegrationCode", "UserName"):
        assert header not in lookup.headers
    assert str(call.url) == API + "Tickets/1"
    assert call.headers["Secret"] == SECRET
    assert call.headers["ApiIntegrationCode"] == CODE
    assert call.headers["UserName"] == "tech@example.test"
    assert "ImpersonationResourceId" not in call.headers


async def test_impersonation_sends_the_resource_id(api: MockApi) -> None:
    api.on("GET", "Tickets/1", json_response(200, {"item": {"id": 1}}))
    async with httpx.AsyncClient(transport=httpx.MockTransport(api)) as http:
        creds = ApiCredentials("u", SECRET, CODE, impersonation_resource_id=29682885)
        client = AutotaskClient(http, creds, options=ClientOptions(directory_url=DIRECTORY))
        await client.get("Tickets", 1)
    assert api.requests[-1].headers["ImpersonationResourceId"] == "29682885"


async def test_credentials_and_client_reprs_hide_the_secret_and_integration_code() -> None:
    async with httpx.AsyncClient() as http:
        client = AutotaskClient(http, CREDENTIALS)
        for text in (repr(CREDENTIALS), str(CREDENTIALS), repr(client)):
            assert SECRET not in text
            assert CODE not in text
        assert "tech@example.test" in repr(CREDENTIALS)


async def test_the_zone_is_looked_up_once_and_cached(api: MockApi, client: AutotaskClient) -> None:
    api.on("GET", "Tickets/1", json_response(200, {"item": {"id": 1}}))
    await asyncio.gather(*(client.get("Tickets", 1) for _ in range(5)))
    assert api.zone_lookups == 1
    assert client.zone == Zone("Zone 5", "https://zone5.test/ATServicesRest/", "w", 5)


async def test_zone_text_that_cannot_be_written_never_reaches_the_zone(
    api: MockApi, client: AutotaskClient
) -> None:
    """A lone surrogate (the JSON escape `\\ud800`) in the zone's name or web address is shown
    as U+FFFD (the zone is persisted); in its API address the answer is refused, no crash."""
    api.on("GET", "Tickets/1", json_response(200, {"item": {"id": 1}}))
    api.zone_name, api.web_url = "Zone \ud800 5", "https://ww5.test/\udfff"
    await client.get("Tickets", 1)
    assert client.zone == Zone("Zone \ufffd 5", ZONE_URL, "https://ww5.test/\ufffd", 5)
    api.zone_url = ZONE_URL + "\ud800/"
    http, fresh = make_client(api)
    async with http:
        with pytest.raises(AutotaskError) as refused:
            await fresh.get("Tickets", 1)
    str(refused.value).encode("utf-8")  # its message is writable
    assert fresh.zone is None


async def test_a_persisted_zone_is_used_without_a_lookup(api: MockApi) -> None:
    api.on("GET", "Tickets/1", json_response(200, {"item": {"id": 1}}))
    zone = Zone.from_dict(Zone("Zone 5", "https://zone5.test/ATServicesRest/").to_dict())
    http, client = make_client(api, zone=zone)
    async with http:
        await client.get("Tickets", 1)
    assert api.zone_lookups == 0


async def test_zone_changes_are_reported_so_they_can_be_persisted(api: MockApi) -> None:
    seen: list[Zone | None] = []
    api.on(
        "GET", "Tickets/1", json_response(500, {"errors": ["Tenant is not hosted in this zone"]})
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(api)) as http:
        client = AutotaskClient(
            http,
            CREDENTIALS,
            options=ClientOptions(directory_url=DIRECTORY),
            on_zone_change=seen.append,
        )
        with pytest.raises(ZoneMovedError):
            await client.get("Tickets", 1)
    assert [z.name if z else None for z in seen] == ["Zone 5", None]


async def test_a_moved_tenant_drops_the_zone_and_the_next_call_finds_the_new_one(
    api: MockApi, client: AutotaskClient
) -> None:
    def old_zone(request: httpx.Request) -> httpx.Response:
        if request.url.host == "zone5.test":
            return json_response(500, {"errors": ["Database is not hosted in this zone."]})
        return json_response(200, {"item": {"id": 1}})

    api.on("GET", "Tickets/1", old_zone)
    with pytest.raises(ZoneMovedError) as moved:
        await client.get("Tickets", 1)
    assert moved.value.may_have_reached_server is False
    assert client.zone is None
    api.zone_url = "https://zone9.test/ATServicesRest/"
    assert (await client.get("Tickets", 1))["id"] == 1
    assert client.zone is not None and client.zone.url == api.zone_url
    assert api.zone_lookups == 2


async def test_a_connect_failure_drops_the_zone_but_a_read_failure_does_not(
    api: MockApi, client: AutotaskClient
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("reset", request=request)

    api.on("GET", "Tickets/1", reset)
    with pytest.raises(NetworkError):
        await client.get("Tickets", 1)
    assert client.zone is not None
    api.on("GET", "Tickets/1", refuse)
    with pytest.raises(NetworkError) as refused:
        await client.get("Tickets", 1)
    assert refused.value.phase == "connect"
    assert client.zone is None


async def test_rediscover_zone_replaces_the_cached_zone(
    api: MockApi, client: AutotaskClient
) -> None:
    assert (await client.rediscover_zone()).url == api.zone_url
    api.zone_url = "https://zone2.test/ATServicesRest/"
    assert (await client.rediscover_zone()).url == api.zone_url
    assert client.zone is not None and client.zone.url == api.zone_url


@pytest.mark.parametrize(
    "answer",
    [
        json_response(500, {"errors": ["Zone information could not be determined"]}),
        json_response(500, {"errors": ["Something else about this user"]}),
    ],
)
async def test_an_unknown_user_fails_the_zone_lookup_with_unknown_user(
    answer: httpx.Response,
) -> None:
    def directory(request: httpx.Request) -> httpx.Response:
        return answer

    http, client = make_client(directory)
    async with http:
        with pytest.raises(UnknownUserError) as caught:
            await client.get("Tickets", 1)
    assert "user name" in str(caught.value)
    assert caught.value.endpoint == "ZoneInformation"


@pytest.mark.parametrize(
    "payload", [[], {"zoneName": "x"}, {"url": "ftp://x/"}, {"url": 5}, "zone"]
)
async def test_an_unusable_zone_answer_is_a_protocol_error(payload: object) -> None:
    http, client = make_client(lambda _r: json_response(200, payload))
    async with http:
        with pytest.raises(ProtocolError):
            await client.get("Tickets", 1)


# Deadlines ------------------------------------------------------------------------------


async def test_a_hanging_server_hits_the_deadline_as_a_read_timeout(api: MockApi) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    api.on("PATCH", "Tickets", hang)  # type: ignore[arg-type]
    http = httpx.AsyncClient(transport=httpx.MockTransport(hang))
    async with http:
        client = AutotaskClient(
            http,
            CREDENTIALS,
            options=ClientOptions(directory_url=DIRECTORY),  # its zones may live anywhere
            zone=Zone("z", "https://zone5.test/ATServicesRest/"),
        )
        with client.deadline(0.02), pytest.raises(RequestTimeoutError) as caught:
            await client.update("Tickets", 1, {"status": 5})
    assert caught.value.phase == "read"
    assert caught.value.may_have_reached_server is True


# Reading and paging ---------------------------------------------------------------------


def paged(pages: list[list[int]], base: str) -> Any:
    """A handler serving `pages` of ids; next pages at `{base}query/next?paging=<n>`."""

    def handler(request: httpx.Request) -> httpx.Response:
        query = parse_qs(request.url.query.decode())
        index = int(query.get("paging", ["0"])[0])
        next_url = f"{base}query/next?paging={index + 1}" if index + 1 < len(pages) else None
        return json_response(
            200,
            {
                "items": [{"id": i, "title": f"t{i}"} for i in pages[index]],
                "pageDetails": {"count": len(pages[index]), "nextPageUrl": next_url},
            },
        )

    return handler


async def test_a_short_query_goes_by_get_and_follows_next_pages_to_the_end(
    api: MockApi, client: AutotaskClient
) -> None:
    handler = paged([[1, 2], [3, 4], [5]], API + "Tickets/")
    api.on("GET", "Tickets/query", handler)
    api.on("GET", "Tickets/query/next", handler)
    ids = [t.id async for t in client.query(Ticket, eq("status", 1), max_records=2)]
    assert ids == [1, 2, 3, 4, 5]
    first = api.api_requests()[0]
    assert search_of(first) == {
        "MaxRecords": 2,
        "Filter": [{"op": "eq", "field": "status", "value": 1}],
    }
    assert [r.method for r in api.api_requests()] == ["GET", "GET", "GET"]


async def test_a_long_query_goes_by_post_and_posts_the_same_body_to_next_pages(
    api: MockApi, client: AutotaskClient
) -> None:
    handler = paged([[1], [2], [3]], API + "Tickets/")
    api.on("POST", "Tickets/query", handler)
    api.on("POST", "Tickets/query/next", handler)
    records = [r async for r in client.query("Tickets", in_("id", range(1000, 1400)))]
    assert [r["id"] for r in records] == [1, 2, 3]
    sent = api.api_requests()
    assert [r.method for r in sent] == ["POST", "POST", "POST"]
    assert all(len(str(r.url)) < 2000 for r in sent)
    bodies = [body_of(r) for r in sent]
    assert bodies[0] == bodies[1] == bodies[2]
    assert len(bodies[0]["Filter"][0]["value"]) == 400


async def test_a_next_page_on_another_host_is_refused_so_credentials_stay_home(
    api: MockApi, client: AutotaskClient
) -> None:
    api.on(
        "GET", "Tickets/query", paged([[1], [2]], "https://evil.test/ATServicesRest/V1.0/Tickets/")
    )
    with pytest.raises(ProtocolError, match="another host"):
        [r async for r in client.query("Tickets")]
    assert all(r.url.host != "evil.test" for r in api.requests)


async def test_a_next_page_url_repeating_itself_stops_with_a_protocol_error(
    api: MockApi, client: AutotaskClient
) -> None:
    looping = json_response(
        200, {"items": [{"id": 1}], "pageDetails": {"nextPageUrl": API + "Tickets/query/next?p=1"}}
    )
    api.on("GET", "Tickets/query", looping)
    api.on("GET", "Tickets/query/next", looping)
    with pytest.raises(ProtocolError, match="same next page"):
        [r async for r in client.query("Tickets")]
    assert len(api.api_requests()) == 2


async def test_id_paging_asks_again_above_the_largest_id_seen(
    api: MockApi, client: AutotaskClient
) -> None:
    rows = list(range(1, 8))

    def by_id(request: httpx.Request) -> httpx.Response:
        search = search_of(request)
        floor = max(
            [f["value"] for f in search["Filter"] if f.get("op") == "gt" and f["field"] == "id"],
            default=0,
        )
        page = [i for i in rows if i > floor][: search["MaxRecords"]]
        more = any(i > page[-1] for i in rows) if page else False
        next_url = API + "Tickets/query/next?paging=x" if more else None
        return json_response(
            200, {"items": [{"id": i} for i in page], "pageDetails": {"nextPageUrl": next_url}}
        )

    api.on("GET", "Tickets/query", by_id)
    pages = [
        [r["id"] for r in page]
        async for page in client.query_by_id_pages("Tickets", eq("status", 1), max_records=3)
    ]
    assert pages == [[1, 2, 3], [4, 5, 6], [7]]
    filters = [search_of(r)["Filter"] for r in api.api_requests()]
    assert filters[1] == [
        {"op": "eq", "field": "status", "value": 1},
        {"op": "gt", "field": "id", "value": 3},
    ]


async def test_id_paging_refuses_a_server_that_does_not_move_forward(
    api: MockApi, client: AutotaskClient
) -> None:
    stuck = json_response(
        200, {"items": [{"id": 2}], "pageDetails": {"nextPageUrl": API + "Tickets/query/next"}}
    )
    api.on("GET", "Tickets/query", stuck)
    with pytest.raises(ProtocolError, match="already sent"):
        [p async for p in client.query_by_id_pages("Tickets")]


async def test_count_returns_the_query_count(api: MockApi, client: AutotaskClient) -> None:
    api.on("GET", "Tickets/query/count", json_response(200, {"queryCount": 1234}))
    assert await client.count("Tickets", eq("status", 1)) == 1234
    api.on("GET", "Tickets/query/count", json_response(200, {"queryCount": "many"}))
    with pytest.raises(ProtocolError):
        await client.count("Tickets")


async def test_get_reads_a_child_under_its_parent(api: MockApi, client: AutotaskClient) -> None:
    api.on("GET", "Tickets/7/Notes/3", json_response(200, {"item": {"id": 3, "ticketID": 7}}))
    note = await client.get(TicketNote, 3, parent_id=7)
    assert (note.id, note.ticket_id) == (3, 7)


def test_entity_names_cannot_smuggle_a_path() -> None:
    from agent.autotask.routes import entity_name

    for bad in ("Tickets/1", "../x", "Tickets?x", ""):
        with pytest.raises(ValueError):
            entity_name(bad)


# Writing --------------------------------------------------------------------------------


async def test_create_posts_the_fields_and_returns_the_new_id(
    api: MockApi, client: AutotaskClient
) -> None:
    api.on("POST", "Tickets", json_response(200, {"itemId": 901}))
    new_id = await client.create(
        Ticket, Ticket(title="Printer", company_id=7, status=1, priority=2)
    )
    assert new_id == 901
    assert body_of(api.api_requests()[0]) == {
        "title": "Printer",
        "status": 1,
        "priority": 2,
        "companyID": 7,
    }


async def test_child_records_are_created_under_their_parent(
    api: MockApi, client: AutotaskClient
) -> None:
    api.on("POST", "Tickets/42/Notes", json_response(200, {"itemId": 5}))
    api.on("POST", "Companies/7/Contacts", json_response(200, {"itemId": 6}))
    assert await client.create("TicketNotes", {"ticketID": 42, "description": "d"}) == 5
    assert await client.create("Contacts", {"firstName": "Ann"}, parent_id=7) == 6
    assert body_of(api.api_requests()[1]) == {"firstName": "Ann", "companyID": 7}
    with pytest.raises(ValueError, match="Tickets record"):
        await client.create("TicketNotes", {"description": "orphan"})


async def test_update_patches_only_the_changed_fields_with_the_id(
    api: MockApi, client: AutotaskClient
) -> None:
    from datetime import UTC, datetime

    api.on("PATCH", "Tickets", json_response(200, {"itemId": 42}))
    changed = {"status": 5, "dueDateTime": datetime(2026, 1, 6, 17, tzinfo=UTC)}
    assert await client.update("Tickets", 42, changed) == 42
    assert body_of(api.api_requests()[0]) == {
        "id": 42,
        "status": 5,
        "dueDateTime": "2026-01-06T17:00:00Z",
    }
    with pytest.raises(ValueError):
        await client.update("Tickets", 42, {})
    with pytest.raises(ValueError):
        await client.update("Tickets", 42, {"id": 43, "status": 1})


async def test_update_of_a_note_goes_under_its_ticket(api: MockApi, client: AutotaskClient) -> None:
    api.on("PATCH", "Tickets/42/Notes", json_response(200, {"itemId": 3}))
    assert await client.update(TicketNote, 3, {"description": "x"}, parent_id=42) == 3


async def test_replace_puts_the_whole_record(api: MockApi, client: AutotaskClient) -> None:
    api.on("PUT", "TimeEntries", json_response(200, {"itemId": 8}))
    assert await client.replace("TimeEntries", 8, {"hoursWorked": 1.0}) == 8
    assert api.api_requests()[0].method == "PUT"


async def test_delete_addresses_the_record_and_children_need_their_parent(
    api: MockApi, client: AutotaskClient
) -> None:
    api.on("DELETE", "TimeEntries/8", json_response(200, {"itemId": 8}))
    api.on("DELETE", "Companies/7/Contacts/3", json_response(200, {"itemId": 3}))
    await client.delete("TimeEntries", 8)
    await client.delete("Contacts", 3, parent_id=7)
    assert [r.url.path for r in api.api_requests()] == [
        "/ATServicesRest/V1.0/TimeEntries/8",
        "/ATServicesRest/V1.0/Companies/7/Contacts/3",
    ]
    with pytest.raises(ValueError):
        await client.delete("Contacts", 3)


# Metadata -------------------------------------------------------------------------------

FIELDS = {
    "fields": [
        {"name": "id", "dataType": "long", "isReadOnly": True, "isQueryable": True},
        {
            "name": "status",
            "dataType": "integer",
            "isRequired": True,
            "isPickList": True,
            "picklistValues": [
                {"value": "1", "label": "New", "isDefaultValue": True, "sortOrder": 1},
                {"value": "5", "label": "Complete", "isActive": True, "isSystem": True},
            ],
        },
        {
            "name": "subIssueType",
            "dataType": "integer",
            "isPickList": True,
            "picklistParentValueField": "issueType",
            "picklistValues": [{"value": "9", "label": "Toner", "parentValue": "3"}],
        },
    ]
}


async def test_field_info_and_picklists_read_entity_information(
    api: MockApi, client: AutotaskClient
) -> None:
    api.on("GET", "Tickets/entityInformation/fields", json_response(200, FIELDS))
    fields = await client.field_info(Ticket)
    assert [f.name for f in fields] == ["id", "status", "subIssueType"]
    assert fields[0].is_read_only and not fields[0].is_picklist
    picklists = await client.picklists("Tickets")
    assert set(picklists) == {"status", "subIssueType"}
    new, complete = picklists["status"]
    assert (new.value, new.label, new.is_default, new.sort_order) == (1, "New", True, 1)
    assert (complete.value, complete.is_system) == (5, True)
    assert picklists["subIssueType"][0].parent_value == 3
    assert fields[2].picklist_parent_value_field == "issueType"


async def test_malformed_field_information_is_left_out_and_noted(
    api: MockApi, client: AutotaskClient
) -> None:
    good = {"name": "title", "dataType": "string"}
    api.on(
        "GET",
        "Tickets/entityInformation/fields",
        json_response(200, {"fields": [{"x": 1}, good, {"name": "length", "length": "long"}]}),
    )
    assert [f.name for f in await client.field_info("Tickets")] == ["title"]
    reasons = [p.reason for p in client.screening.take()]
    assert reasons == [
        "Tickets.field: not a field description",
        "Tickets.length: not a field description",
    ]


async def test_a_field_list_that_is_no_list_is_a_protocol_error(
    api: MockApi, client: AutotaskClient
) -> None:
    api.on("GET", "Tickets/entityInformation/fields", json_response(200, {"fields": {"x": 1}}))
    with pytest.raises(ProtocolError):
        await client.field_info("Tickets")


async def test_threshold_and_version(api: MockApi, client: AutotaskClient) -> None:
    api.on(
        "GET",
        "ThresholdInformation",
        json_response(
            200,
            {
                "externalRequestThreshold": 10000,
                "requestThresholdTimeframe": 60,
                "currentTimeframeRequestCount": 2500,
            },
        ),
    )
    threshold = await client.threshold()
    assert (threshold.limit, threshold.timeframe_minutes, threshold.used) == (10000, 60, 2500)
    assert threshold.fraction_used == 0.25

    def version(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/ATServicesRest/VersionInformation"
        return json_response(200, {"apiVersions": ["1.0"]})

    api.routes[("GET", "/ATServicesRest/VersionInformation")] = version
    assert await client.version() == ["1.0"]


async def test_a_server_echoing_the_credentials_cannot_leak_them_into_errors(
    api: MockApi, client: AutotaskClient
) -> None:
    echo = json_response(500, {"errors": [f"Bad secret {SECRET} for code {CODE}"]})
    api.on("PATCH", "Tickets", echo)
    with pytest.raises(AutotaskError) as caught:
        await client.update("Tickets", 1, {"status": 5})
    for text in (str(caught.value), repr(caught.value), *getattr(caught.value, "messages", [])):
        assert SECRET not in text
        assert CODE not in text
