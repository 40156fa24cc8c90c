"""The query language of `/query`: parse a JSON query into a predicate over stored records.

Everything a client sends ends in either a `Query` or a `QueryError`; no other exception escapes
`parse_query` (it is fuzzed), because the server turns a `QueryError` into the API's 500 answer.
Hand-written because the Autotask filter dialect (case-insensitive keys, `udf`, OR-condition
counting) matches no query library.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agent.simulator.schema import EntitySpec, FieldSpec
from agent.simulator.values import ValueProblem, coerce

Record = dict[str, Any]
Predicate = Callable[[Record], bool]

MAX_RECORDS = 500
MAX_OR_CONDITIONS = 500
MAX_DEPTH = 16
COMPARISONS = ("eq", "noteq", "gt", "gte", "lt", "lte")
STRING_MATCHES = ("beginswith", "endswith", "contains")
PRESENCE = ("exist", "notexist")
LISTS = ("in", "notin")
GROUPS = ("and", "or")


class QueryError(Exception):
    """A query the API refuses; `message` is what the server puts in `errors`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: how many records, which fields, which records, and a paging digest."""

    max_records: int
    include_fields: tuple[str, ...] | None
    predicate: Predicate
    digest: str


def decode_search(text: str) -> Any:
    """The JSON of a `?search=` parameter."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise QueryError("Invalid query syntax: the search parameter is not valid JSON.") from exc


def _lower_keys(raw: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in raw.items()}


def _digest(raw: Any) -> str:
    try:
        return json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    except (ValueError, TypeError, RecursionError):
        return repr(raw)


def parse_query(spec: EntitySpec, udfs: Mapping[str, str], raw: Any) -> Query:
    """Parse a query body; `udfs` maps lower-cased UDF names to their display names."""
    if not isinstance(raw, dict):
        raise QueryError("Invalid query syntax: the query must be a JSON object.")
    body = _lower_keys(raw)
    max_records = _max_records(body.get("maxrecords"))
    include = _include_fields(spec, body.get("includefields"))
    filters = body.get("filter")
    if not isinstance(filters, list) or not filters:
        raise QueryError("Invalid query syntax: a query needs at least one filter.")
    state = _ParseState(spec, udfs)
    predicate = state.group("and", filters, depth=0, in_or=False)
    if state.or_conditions > MAX_OR_CONDITIONS:
        raise QueryError(
            f"Invalid query syntax: a query may hold at most {MAX_OR_CONDITIONS} OR conditions."
        )
    return Query(max_records, include, predicate, _digest(body.get("filter")))


def _max_records(value: Any) -> int:
    if value is None:
        return MAX_RECORDS
    if isinstance(value, bool) or not isinstance(value, int):
        raise QueryError("MaxRecords must be an integer between 1 and 500.")
    if not 1 <= value <= MAX_RECORDS:
        raise QueryError("MaxRecords must be an integer between 1 and 500.")
    return value


def _include_fields(spec: EntitySpec, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise QueryError("IncludeFields must be a list of field names.")
    names: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise QueryError("IncludeFields must be a list of field names.")
        found = spec.field(item)
        if found is None:
            raise QueryError(f"Unable to find {item} in the {spec.type_name} Entity.")
        names.append(found.name)
    if not names:
        return None
    if "id" not in names:
        names.insert(0, "id")
    return tuple(names)


class _ParseState:
    """Walks the filter tree once, counting OR conditions and UDF filters as it goes."""

    def __init__(self, spec: EntitySpec, udfs: Mapping[str, str]) -> None:
        self.spec = spec
        self.udfs = udfs
        self.or_conditions = 0
        self.udf_filters = 0

    def group(self, op: str, items: Any, depth: int, in_or: bool) -> Predicate:
        if depth > MAX_DEPTH:
            raise QueryError("Invalid query syntax: filters are nested too deeply.")
        if not isinstance(items, list) or not items:
            raise QueryError(f"Invalid query syntax: '{op}' needs a non-empty list of items.")
        parts = [self.item(item, depth + 1, in_or or op == "or") for item in items]
        if op == "or":
            return lambda record: any(p(record) for p in parts)
        if len(parts) == 1:
            return parts[0]
        return lambda record: all(p(record) for p in parts)

    def item(self, raw: Any, depth: int, in_or: bool) -> Predicate:
        if not isinstance(raw, dict):
            raise QueryError("Invalid query syntax: each filter must be a JSON object.")
        item = _lower_keys(raw)
        op = item.get("op")
        if not isinstance(op, str):
            raise QueryError("Invalid query syntax: a filter needs an 'op'.")
        op = op.lower()
        if op in GROUPS:
            return self.group(op, item.get("items"), depth, in_or)
        if in_or:
            self.or_conditions += 1
        return self.condition(op, item)

    def condition(self, op: str, item: dict[str, Any]) -> Predicate:
        name = item.get("field")
        if not isinstance(name, str) or not name:
            raise QueryError("Invalid query syntax: a filter needs a 'field'.")
        udf = item.get("udf", False)
        if udf is None or not isinstance(udf, bool):
            raise QueryError("Invalid value for 'udf': it must be true or false.")
        if udf:
            return self.udf_condition(op, name, item)
        spec = self.spec.field(name)
        if spec is None:
            raise QueryError(f"Unable to find {name} in the {self.spec.type_name} Entity.")
        if not spec.queryable:
            raise QueryError(f"The field {spec.name} is not queryable.")
        key = spec.name

        def read(record: Record) -> Any:
            return record.get(key)

        return self.build(op, spec, read, item)

    def udf_condition(self, op: str, name: str, item: dict[str, Any]) -> Predicate:
        self.udf_filters += 1
        if self.udf_filters > 1:
            raise QueryError("Only one user-defined field may be queried at a time.")
        display = self.udfs.get(name.lower())
        if display is None:
            raise QueryError(
                f"Unable to find {name} in the {self.spec.type_name} Entity's user-defined fields."
            )
        spec = FieldSpec(display, "string", length=8000)

        def read(record: Record) -> Any:
            for udf in record.get("userDefinedFields") or ():
                if udf.get("name") == display:
                    return udf.get("value")
            return None

        return self.build(op, spec, read, item)

    def build(
        self, op: str, spec: FieldSpec, read: Callable[[Record], Any], item: dict[str, Any]
    ) -> Predicate:
        if op in PRESENCE:
            if op == "exist":
                return lambda record: read(record) not in (None, "")
            return lambda record: read(record) in (None, "")
        if "value" not in item:
            raise QueryError(f"Invalid query syntax: '{op}' on {spec.name} needs a value.")
        raw = item["value"]
        if op in LISTS:
            if not isinstance(raw, list) or not raw:
                raise QueryError(f"The value for '{op}' on {spec.name} must be a non-empty list.")
            self.or_conditions += len(raw)
            wanted = {_fold(self.value(spec, v)) for v in raw}
            if op == "in":
                return lambda record: _fold(read(record)) in wanted
            return lambda record: (v := read(record)) is not None and _fold(v) not in wanted
        value = _fold(self.value(spec, raw))
        if op in STRING_MATCHES:
            if spec.data_type != "string" or not isinstance(value, str):
                raise QueryError(f"The operator '{op}' needs a text field; {spec.name} is not.")
            return _string_match(op, read, value)
        if op not in COMPARISONS:
            raise QueryError(f"Invalid query syntax: unknown operator '{op}'.")
        return _comparison(op, read, value)

    def value(self, spec: FieldSpec, raw: Any) -> Any:
        if raw is None:
            raise QueryError(f"The value for {spec.name} cannot be null.")
        if isinstance(raw, dict | list):
            raise QueryError(f"Invalid value for {spec.name}: expected a single value.")
        try:
            return coerce(spec.data_type, raw)
        except ValueProblem as exc:
            raise QueryError(f"Invalid value for {spec.name}: {exc}.") from exc


def _fold(value: Any) -> Any:
    # Autotask's database collation ignores case, so text compares case-insensitively.
    return value.casefold() if isinstance(value, str) else value


def _string_match(op: str, read: Callable[[Record], Any], value: str) -> Predicate:
    def match(record: Record) -> bool:
        current = read(record)
        if not isinstance(current, str):
            return False
        text = current.casefold()
        if op == "beginswith":
            return text.startswith(value)
        if op == "endswith":
            return text.endswith(value)
        return value in text

    return match


def _comparison(op: str, read: Callable[[Record], Any], value: Any) -> Predicate:
    def compare(record: Record) -> bool:
        current = _fold(read(record))
        if current is None:
            return False  # SQL semantics: a null matches no comparison
        try:
            if op == "eq":
                return bool(current == value)
            if op == "noteq":
                return bool(current != value)
            if op == "gt":
                return bool(current > value)
            if op == "gte":
                return bool(current >= value)
            if op == "lt":
                return bool(current < value)
            return bool(current <= value)
        except TypeError:
            return False

    return compare
