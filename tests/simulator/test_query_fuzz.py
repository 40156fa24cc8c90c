"""The query parser only ever raises `QueryError`, whatever JSON it is given."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.clock import FakeClock
from agent.simulator import QueryError
from agent.simulator.query import parse_query
from agent.simulator.schema import entity
from agent.simulator.seed import build_tenant

TICKETS, TIME_ENTRIES = entity("Tickets"), entity("TimeEntries")

TENANT = build_tenant("fuzz", 30, FakeClock())
RECORDS = list(TENANT.records["Tickets"].values())
UDFS = TENANT.udf_names("Tickets")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["2026-01-05T09:00:00Z", "1", "true", "Yes", "-3.5"]),
)
fields = st.sampled_from(
    [
        "id",
        "status",
        "title",
        "dueDateTime",
        "estimatedHours",
        "Site Visit Required",
        "nope",
        "creatorType",
        "isNonBillable",
    ]
)
ops = st.sampled_from(
    [
        "eq",
        "noteq",
        "gt",
        "gte",
        "lt",
        "lte",
        "beginsWith",
        "endsWith",
        "contains",
        "exist",
        "notExist",
        "in",
        "notIn",
        "and",
        "or",
        "xor",
    ]
)


def filter_items(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(
        {"op": ops},
        optional={
            "field": fields,
            "value": st.one_of(scalars, st.lists(scalars, max_size=4)),
            "udf": st.one_of(st.booleans(), st.none(), st.integers()),
            "items": st.lists(children, max_size=3),
        },
    )


filters = st.recursive(st.one_of(scalars, filter_items(scalars)), filter_items, max_leaves=12)
queries = st.one_of(
    st.fixed_dictionaries(
        {"Filter": st.lists(filters, max_size=4)},
        optional={
            "MaxRecords": st.one_of(st.integers(-5, 600), scalars),
            "IncludeFields": st.one_of(st.lists(st.one_of(fields, scalars), max_size=3), scalars),
        },
    ),
    scalars,
    st.lists(scalars),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries)
def test_parser_raises_only_query_errors_and_predicates_never_raise(raw: Any) -> None:
    for spec in (TICKETS, TIME_ENTRIES):
        try:
            query = parse_query(spec, UDFS, raw)
        except QueryError as exc:
            message = exc.message
            assert isinstance(message, str) and message
            continue
        assert 1 <= query.max_records <= 500
        for record in RECORDS:
            assert query.predicate(record) in (True, False)


def test_deep_nesting_is_refused_not_a_recursion_crash() -> None:
    node: Any = {"op": "eq", "field": "id", "value": 1}
    for _ in range(5000):
        node = {"op": "and", "items": [node]}
    with pytest.raises(QueryError, match="nested"):
        parse_query(TICKETS, UDFS, {"filter": [node]})
