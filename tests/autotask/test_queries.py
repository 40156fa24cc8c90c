"""Query filters serialise to Autotask's wire form and never exceed 500 OR conditions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.autotask import (
    MAX_OR_CONDITIONS,
    Query,
    and_,
    begins_with,
    chunked_in,
    contains,
    eq,
    exist,
    gt,
    in_,
    not_exist,
    not_in,
    noteq,
    or_,
)


def test_conditions_serialise_with_op_field_and_value() -> None:
    assert eq("status", 1).to_wire() == {"op": "eq", "field": "status", "value": 1}
    assert noteq("title", "x").to_wire() == {"op": "noteq", "field": "title", "value": "x"}
    assert begins_with("title", "Pr").to_wire()["op"] == "beginsWith"
    assert contains("title", "printer").to_wire()["op"] == "contains"
    assert exist("dueDateTime").to_wire() == {"op": "exist", "field": "dueDateTime"}
    assert not_exist("dueDateTime").to_wire() == {"op": "notExist", "field": "dueDateTime"}
    assert eq("Region", "North", udf=True).to_wire()["udf"] is True


def test_booleans_stay_booleans_and_datetimes_become_iso_utc() -> None:
    assert eq("isActive", True).to_wire()["value"] is True
    when = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    assert gt("lastActivityDate", when).to_wire()["value"] == "2026-01-05T09:30:00Z"


def test_groups_nest_their_items() -> None:
    wire = and_(eq("status", 1), or_(eq("priority", 1), eq("priority", 2))).to_wire()
    assert wire == {
        "op": "and",
        "items": [
            {"op": "eq", "field": "status", "value": 1},
            {
                "op": "or",
                "items": [
                    {"op": "eq", "field": "priority", "value": 1},
                    {"op": "eq", "field": "priority", "value": 2},
                ],
            },
        ],
    }


def test_in_lists_serialise_as_value_arrays() -> None:
    assert in_("id", [3, 1, 2]).to_wire() == {"op": "in", "field": "id", "value": [3, 1, 2]}
    assert not_in("status", [5]).to_wire() == {"op": "notIn", "field": "status", "value": [5]}


def test_query_body_has_max_records_include_fields_and_filter() -> None:
    body = Query.of(eq("status", 1), include_fields=["id", "title"], max_records=50).to_wire()
    assert body == {
        "MaxRecords": 50,
        "IncludeFields": ["id", "title"],
        "Filter": [{"op": "eq", "field": "status", "value": 1}],
    }


def test_a_query_without_filter_asks_for_every_id() -> None:
    assert Query.of(None).to_wire()["Filter"] == [{"op": "gte", "field": "id", "value": 0}]
    assert Query.of([]).to_wire()["Filter"] == [{"op": "gte", "field": "id", "value": 0}]


@pytest.mark.parametrize("max_records", [0, 501])
def test_page_size_is_limited_to_1_to_500(max_records: int) -> None:
    with pytest.raises(ValueError, match="max_records"):
        Query.of(None, max_records=max_records)


def test_more_than_500_or_conditions_are_refused_before_sending() -> None:
    Query.of(in_("id", range(500)))
    Query.of([in_("id", range(500)), eq("status", 1)])
    with pytest.raises(ValueError, match="chunked_in"):
        Query.of(in_("id", range(501)))
    with pytest.raises(ValueError, match="chunked_in"):
        Query.of(or_(*(eq("id", i) for i in range(501))))
    with pytest.raises(ValueError, match="chunked_in"):
        Query.of(
            [in_("id", range(300)), or_(in_("status", range(150)), eq("x", 1), *[eq("y", 2)] * 50)]
        )


def test_only_one_udf_filter_per_query() -> None:
    with pytest.raises(ValueError, match="one user-defined"):
        Query.of([eq("A", 1, udf=True), and_(eq("B", 2, udf=True))])


def test_chunked_in_splits_ids_into_queries_of_at_most_500_distinct_values() -> None:
    ids = [*range(1, 1201), 5, 7]
    chunks = list(chunked_in("id", ids))
    assert [len(c.value) for c in chunks] == [500, 500, 200]  # type: ignore[arg-type]
    flattened = [v for c in chunks for v in c.value]  # type: ignore[union-attr]
    assert flattened == list(range(1, 1201))
    for chunk in chunks:
        Query.of(chunk)


def test_chunked_in_of_nothing_yields_no_query() -> None:
    assert list(chunked_in("id", [])) == []


@pytest.mark.parametrize("size", [0, MAX_OR_CONDITIONS + 1])
def test_chunked_in_refuses_chunk_sizes_the_server_would_refuse(size: int) -> None:
    with pytest.raises(ValueError):
        list(chunked_in("id", [1], size=size))
