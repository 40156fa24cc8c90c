"""Building Autotask query filters (`eq("status", 1)`, `or_(...)`, `in_("id", ids)`) and bodies.

A query may hold at most 500 OR conditions, and each value of an `in` list counts as one, so
`chunked_in` splits a long id list into filters the server accepts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.autotask.wire import JsonObject, format_datetime

MAX_RECORDS = 500
MAX_OR_CONDITIONS = 500

FilterValue = int | float | str | bool | datetime | None


def _wire_value(value: FilterValue) -> Any:
    return format_datetime(value) if isinstance(value, datetime) else value


@dataclass(frozen=True)
class Condition:
    """One comparison, e.g. `status eq 5`; `udf` marks a user-defined field."""

    op: str
    field: str
    value: FilterValue | tuple[FilterValue, ...] = None
    udf: bool = False

    def to_wire(self) -> JsonObject:
        item: JsonObject = {"op": self.op, "field": self.field}
        if isinstance(self.value, tuple):
            item["value"] = [_wire_value(v) for v in self.value]
        elif self.op not in ("exist", "notExist"):
            item["value"] = _wire_value(self.value)
        if self.udf:
            item["udf"] = True
        return item

    @property
    def or_weight(self) -> int:
        """How many OR conditions this adds: one per value of an `in` list, else none."""
        return len(self.value) if isinstance(self.value, tuple) else 0


@dataclass(frozen=True)
class Group:
    """`and` or `or` over nested items."""

    op: str
    items: tuple[FilterItem, ...]

    def to_wire(self) -> JsonObject:
        return {"op": self.op, "items": [item.to_wire() for item in self.items]}

    @property
    def or_weight(self) -> int:
        """Each branch of an `or` is at least one OR condition; `and` only adds up its parts."""
        if self.op == "or":
            return sum(max(1, item.or_weight) for item in self.items)
        return sum(item.or_weight for item in self.items)


FilterItem = Condition | Group


def eq(field: str, value: FilterValue, *, udf: bool = False) -> Condition:
    return Condition("eq", field, value, udf)


def noteq(field: str, value: FilterValue, *, udf: bool = False) -> Condition:
    return Condition("noteq", field, value, udf)


def gt(field: str, value: FilterValue, *, udf: bool = False) -> Condition:
    return Condition("gt", field, value, udf)


def gte(field: str, value: FilterValue, *, udf: bool = False) -> Condition:
    return Condition("gte", field, value, udf)


def lt(field: str, value: FilterValue, *, udf: bool = False) -> Condition:
    return Condition("lt", field, value, udf)


def lte(field: str, value: FilterValue, *, udf: bool = False) -> Condition:
    return Condition("lte", field, value, udf)


def begins_with(field: str, value: str, *, udf: bool = False) -> Condition:
    return Condition("beginsWith", field, value, udf)


def ends_with(field: str, value: str, *, udf: bool = False) -> Condition:
    return Condition("endsWith", field, value, udf)


def contains(field: str, value: str, *, udf: bool = False) -> Condition:
    return Condition("contains", field, value, udf)


def exist(field: str, *, udf: bool = False) -> Condition:
    return Condition("exist", field, None, udf)


def not_exist(field: str, *, udf: bool = False) -> Condition:
    return Condition("notExist", field, None, udf)


def in_(field: str, values: Iterable[FilterValue], *, udf: bool = False) -> Condition:
    return Condition("in", field, tuple(values), udf)


def not_in(field: str, values: Iterable[FilterValue], *, udf: bool = False) -> Condition:
    return Condition("notIn", field, tuple(values), udf)


def and_(*items: FilterItem) -> Group:
    return Group("and", items)


def or_(*items: FilterItem) -> Group:
    return Group("or", items)


def chunked_in(
    field: str, values: Iterable[FilterValue], size: int = MAX_OR_CONDITIONS
) -> Iterator[Condition]:
    """`in` filters of at most `size` distinct values each, in first-seen order."""
    if not 1 <= size <= MAX_OR_CONDITIONS:
        raise ValueError(f"an in-list chunk holds 1 to {MAX_OR_CONDITIONS} values")
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), size):
        yield in_(field, unique[start : start + size])


def everything() -> Condition:
    """The filter for "all records": Autotask refuses a query without any filter item."""
    return gte("id", 0)


@dataclass(frozen=True)
class Query:
    """A query body; the top-level filter items are joined with AND."""

    filter: tuple[FilterItem, ...]
    include_fields: tuple[str, ...] | None = None
    max_records: int = MAX_RECORDS

    def __post_init__(self) -> None:
        if not 1 <= self.max_records <= MAX_RECORDS:
            raise ValueError(f"max_records must be between 1 and {MAX_RECORDS}")
        weight = sum(item.or_weight for item in self.filter)
        if weight > MAX_OR_CONDITIONS:
            raise ValueError(
                f"a query may hold at most {MAX_OR_CONDITIONS} conditions, this one has {weight};"
                " split it with chunked_in"
            )
        if sum(1 for c in _conditions(self.filter) if c.udf) > 1:
            raise ValueError("Autotask allows one user-defined-field filter per query")

    @classmethod
    def of(
        cls,
        filter: FilterItem | Sequence[FilterItem] | None,
        include_fields: Iterable[str] | None = None,
        max_records: int = MAX_RECORDS,
    ) -> Query:
        items: tuple[FilterItem, ...]
        if filter is None:
            items = (everything(),)
        elif isinstance(filter, Condition | Group):
            items = (filter,)
        else:
            items = tuple(filter) or (everything(),)
        fields = tuple(include_fields) if include_fields is not None else None
        return cls(items, fields, max_records)

    def with_filter(self, *extra: FilterItem) -> Query:
        return Query((*self.filter, *extra), self.include_fields, self.max_records)

    def to_wire(self) -> JsonObject:
        body: JsonObject = {"MaxRecords": self.max_records}
        if self.include_fields:
            body["IncludeFields"] = list(self.include_fields)
        body["Filter"] = [item.to_wire() for item in self.filter]
        return body


def _conditions(items: Iterable[FilterItem]) -> Iterator[Condition]:
    for item in items:
        if isinstance(item, Group):
            yield from _conditions(item.items)
        else:
            yield item
