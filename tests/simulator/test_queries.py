"""The query language over the wire: operators, nesting, UDFs, paging, counts and its errors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from agent.simulator import Simulator
from tests.simulator.conftest import own_ticket_ids

Filter = list[dict[str, Any]]


async def ids(api: httpx.AsyncClient, entity: str, filters: Filter, **extra: Any) -> list[int]:
    r = await api.post(f"{entity}/query", json={"Filter": filters, **extra})
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


def expected(sim: Simulator, entity: str, keep: Any) -> list[int]:
    return [i for i, rec in sim.tenant.records[entity].items() if keep(rec)][:500]


@pytest.mark.parametrize(
    ("op", "value", "keep"),
    [
        ("eq", 2, lambda v: v == 2),
        ("noteq", 2, lambda v: v is not None and v != 2),
        ("gt", 2, lambda v: v is not None and v > 2),
        ("gte", 2, lambda v: v is not None and v >= 2),
        ("lt", 2, lambda v: v is not None and v < 2),
        ("lte", 2, lambda v: v is not None and v <= 2),
        ("in", [1, 3], lambda v: v in (1, 3)),
        ("notIn", [1, 3], lambda v: v is not None and v not in (1, 3)),
    ],
)
async def test_comparison_operators_on_numbers(
    api: httpx.AsyncClient, sim: Simulator, op: str, value: Any, keep: Any
) -> None:
    got = await ids(api, "Tickets", [{"op": op, "field": "priority", "value": value}])
    assert got == expected(sim, "Tickets", lambda t: keep(t["priority"]))
    assert got  # the seed data has tickets on both sides of every comparison


@pytest.mark.parametrize(
    ("op", "value", "keep"),
    [
        ("beginsWith", "printer", lambda t: t.lower().startswith("printer")),
        ("endsWith", "WAREHOUSE", lambda t: t.lower().endswith("warehouse")),
        ("contains", "disk", lambda t: "disk" in t.lower()),
        (
            "eq",
            "WI-FI DEAD ZONE - upstairs office",
            lambda t: t == "Wi-Fi dead zone - upstairs office",
        ),
    ],
)
async def test_text_operators_ignore_case(
    api: httpx.AsyncClient, sim: Simulator, op: str, value: str, keep: Any
) -> None:
    got = await ids(api, "Tickets", [{"op": op, "field": "title", "value": value}])
    assert got == expected(sim, "Tickets", lambda t: keep(t["title"]))
    assert got


async def test_exist_and_not_exist(api: httpx.AsyncClient, sim: Simulator) -> None:
    assigned = await ids(api, "Tickets", [{"op": "exist", "field": "assignedResourceID"}])
    unassigned = await ids(api, "Tickets", [{"op": "notExist", "field": "assignedResourceID"}])
    assert assigned == expected(sim, "Tickets", lambda t: t["assignedResourceID"] is not None)
    assert unassigned == expected(sim, "Tickets", lambda t: t["assignedResourceID"] is None)
    assert assigned and unassigned


async def test_dates_compare_chronologically(api: httpx.AsyncClient, sim: Simulator) -> None:
    tickets = list(sim.tenant.records["Tickets"].values())
    pivot = sorted(t["lastTrackedModificationDateTime"] for t in tickets)[len(tickets) // 2]
    got = await ids(
        api, "Tickets", [{"op": "gt", "field": "LastTrackedModificationDateTime", "value": pivot}]
    )
    assert got == expected(sim, "Tickets", lambda t: t["lastTrackedModificationDateTime"] > pivot)
    no_millis = pivot[:19] + "+00:00"  # another ISO spelling of the same instant
    same = await ids(
        api,
        "Tickets",
        [{"op": "gt", "field": "lastTrackedModificationDateTime", "value": no_millis}],
    )
    assert same == got


async def test_and_or_nesting(api: httpx.AsyncClient, sim: Simulator) -> None:
    tech = sim.technician_resource_id
    filters = [
        {
            "op": "or",
            "items": [
                {
                    "op": "and",
                    "items": [
                        {"op": "eq", "field": "assignedResourceID", "value": tech},
                        {"op": "noteq", "field": "status", "value": 5},
                    ],
                },
                {"op": "eq", "field": "priority", "value": 4},
            ],
        },
        {"op": "gt", "field": "id", "value": 0},
    ]
    got = await ids(api, "Tickets", filters)
    assert got == expected(
        sim,
        "Tickets",
        lambda t: (t["assignedResourceID"] == tech and t["status"] != 5) or t["priority"] == 4,
    )


async def test_query_keys_and_operators_ignore_case(api: httpx.AsyncClient, sim: Simulator) -> None:
    r = await api.post(
        "Tickets/query",
        json={
            "maxrecords": 5,
            "FILTER": [
                {"OP": "EQ", "Field": "ASSIGNEDRESOURCEID", "Value": sim.technician_resource_id}
            ],
        },
    )
    assert [t["id"] for t in r.json()["items"]] == own_ticket_ids(sim)[:5]


async def test_udf_filter(api: httpx.AsyncClient, sim: Simulator) -> None:
    got = await ids(
        api, "Tickets", [{"op": "eq", "field": "Site Visit Required", "value": "1", "udf": True}]
    )

    def visit(t: dict[str, Any]) -> bool:
        return any(
            u["name"] == "Site Visit Required" and u["value"] == "1" for u in t["userDefinedFields"]
        )

    assert got == expected(sim, "Tickets", visit)
    assert got


async def test_second_udf_filter_is_refused(api: httpx.AsyncClient) -> None:
    r = await api.post(
        "Tickets/query",
        json={
            "Filter": [
                {"op": "exist", "field": "Asset Tag", "udf": True},
                {"op": "exist", "field": "Customer Reference", "udf": True},
            ]
        },
    )
    assert r.status_code == 500
    assert "one user-defined field" in r.json()["errors"][0]


async def test_include_fields_trims_items(api: httpx.AsyncClient, sim: Simulator) -> None:
    r = await api.post(
        "Tickets/query",
        json={
            "IncludeFields": ["Title", "status"],
            "MaxRecords": 2,
            "Filter": [{"op": "gte", "field": "id", "value": 0}],
        },
    )
    items = r.json()["items"]
    assert len(items) == 2
    assert set(items[0]) == {"id", "title", "status", "userDefinedFields"}


async def test_get_query_with_search_parameter(api: httpx.AsyncClient, sim: Simulator) -> None:
    search = json.dumps({"filter": [{"op": "beginsWith", "field": "companyName", "value": "n"}]})
    r = await api.get("Companies/query", params={"search": search})
    assert r.status_code == 200
    got = [c["id"] for c in r.json()["items"]]
    assert got == expected(sim, "Companies", lambda c: c["companyName"].startswith("N"))
    assert got


async def walk(api: httpx.AsyncClient, method: str, body: dict[str, Any]) -> list[int]:
    if method == "GET":
        r = await api.get("Tickets/query", params={"search": json.dumps(body)})
    else:
        r = await api.post("Tickets/query", json=body)
    seen = [t["id"] for t in r.json()["items"]]
    pages = 1
    while (next_url := r.json()["pageDetails"]["nextPageUrl"]) is not None:
        assert "/query/next?paging=" in next_url
        r = await (api.get(next_url) if method == "GET" else api.post(next_url, json=body))
        assert r.status_code == 200, r.text
        assert r.json()["pageDetails"]["prevPageUrl"] is not None
        seen += [t["id"] for t in r.json()["items"]]
        pages += 1
    assert pages > 2
    return seen


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_next_page_urls_walk_every_record_once(
    api: httpx.AsyncClient, sim: Simulator, method: str
) -> None:
    body = {"MaxRecords": 30, "Filter": [{"op": "noteq", "field": "status", "value": 5}]}
    seen = await walk(api, method, body)
    assert seen == [i for i, t in sim.tenant.records["Tickets"].items() if t["status"] != 5]


async def test_get_on_next_page_of_post_query_answers_405(api: httpx.AsyncClient) -> None:
    body = {"MaxRecords": 10, "Filter": [{"op": "gt", "field": "id", "value": 0}]}
    r = await api.post("Tickets/query", json=body)
    next_url = r.json()["pageDetails"]["nextPageUrl"]
    assert (await api.get(next_url)).status_code == 405
    other = {"MaxRecords": 10, "Filter": [{"op": "gt", "field": "id", "value": 1}]}
    assert (await api.post(next_url, json=other)).status_code == 500


async def test_results_are_sorted_by_id_and_capped_at_500(
    api: httpx.AsyncClient, fake_clock: Any
) -> None:
    big = Simulator(tickets=700, clock=fake_clock)
    transport = httpx.ASGITransport(app=big.app)
    async with httpx.AsyncClient(
        transport=transport, base_url=api.base_url, headers=api.headers
    ) as client:
        r = await client.post("Tickets/query", json={"Filter": [{"op": "exist", "field": "id"}]})
    got = [t["id"] for t in r.json()["items"]]
    assert len(got) == 500 and got == sorted(got)
    assert r.json()["pageDetails"]["requestCount"] == 500


async def test_count(api: httpx.AsyncClient, sim: Simulator) -> None:
    body = {
        "filter": [{"op": "eq", "field": "assignedResourceID", "value": sim.technician_resource_id}]
    }
    r = await api.post("Tickets/query/count", json=body)
    assert r.json() == {"queryCount": len(own_ticket_ids(sim))}
    r = await api.get("Tickets/query/count", params={"search": json.dumps(body)})
    assert r.json() == {"queryCount": len(own_ticket_ids(sim))}


async def test_more_than_500_or_conditions_is_invalid_syntax(api: httpx.AsyncClient) -> None:
    ok = [{"op": "in", "field": "id", "value": list(range(500))}]
    assert (await api.post("Tickets/query", json={"Filter": ok})).status_code == 200
    too_many = [{"op": "in", "field": "id", "value": list(range(501))}]
    r = await api.post("Tickets/query", json={"Filter": too_many})
    assert r.status_code == 500
    assert "Invalid query syntax" in r.json()["errors"][0]
    ors = [{"op": "or", "items": [{"op": "eq", "field": "id", "value": i} for i in range(501)]}]
    assert (await api.post("Tickets/query", json={"Filter": ors})).status_code == 500


async def test_unknown_field_names_the_field_and_entity(api: httpx.AsyncClient) -> None:
    r = await api.post(
        "Tickets/query", json={"Filter": [{"op": "eq", "field": "colour", "value": 1}]}
    )
    assert r.status_code == 500
    assert r.json() == {"errors": ["Unable to find colour in the Ticket Entity."]}


@pytest.mark.parametrize(
    "filters",
    [
        [{"op": "eq", "field": "isNonBillable", "value": None}],
        [{"op": "eq", "field": "isNonBillable", "value": 0.5}],
        [{"op": "eq", "field": "hoursWorked", "value": "lots"}],
        [{"op": "gt", "field": "dateWorked", "value": "yesterday"}],
        [{"op": "in", "field": "id", "value": 3}],
        [{"op": "between", "field": "id", "value": 3}],
        [{"op": "contains", "field": "roleID", "value": "3"}],
        [{"op": "eq", "field": "id", "value": 1, "udf": None}],
        [],
    ],
)
async def test_bad_values_answer_500_with_a_message(
    api: httpx.AsyncClient, filters: Filter
) -> None:
    r = await api.post("TimeEntries/query", json={"Filter": filters})
    assert r.status_code == 500
    assert r.json()["errors"][0]


@pytest.mark.parametrize("max_records", [0, 501, "10", True])
async def test_max_records_must_be_1_to_500(api: httpx.AsyncClient, max_records: Any) -> None:
    r = await api.post(
        "Tickets/query",
        json={"MaxRecords": max_records, "Filter": [{"op": "exist", "field": "id"}]},
    )
    assert r.status_code == 500


async def test_not_queryable_field_is_refused(api: httpx.AsyncClient) -> None:
    r = await api.post(
        "Tickets/query", json={"Filter": [{"op": "eq", "field": "creatorType", "value": 1}]}
    )
    assert r.status_code == 500
