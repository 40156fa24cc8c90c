"""Whatever a server answers with 200 (huge, deeply nested, wrongly typed, missing fields, not
UTF-8), every client call either returns typed data or raises `ProtocolError`: never a crash."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.autotask import (
    AutotaskClient,
    AutotaskError,
    ClientOptions,
    NotFoundError,
    ProtocolError,
    Zone,
)
from agent.autotask.entities import Ticket, TicketNote, TimeEntry
from agent.autotask.queries import eq
from tests.autotask.mock_api import CREDENTIALS

ZONE = Zone("Zone 5", "https://webservices5.autotask.net/ATServicesRest/", "", 5)
MAX_BYTES = 64 * 1024

keys = st.sampled_from(
    [
        "items",
        "item",
        "pageDetails",
        "nextPageUrl",
        "prevPageUrl",
        "count",
        "id",
        "itemId",
        "queryCount",
        "title",
        "status",
        "ticketID",
        "hoursWorked",
        "dateWorked",
        "lastActivityDate",
        "userDefinedFields",
        "fields",
        "picklistValues",
        "isPickList",
        "name",
        "value",
        "currentTimeframeRequestCount",
        "externalRequestThreshold",
        "requestThresholdTimeframe",
        "apiVersions",
        "errors",
    ]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["2026-01-05T09:00:00Z", "not a date", "12", "https://evil.test/next"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=6) | st.dictionaries(keys | st.text(max_size=6), inner, max_size=6)
    ),
    max_leaves=40,
)


def _nested(depth: int) -> bytes:
    return b'{"items":' + b"[" * depth + b"]" * depth + b"}"


bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),  # mostly not JSON, often not UTF-8
    st.integers(50, 20_000).map(_nested),
    st.integers(1, 40).map(
        lambda n: json.dumps({"items": [{"id": i, "title": "x" * 2000} for i in range(n)]}).encode()
    ),  # beyond the 64 KiB cap for the larger n
    st.sampled_from(
        [
            b'{"items": [{"id": "1"}], "pageDetails": {"nextPageUrl": 5}}',
            b'{"items": "none"}',
            b'{"item": null}',
            b'{"item": {"id": true}}',
            b'{"itemId": "abc"}',
            b'{"queryCount": 1.5}',
            b'\xff\xfe{"items": []}',
            b'{"items": [{"id": 1, "title": "\\ud800"}]}',
            b"",
            b"null",
        ]
    ),
)

Call = Callable[[AutotaskClient], Awaitable[Any]]


async def _drain(it: Any) -> list[Any]:
    return [x async for x in it]


CALLS: list[tuple[str, Call]] = [
    ("query raw", lambda c: _drain(c.query("Tickets", eq("status", 1)))),
    ("query typed", lambda c: _drain(c.query(Ticket, eq("status", 1)))),
    ("query notes", lambda c: _drain(c.query(TicketNote, eq("ticketID", 1)))),
    ("pages by id", lambda c: _drain(c.query_by_id_pages(TimeEntry, eq("ticketID", 1)))),
    ("get", lambda c: c.get(Ticket, 1)),
    ("count", lambda c: c.count("Tickets", eq("status", 1))),
    ("create", lambda c: c.create(TicketNote, {"ticketID": 1, "description": "d"}, parent_id=1)),
    ("update", lambda c: c.update(Ticket, 1, {"title": "t"})),
    ("threshold", lambda c: c.threshold()),
    ("field info", lambda c: c.field_info("Tickets")),
    ("version", lambda c: c.version()),
]


def _run(body: bytes, call: Call) -> Any:
    calls = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls > 50:  # a client that kept following pages forever would be the bug
            raise AssertionError("the client did not stop asking")
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            options = ClientOptions(max_response_bytes=MAX_BYTES, deadline=10)
            client = AutotaskClient(http, CREDENTIALS, options=options, zone=ZONE)
            return await call(client)

    return asyncio.run(go())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies, st.sampled_from(CALLS))
def test_any_answer_ends_in_data_or_a_protocol_error(body: bytes, named: tuple[str, Call]) -> None:
    name, call = named
    refused: AutotaskError | None = None
    try:
        _run(body, call)
    except (ProtocolError, NotFoundError) as exc:
        refused = exc
    if isinstance(refused, NotFoundError):
        # Autotask's documented answer for a missing record is 200 with {"item": null}.
        assert name == "get" and json.loads(body)["item"] is None
    elif refused is not None:
        assert str(refused)  # a message a technician can read


def test_a_null_item_is_not_found_not_a_crash() -> None:
    with pytest.raises(NotFoundError):
        _run(b'{"item": null}', CALLS[4][1])


def test_a_deeply_nested_answer_is_a_protocol_error() -> None:
    body = b"[" * 30_000 + b"]" * 30_000
    for _, call in CALLS[:5]:
        with pytest.raises(ProtocolError):
            _run(body, call)


def test_a_query_record_nested_too_deeply_is_left_out_not_the_answer() -> None:
    body = b'{"items":' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    for _, call in CALLS[:4]:  # the queries: read record by record, that one skipped
        assert _run(body, call) in ([], [[]])  # no record (pages by id: one empty page)
    with pytest.raises(ProtocolError):
        _run(body, CALLS[4][1])  # a single record's answer has no other record to keep


def test_an_answer_over_the_size_cap_is_a_protocol_error() -> None:
    body = json.dumps({"items": [{"id": i, "title": "y" * 500} for i in range(500)]}).encode()
    assert len(body) > MAX_BYTES
    with pytest.raises(ProtocolError, match="too large"):
        _run(body, CALLS[0][1])


def test_invalid_utf8_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="not valid JSON"):
        _run(b'{"item": {"id": 1, "title": "caf\xe9"}}', CALLS[4][1])


def test_a_query_record_with_invalid_utf8_is_left_out_not_the_answer() -> None:
    body = b'{"items": [{"id": 1, "title": "caf\xe9"}, {"id": 2, "title": "ok"}]}'
    assert [r["id"] for r in _run(body, CALLS[0][1])] == [2]
