"""The simulator's query endpoints over HTTP: any search text or body gets an answer (records or
the API's query error), never an unhandled exception or a hang."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.clock import FakeClock
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator

SIM = Simulator(seed="fuzz-http", tickets=20, clock=FakeClock())
SIM.limits.latency_enabled = False
ZONE = f"http://sim.test/zone{SIM.zone}/ATServicesRest/V1.0/"
HEADERS = {
    "UserName": DEMO_USERNAME,
    "Secret": DEMO_SECRET,
    "ApiIntegrationCode": DEMO_INTEGRATION_CODE,
}

leaf_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64),
    st.floats(),
    st.text(max_size=30),
)
filters = st.recursive(
    st.fixed_dictionaries(
        {"op": st.sampled_from(["eq", "noteq", "gt", "in", "contains", "exist", "and", "or", "?"])},
        optional={
            "field": st.sampled_from(["id", "status", "title", "nope", "Site Visit Required"]),
            "value": leaf_values | st.lists(leaf_values, max_size=3),
            "udf": leaf_values,
        },
    ),
    lambda inner: st.fixed_dictionaries(
        {"op": st.sampled_from(["and", "or"]), "items": st.lists(inner, max_size=3)}
    ),
    max_leaves=10,
)
bodies = st.one_of(
    st.fixed_dictionaries(
        {"filter": st.lists(filters, max_size=3)},
        optional={"MaxRecords": leaf_values, "IncludeFields": st.lists(leaf_values, max_size=3)},
    ),
    st.recursive(
        leaf_values,
        lambda i: st.lists(i, max_size=3) | st.dictionaries(st.text(max_size=5), i, max_size=3),
    ),
)
search_texts = st.one_of(bodies.map(json.dumps), st.text(max_size=80))


def _ask(method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=SIM.app)  # app errors would raise here
        async with httpx.AsyncClient(transport=transport, headers=HEADERS) as http:
            return await asyncio.wait_for(http.request(method, ZONE + path, **kwargs), 10)

    return asyncio.run(go())


def _check(response: httpx.Response) -> None:
    assert response.status_code in (200, 400, 404, 500), response.status_code
    payload = response.json()
    if response.status_code == 200:
        assert "items" in payload or "queryCount" in payload
    else:
        assert payload.get("errors"), payload


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(search_texts, st.sampled_from(["Tickets/query", "Tickets/query/count", "TimeEntries/query"]))
def test_any_search_parameter_gets_records_or_a_query_error(search: str, path: str) -> None:
    _check(_ask("GET", path, params={"search": search}))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(bodies.map(lambda b: json.dumps(b).encode()), st.binary(max_size=60)))
def test_any_posted_query_body_gets_records_or_a_query_error(body: bytes) -> None:
    _check(
        _ask("POST", "Tickets/query", content=body, headers={"content-type": "application/json"})
    )


def test_a_search_nested_beyond_reason_is_a_query_error() -> None:
    deep = '{"filter":[' + '{"op":"and","items":[' * 3000 + "]}" * 3000 + "]}"
    response = _ask("GET", "Tickets/query", params={"search": deep[:1900]})
    _check(response)
    response = _ask("POST", "Tickets/query", content=deep.encode())
    assert response.status_code == 500 and response.json()["errors"]
