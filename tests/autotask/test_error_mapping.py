"""Every HTTP answer and transport failure becomes the right typed error, with its context."""

from __future__ import annotations

import json

import httpx
import pytest

from agent.autotask import (
    AutotaskClient,
    ImpersonationRefusedError,
    InvalidIntegrationCodeError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    ThreadLimitedError,
    Ticket,
    UnknownUserError,
    ValidationError,
    WrongSecretError,
    ZoneMovedError,
)
from agent.autotask.convert import RequestContext, error_for_response, retry_after_seconds
from tests.autotask.mock_api import CODE, SECRET, MockApi, json_response, make_client

WRITE = RequestContext.for_call("PATCH", "Tickets", secrets=(SECRET, CODE))
READ = RequestContext.for_call("GET", "Tickets/{id}", secrets=(SECRET, CODE))


def errors_body(*messages: str) -> bytes:
    return json.dumps({"errors": list(messages)}).encode()


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, b"", WrongSecretError),
        (403, b"", PermissionDeniedError),
        (404, b"", NotFoundError),
        (400, errors_body("bad filter"), ValidationError),
        (405, b'{"Message": "does not support http method PATCH"}', ProtocolError),
        (414, b"", ProtocolError),
        (429, b"", RateLimitedError),
        (429, errors_body("Thread Threshold Exceeded"), ThreadLimitedError),
        (500, errors_body("IntegrationCode is invalid"), InvalidIntegrationCodeError),
        (500, errors_body("Zone information could not be determined"), UnknownUserError),
        (500, errors_body("Tenant 12 is not hosted in this zone"), ZoneMovedError),
        (500, errors_body("When assigning a Resource, you must assign both"), ValidationError),
        (500, b"", ServerError),
        (500, b"<html>oops</html>", ServerError),
        (500, b'{"errors": []}', ServerError),
        (500, errors_body("The server encountered an error processing the request."), ServerError),
        (500, errors_body("Timeout expired. The timeout period elapsed"), ServerError),
        (500, errors_body("The user name is not recognised as an API user."), UnknownUserError),
        (401, errors_body("Authorization has been denied for this request."), WrongSecretError),
        (502, b"", ServerError),
        (503, b"", ServerError),
        (504, b"", ServerError),
    ],
)
def test_each_answer_maps_to_its_error_type(status: int, body: bytes, expected: type) -> None:
    error = error_for_response(status, httpx.Headers(), body, READ)
    assert type(error) is expected
    assert error.status == status
    assert error.method == "GET"
    assert error.endpoint == "Tickets/{id}"
    assert error.is_write is False


def test_business_rule_500_carries_the_server_messages_and_says_nothing_was_written() -> None:
    body = errors_body("When assigning a Resource, you must assign both a assignedResourceID")
    error = error_for_response(500, httpx.Headers(), body, WRITE)
    assert isinstance(error, ValidationError)
    assert error.messages == [
        "When assigning a Resource, you must assign both a assignedResourceID"
    ]
    assert "assignedResourceID" in str(error)
    assert error.may_have_reached_server is False


@pytest.mark.parametrize(
    ("status", "unsure"), [(500, True), (502, True), (504, True), (503, False)]
)
def test_a_bare_server_error_on_a_write_leaves_the_outcome_unknown(
    status: int, unsure: bool
) -> None:
    error = error_for_response(status, httpx.Headers(), b"", WRITE)
    assert isinstance(error, ServerError)
    assert error.is_write is True
    assert error.may_have_reached_server is unsure


def test_a_server_error_on_a_read_never_claims_a_side_effect() -> None:
    error = error_for_response(502, httpx.Headers(), b"", READ)
    assert error.may_have_reached_server is False


def test_authentication_errors_have_three_distinct_actionable_messages() -> None:
    wrong_secret = error_for_response(401, httpx.Headers(), b"", READ)
    bad_code = error_for_response(
        500, httpx.Headers(), errors_body("IntegrationCode is invalid"), READ
    )
    unknown = error_for_response(
        500, httpx.Headers(), errors_body("Zone information could not be determined"), READ
    )
    texts = {str(wrong_secret), str(bad_code), str(unknown)}
    assert len(texts) == 3
    assert "secret" in str(wrong_secret)
    assert "integration code" in str(bad_code)
    assert "user name" in str(unknown)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({}, 60.0),
        ({"Retry-After": "17"}, 17.0),
        ({"Retry-After": "2.5"}, 2.5),
        ({"Retry-After": "soon"}, 60.0),
        ({"Retry-After": "-4"}, 60.0),
        (
            {
                "Retry-After": "Wed, 21 Oct 2026 07:28:30 GMT",
                "Date": "Wed, 21 Oct 2026 07:28:00 GMT",
            },
            30.0,
        ),
    ],
)
def test_quota_errors_read_retry_after_with_a_60_second_default(
    headers: dict[str, str], seconds: float
) -> None:
    error = error_for_response(429, httpx.Headers(headers), b"", READ)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == seconds
    assert retry_after_seconds(httpx.Headers(headers)) == seconds


def test_server_messages_echoing_credentials_are_scrubbed() -> None:
    body = errors_body(f"Secret {SECRET} with code {CODE} rejected by rule")
    error = error_for_response(500, httpx.Headers(), body, WRITE)
    assert isinstance(error, ValidationError)
    for text in (str(error), repr(error), *error.messages):
        assert SECRET not in text
        assert CODE not in text


# Through the client: transport failures --------------------------------------------------


def raising(exc: type[httpx.HTTPError]) -> MockApi:
    api = MockApi()

    def fail(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    api.on("GET", "Tickets/1", fail)
    api.on("PATCH", "Tickets", fail)
    return api


async def call_both(api: MockApi) -> tuple[Exception, Exception]:
    http, client = make_client(api)
    async with http:
        with pytest.raises(Exception) as read:
            await client.get("Tickets", 1)
        with pytest.raises(Exception) as write:
            await client.update("Tickets", 1, {"status": 5})
    return read.value, write.value


@pytest.mark.parametrize(
    ("exc", "phase", "write_reached"),
    [
        (httpx.ConnectTimeout, "connect", False),
        (httpx.PoolTimeout, "pool", False),
        (httpx.ReadTimeout, "read", True),
        (httpx.WriteTimeout, "write", True),
    ],
)
async def test_timeouts_name_their_phase_and_whether_a_write_may_have_landed(
    exc: type[httpx.HTTPError], phase: str, write_reached: bool
) -> None:
    read, write = await call_both(raising(exc))
    assert isinstance(read, RequestTimeoutError)
    assert isinstance(write, RequestTimeoutError)
    assert read.phase == write.phase == phase
    assert read.may_have_reached_server is False
    assert write.may_have_reached_server is write_reached
    assert write.is_write is True
    assert write.status is None


@pytest.mark.parametrize(
    ("exc", "phase", "write_reached"),
    [
        (httpx.ConnectError, "connect", False),
        (httpx.ReadError, "exchange", True),
        (httpx.WriteError, "exchange", True),
        (httpx.RemoteProtocolError, "exchange", True),
    ],
)
async def test_network_failures_say_whether_the_connection_was_made(
    exc: type[httpx.HTTPError], phase: str, write_reached: bool
) -> None:
    read, write = await call_both(raising(exc))
    assert isinstance(read, NetworkError)
    assert isinstance(write, NetworkError)
    assert read.phase == write.phase == phase
    assert read.may_have_reached_server is False
    assert write.may_have_reached_server is write_reached


async def test_an_unreadable_success_answer_to_a_write_may_have_landed(api: MockApi) -> None:
    api.on("PATCH", "Tickets", httpx.Response(200, content=b"{not json"))
    api.on("POST", "Tickets", json_response(200, {"weird": 1}))
    http, client = make_client(api)
    async with http:
        with pytest.raises(ProtocolError) as garbled:
            await client.update("Tickets", 1, {"status": 5})
        with pytest.raises(ProtocolError) as no_id:
            await client.create("Tickets", {"title": "x"})
    assert garbled.value.may_have_reached_server is True
    assert no_id.value.may_have_reached_server is True


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe\x00garbage",
        b'{"item": "\xc3\x28"}',
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 100 + b"1" + b"}" * 100,
        b'"just a string"',
        b'{"item": [1, 2]}',
        b'{"items": []}',
        b'{"item": {"id": "seven"}}',
        b'{"item": {"id": 1, "x": ' + b"[" * 600 + b"]" * 600 + b"}}",  # past the answer's cap
    ],
)
async def test_malformed_answers_become_protocol_errors_never_crashes(
    api: MockApi, client: AutotaskClient, body: bytes
) -> None:
    api.on("GET", "Tickets/1", httpx.Response(200, content=body))
    with pytest.raises(ProtocolError) as caught:
        await client.get(Ticket, 1)
    assert caught.value.may_have_reached_server is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"item": {"id": 1, "createDate": "yesterday"}}', "createDate"),
        (b'{"item": {"id": 1, "userDefinedFields": [{"value": 1}]}}', "userDefinedFields"),
        (b'{"item": {"id": 1, "estimatedHours": ' + b"9" * 5000 + b"}}", "estimatedHours"),
        (b'{"item": {"id": 1, "x": ' + b"[" * 200 + b"]" * 200 + b"}}", "x"),
    ],
)
async def test_a_record_with_an_unreadable_field_is_read_without_it(
    api: MockApi, client: AutotaskClient, body: bytes, field: str
) -> None:
    api.on("GET", "Tickets/1", httpx.Response(200, content=body))
    ticket = await client.get(Ticket, 1)
    assert ticket.id == 1 and field not in ticket.extra
    assert [(p.field, p.skipped) for p in client.screening.take()] == [(field, False)]


async def test_an_oversized_answer_is_cut_off_as_a_protocol_error(api: MockApi) -> None:
    chunk = b" " * 65536

    async def stream() -> object:
        for _ in range(64):
            yield chunk

    api.on(
        "GET",
        "Tickets/1",
        lambda _r: httpx.Response(200, content=stream()),  # type: ignore[arg-type]
    )
    http, client = make_client(api, max_response_bytes=1024 * 1024)
    async with http:
        with pytest.raises(ProtocolError, match="too large"):
            await client.get("Tickets", 1)


async def test_an_oversized_declared_length_is_refused_before_reading(api: MockApi) -> None:
    api.on("GET", "Tickets/1", httpx.Response(200, content=b"{}" * 600))
    http, client = make_client(api, max_response_bytes=1000)
    async with http:
        with pytest.raises(ProtocolError, match="too large"):
            await client.get("Tickets", 1)


async def test_item_null_is_not_found(api: MockApi, client: AutotaskClient) -> None:
    api.on("GET", "Tickets/9", json_response(200, {"item": None}))
    with pytest.raises(NotFoundError) as caught:
        await client.get("Tickets", 9)
    assert caught.value.status == 200
    assert caught.value.endpoint == "Tickets/{id}"


@pytest.mark.parametrize(
    ("status", "message", "endpoint", "entity"),
    [
        (
            500,
            "Impersonation is not allowed for TicketNotes: the security level does not permit "
            "resource 29682887 to be impersonated when adding or editing TicketNotes.",
            "Tickets/{parentId}/Notes",
            "TicketNotes",
        ),
        (
            403,
            "Resource impersonation is not permitted.",
            "Tickets/{parentId}/Notes",
            "TicketNotes",
        ),
        (500, "Impersonation not allowed", "TimeEntries", "TimeEntries"),
    ],
)
def test_a_refused_impersonation_names_the_entity_and_says_nothing_was_written(
    status: int, message: str, endpoint: str, entity: str
) -> None:
    ctx = RequestContext.for_call("POST", endpoint, secrets=(SECRET, CODE))
    error = error_for_response(status, httpx.Headers(), errors_body(message), ctx)
    assert isinstance(error, ImpersonationRefusedError)
    assert isinstance(error, PermissionDeniedError)
    assert error.entity == entity
    assert entity in str(error) and "impersonation" in str(error)
    assert error.may_have_reached_server is False


def test_the_inactive_impersonated_resource_is_a_business_rule_not_a_refusal() -> None:
    body = errors_body("The impersonated resource does not exist or is inactive.")
    error = error_for_response(500, httpx.Headers(), body, WRITE)
    assert type(error) is ValidationError
