"""The check every record from Autotask passes before anything else sees it.

A server (a broken one, or anyone answering in its place) can send ids beyond SQLite's 64-bit
integers, negative ids, text where a number belongs, lists where a record belongs, values nested
hundreds of levels deep, or a change marker in the year 9999 that would become the pull's
watermark and hide every later change. `screen` reads one record against the typed entity it
claims to be:

- `id`, and the parent id a child cannot live without, must be JSON whole numbers, positive and
  within 64 bits (signed), or 32 where the Swagger types the field `int32`: a record without
  them is skipped (nothing can file it);
- every other id (each `...ID` field) must be such a number too, a whole number the Swagger
  types `int32` must fit 32 bits (a .NET `int` cannot hold more), every modelled field must have
  its type (`agent.autotask.records`), and no field may be nested deeper than `MAX_FIELD_DEPTH`,
  hold a number too long to read or text that cannot be written as UTF-8 (a lone surrogate,
  sent as the JSON escape `\\ud800`: no database, log or request could take it), in its value
  or its name: a field that fails is left out of the record, which is kept
  (`unreadable_fields` names what was left out, so a merge never takes it for a null);
- each change marker (the fields incremental refresh pages by) is a date-time no later than the
  server's own clock, read from the answer's `Date` header; a later one is clamped to that
  clock, and the record is marked (`marker_clamped`) so that the marker never moves a watermark.

Each fault is noted as a `RecordProblem`: the entity, the field and what was wrong, from a fixed
vocabulary, and never a value of the record (those are customer data).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agent.autotask.catalogue import catalogue
from agent.autotask.convert import HugeNumber
from agent.autotask.entities import ENTITY_TYPES, ResourceRole
from agent.autotask.lenient import UnreadableRecord
from agent.autotask.metadata import FieldInfo, field_info_from_wire, picklist_value_from_wire
from agent.autotask.records import FieldKind, Record, read_wire_value
from agent.autotask.visits import VISIT_TYPES
from agent.autotask.wire import (
    JsonObject,
    WireTypeError,
    format_datetime,
    lookup,
    mended,
    parse_datetime,
    unwritable,
)

MAX_ID = 2**63 - 1  # SQLite stores integers as signed 64-bit
INT32_MAX = 2**31 - 1  # a field the Swagger types `int32` is a .NET `int`
# `Date` has whole seconds: a marker within the second after it is as sound as it can tell.
DATE_GRAIN = timedelta(seconds=1)
# A marker further ahead than this is a fault (not jitter between Autotask's servers): noted.
MARKER_TOLERANCE = timedelta(minutes=2)
# A `Date` header further ahead of our own clock than this is believed only this far.
MAX_DATE_AHEAD = timedelta(days=1)
# A field nested deeper than this is left out (user-defined fields, the deepest, nest 3 levels).
MAX_FIELD_DEPTH = 16

# The field each entity's incremental refresh pages by (see the FACTS: there is no ETag).
CHANGE_MARKERS: dict[str, str] = {
    "Tickets": "lastTrackedModificationDateTime",
    "TimeEntries": "lastModifiedDateTime",
    "Companies": "lastTrackedModifiedDateTime",
    "Contacts": "lastModifiedDate",
    "TicketNotes": "lastActivityDate",
    "ServiceCalls": "lastModifiedDateTime",
    "Appointments": "updateDateTime",
}
# Ids a record of the entity cannot do without (besides its own `id`).
REQUIRED_IDS: dict[str, tuple[str, ...]] = {
    "TicketNotes": ("ticketID",),
    "ResourceRoles": ("resourceID", "roleID"),
}
_MODELLED: tuple[type[Record], ...] = (*ENTITY_TYPES, ResourceRole, *VISIT_TYPES)
_RECORDS: dict[str, type[Record]] = {cls.ENTITY.casefold(): cls for cls in _MODELLED}

# What can be wrong (the only words a problem ever carries).
MISSING = "missing"
UNREADABLE = "nested too deeply to read"
NOT_WHOLE = "not a whole number"
NOT_POSITIVE = "not positive"
TOO_BIG = "beyond 64 bits"
TOO_BIG_32 = "beyond 32 bits"
WRONG_TYPE = "wrong type"
NOT_DATE = "not a date-time"
IN_FUTURE = "in the future"
TWICE = "sent twice"
NOT_OBJECT = "not an object"
NESTED = "nested too deeply"
NOT_PICKLIST_VALUE = "not a picklist value"
NOT_FIELD = "not a field description"
NOT_TEXT = "not valid text"


@dataclass(frozen=True)
class RecordProblem:
    """What was wrong with one record: `skipped` (dropped), or kept with the field left out
    (or, for a change marker, clamped)."""

    entity: str
    field: str
    problem: str
    skipped: bool = True

    @property
    def reason(self) -> str:
        return f"{self.entity}.{self.field}: {self.problem}"


class BadRecord(ValueError):
    def __init__(self, problem: RecordProblem) -> None:
        super().__init__(problem.reason)
        self.problem = problem


class Screened(dict[str, Any]):
    """A screened record: the fields to use, plus what the screening did to it."""

    unreadable: frozenset[str] = frozenset()  # fields left out as unreadable
    marker_clamped: bool = False  # its change marker was later than the server's clock


def unreadable_fields(record: Mapping[str, Any]) -> frozenset[str]:
    """The fields the screening left out of `record` (none for a record it did not see)."""
    return getattr(record, "unreadable", frozenset())


def marker_clamped(record: Mapping[str, Any]) -> bool:
    """Whether `record`'s change marker was past the server's clock (so it is no watermark)."""
    return bool(getattr(record, "marker_clamped", False))


@functools.cache
def _fields(entity: str) -> tuple[dict[str, FieldKind], dict[str, str]]:
    """Wire name -> kind of each field the entity models (just `id` for one we do not model),
    and the case-folded wire names -> wire name."""
    record = _RECORDS.get(entity.casefold())
    kinds: dict[str, FieldKind] = {"id": "int"} if record is None else record.wire_kinds()
    return kinds, {name.casefold(): name for name in kinds}


def _is_id(name: str) -> bool:
    return name == "id" or name.endswith("ID")


def _id_fault(value: Any) -> str | None:
    if isinstance(value, HugeNumber):
        return TOO_BIG
    if isinstance(value, bool) or not isinstance(value, int):
        return NOT_WHOLE
    if value <= 0:
        return NOT_POSITIVE
    if value > MAX_ID:
        return TOO_BIG
    return None


def _shape_fault(value: Any) -> str | None:
    """Too deep, or holding a number too long to read or text that cannot be written,
    anywhere inside."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_FIELD_DEPTH:
            return NESTED
        if isinstance(node, HugeNumber):
            return TOO_BIG
        if isinstance(node, str) and unwritable(node):
            return NOT_TEXT
        if isinstance(node, dict):
            if any(isinstance(k, str) and unwritable(k) for k in node):
                return NOT_TEXT
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return None


def _value_fault(name: str, kind: FieldKind | None, value: Any, int32: bool) -> str | None:
    if value is None:
        return None
    shape = _shape_fault(value)
    if shape is not None or kind is None:
        return shape
    if _is_id(name) and kind == "int":
        fault = _id_fault(value)
        if fault is None and int32 and value > INT32_MAX:
            return TOO_BIG_32
        return fault
    try:
        read = read_wire_value(kind, value, name)
    except (WireTypeError, ValueError):  # ValueError: digits past Python's conversion limit
        return NOT_DATE if kind == "datetime" else WRONG_TYPE
    if kind == "int" and read is not None and not -MAX_ID - 1 <= read <= MAX_ID:
        return TOO_BIG
    if kind == "int" and int32 and read is not None and not -INT32_MAX - 1 <= read <= INT32_MAX:
        return TOO_BIG_32
    return None


def _canonical(
    entity: str,
    item: Mapping[Any, Any],
    by_folded: Mapping[str, str],
    problems: list[RecordProblem],
) -> Screened:
    """The record with each modelled field under its own name (Autotask ignores case); a field
    sent twice with different values is left out (or, for an id, the record skipped)."""
    out = Screened(item)
    twice: set[str] = set()
    for key in [k for k in out if by_folded.get(str(k).casefold(), k) != k]:
        name = by_folded[str(key).casefold()]
        value = out.pop(key)
        if name in out and out[name] != value:
            twice.add(name)
        out.setdefault(name, value)
    for name in sorted(twice):
        if name == "id" or name in REQUIRED_IDS.get(entity, ()):
            raise BadRecord(RecordProblem(entity, name, TWICE))
        problems.append(RecordProblem(entity, name, TWICE, skipped=False))
        del out[name]
    out.unreadable = frozenset(twice)
    return out


def screen(entity: str, item: Any, server_now: datetime) -> tuple[Screened, list[RecordProblem]]:
    """The record to use and what was noted about it; raises `BadRecord` when it must be skipped.

    `server_now` is the server's clock when it answered (see `server_time`).
    """
    if not isinstance(item, Mapping):
        raise BadRecord(RecordProblem(entity, "record", NOT_OBJECT))
    if isinstance(item, UnreadableRecord):  # too deep for any reader: read apart from the rest
        raise BadRecord(RecordProblem(entity, "record", UNREADABLE))
    kinds, by_folded = _fields(entity)
    problems: list[RecordProblem] = []
    record = _canonical(entity, item, by_folded, problems)
    required = ("id", *REQUIRED_IDS.get(entity, ()))
    int32 = catalogue().int32_fields(entity)
    for name in required:
        value = record.get(name)
        fault = MISSING if value is None else _id_fault(value)
        if (
            fault is None
            and name.casefold() in int32
            and isinstance(value, int)
            and value > INT32_MAX
        ):
            fault = TOO_BIG_32
        if fault is not None:
            raise BadRecord(RecordProblem(entity, name, fault))
    left_out = set(record.unreadable)
    for name in [n for n in record if n not in required]:
        if isinstance(name, str) and unwritable(name):  # a name no store could take
            problems.append(RecordProblem(entity, _named(name), NOT_TEXT, skipped=False))
            del record[name]
            continue
        fault = _value_fault(name, kinds.get(name), record[name], name.casefold() in int32)
        if fault is not None:
            problems.append(RecordProblem(entity, name, fault, skipped=False))
            left_out.add(name)
            del record[name]
    record.unreadable = frozenset(left_out)
    clamped = _clamp_marker(entity, record, server_now)
    if clamped is not None:
        problems.append(clamped)
    return record, problems


def _named(name: str) -> str:
    """A field name from the server as a problem may carry it (short, writable)."""
    return mended(name)[:64]


def _clamp_marker(entity: str, record: Screened, server_now: datetime) -> RecordProblem | None:
    name = CHANGE_MARKERS.get(entity)
    marked = None if name is None else parse_datetime(record.get(name), name)  # read already
    if name is None or marked is None or marked <= server_now + DATE_GRAIN:
        return None
    record[name] = format_datetime(server_now)
    record.marker_clamped = True
    if marked <= server_now + MARKER_TOLERANCE:
        return None
    return RecordProblem(entity, name, IN_FUTURE, skipped=False)


def screen_fields(entity: str, fields: list[Any]) -> tuple[list[FieldInfo], list[RecordProblem]]:
    """The usable field descriptions of `/entityInformation/fields`: a picklist value that
    cannot be read is left out of its list, a label that cannot be written as UTF-8 is shown
    with U+FFFD for what could not be written, a description that cannot be read is left out."""
    kept: list[FieldInfo] = []
    problems: list[RecordProblem] = []
    for payload in fields:
        name = payload.get("name") if isinstance(payload, dict) else None
        where = _named(name) if isinstance(name, str) and name else "field"
        values = lookup(payload, "picklistValues") if isinstance(payload, dict) else None
        if isinstance(values, list):
            good = []
            for value in values:
                try:
                    picklist_value_from_wire(value)
                except (WireTypeError, ValueError):
                    problems.append(RecordProblem(entity, where, NOT_PICKLIST_VALUE))
                    continue
                label = lookup(value, "label")
                if isinstance(label, str) and unwritable(label):
                    problems.append(RecordProblem(entity, where, NOT_TEXT, skipped=False))
                    value = {k: v for k, v in value.items() if k.casefold() != "label"}
                    value["label"] = mended(label)
                good.append(value)
            payload = {k: v for k, v in payload.items() if k.casefold() != "picklistvalues"}
            payload["picklistValues"] = good
        if _shape_fault(payload) is not None:  # text no store could take, or worse
            problems.append(RecordProblem(entity, where, NOT_FIELD))
            continue
        try:
            kept.append(field_info_from_wire(payload))
        except (WireTypeError, ValueError):
            problems.append(RecordProblem(entity, where, NOT_FIELD))
    return kept, problems


def server_time(our_now: datetime, skew: float | None) -> datetime:
    """The server's clock: ours plus the skew its last `Date` showed (ours when none did),
    believed at most `MAX_DATE_AHEAD` ahead of ours."""
    if skew is None:
        return our_now
    return our_now + min(timedelta(seconds=skew), MAX_DATE_AHEAD)


class Screening:
    """The problems noted since they were last taken (the sync engine takes them each round)."""

    def __init__(self) -> None:
        self._problems: list[RecordProblem] = []

    def note(self, problem: RecordProblem) -> None:
        self._problems.append(problem)

    def take(self) -> list[RecordProblem]:
        taken, self._problems = self._problems, []
        return taken

    def records(self, entity: str, items: list[Any], server_now: datetime) -> list[JsonObject]:
        """The usable records of one answer, in order; the others are noted and left out."""
        kept: list[JsonObject] = []
        for item in items:
            try:
                record, problems = screen(entity, item, server_now)
            except BadRecord as bad:
                self.note(bad.problem)
                continue
            self._problems.extend(problems)
            kept.append(record)
        return kept
