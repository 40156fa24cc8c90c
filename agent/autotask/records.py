"""Typed Autotask records: the base that converts camelCase JSON to dataclasses and back.

Each field names its wire property; reading ignores case (as Autotask does), and every property
a record does not model is kept in `extra` so writing the record back loses nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal, Self

from agent.autotask.wire import (
    JsonObject,
    WireTypeError,
    as_bool,
    as_float,
    as_int,
    as_str,
    format_datetime,
    parse_datetime,
)

FieldKind = Literal["int", "float", "str", "bool", "datetime", "udf"]

UserDefinedFields = dict[str, Any]


def wire_field(name: str, kind: FieldKind) -> Any:
    """Declares a record field carried on the wire as property `name`."""
    return dataclasses.field(default=None, metadata={"wire": name, "kind": kind})


def _read_udfs(value: Any, name: str) -> UserDefinedFields | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise WireTypeError(f"{name} should be a list")
    udfs: UserDefinedFields = {}
    for item in value:
        if not isinstance(item, dict):
            raise WireTypeError(f"{name} should hold name/value pairs")
        lowered = {str(k).casefold(): v for k, v in item.items()}
        udf_name = lowered.get("name")
        if not isinstance(udf_name, str):
            raise WireTypeError(f"{name} should hold name/value pairs")
        udfs[udf_name] = lowered.get("value")
    return udfs


_READERS: dict[FieldKind, Callable[[Any, str], Any]] = {
    "int": as_int,
    "float": as_float,
    "str": as_str,
    "bool": as_bool,
    "datetime": parse_datetime,
    "udf": _read_udfs,
}


def read_wire_value(kind: FieldKind, value: Any, name: str) -> Any:
    """One wire value read as a field of `kind`; raises `WireTypeError` when it has another type."""
    return _READERS[kind](value, name)


def _write(kind: FieldKind, value: Any) -> Any:
    if kind == "datetime" and isinstance(value, datetime):
        return format_datetime(value)
    if kind == "udf" and value is not None:
        return [{"name": k, "value": v} for k, v in value.items()]
    return value


@dataclasses.dataclass(frozen=True)
class Record:
    """Base of the typed entities; subclasses declare `ENTITY` (the API path) and fields."""

    ENTITY: ClassVar[str] = ""
    # The field whose change marks a new version of the record (no ETag exists), if any.
    CHANGE_MARKER: ClassVar[str | None] = None

    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict, kw_only=True)

    @classmethod
    def _wire_fields(cls) -> list[tuple[str, str, FieldKind]]:
        return [
            (f.name, f.metadata["wire"], f.metadata["kind"])
            for f in dataclasses.fields(cls)
            if "wire" in f.metadata
        ]

    @classmethod
    def wire_kinds(cls) -> dict[str, FieldKind]:
        """Wire property name -> the kind of value it carries."""
        return {wire: kind for _, wire, kind in cls._wire_fields()}

    @classmethod
    def wire_names(cls) -> dict[str, str]:
        """Python attribute name → wire property name, for building changed-field dicts."""
        return {attr: wire for attr, wire, _ in cls._wire_fields()}

    @classmethod
    def from_wire(cls, payload: Any) -> Self:
        """Reads one record; raises `WireTypeError` when a value has the wrong type."""
        if not isinstance(payload, Mapping):
            raise WireTypeError(f"a {cls.ENTITY} record should be an object")
        by_folded = {wire.casefold(): (attr, wire, kind) for attr, wire, kind in cls._wire_fields()}
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in payload.items():
            known = by_folded.get(key.casefold()) if isinstance(key, str) else None
            if known is None:
                extra[str(key)] = value
                continue
            attr, wire, kind = known
            if attr in values:
                # The same property twice in different case: keep the second one verbatim.
                extra[key] = value
            else:
                values[attr] = _READERS[kind](value, wire)
        return cls(**values, extra=extra)

    def to_wire(self, *, omit_none: bool = False) -> JsonObject:
        """The record as Autotask sends it: every modelled field (None as null) plus `extra`.

        `omit_none` leaves out empty fields, which suits a create.
        """
        payload: JsonObject = dict(self.extra)
        for attr, wire, kind in self._wire_fields():
            value = getattr(self, attr)
            if value is None and omit_none:
                continue
            payload[wire] = _write(kind, value)
        return payload

    def wire_value(self, attr: str) -> Any:
        """One field as it travels on the wire (e.g. a datetime as an ISO string)."""
        kinds = {a: kind for a, _, kind in self._wire_fields()}
        return _write(kinds[attr], getattr(self, attr))
