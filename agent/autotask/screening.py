"""The check every record from Autotask passes before anything else sees it.

A server (a broken one, or anyone answering in its place) can send ids beyond SQLite's 64-bit
integers, negative ids, text where a number belongs, lists where a record belongs, or a change
marker in the year 9999 that would become the pull's watermark and hide every later change.
`screen` reads one record against the typed entity it claims to be:

- every id (`id` and each `...ID` field) is a JSON whole number, positive and within 64 bits
  (signed); `id`, and the parent id a child cannot live without, must be present;
- every modelled field has its type (`agent.autotask.records`);
- each change marker (the fields incremental refresh pages by) is a date-time no later than the
  server's own clock, read from the answer's `Date` header; a later one is clamped to that clock.

A record that fails is skipped; one whose marker was clamped is kept. Either way a
`RecordProblem` is noted: the entity, the field and what was wrong, from a fixed vocabulary, and
never a value of the record (those are customer data).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agent.autotask.entities import ENTITY_TYPES, ResourceRole
from agent.autotask.records import FieldKind, Record, read_wire_value
from agent.autotask.wire import JsonObject, WireTypeError, format_datetime, parse_datetime

MAX_ID = 2**63 - 1  # SQLite stores integers as signed 64-bit
# `Date` has whole seconds: a marker within the second after it is as sound as it can tell.
DATE_GRAIN = timedelta(seconds=1)
# A marker further ahead than this is a fault (not jitter between Autotask's servers): noted.
MARKER_TOLERANCE = timedelta(minutes=2)
# A `Date` header further ahead of our own clock than this is believed only this far.
MAX_DATE_AHEAD = timedelta(days=1)

# The field each entity's incremental refresh pages by (see the FACTS: there is no ETag).
CHANGE_MARKERS: dict[str, str] = {
    "Tickets": "lastTrackedModificationDateTime",
    "TimeEntries": "lastModifiedDateTime",
    "Companies": "lastTrackedModifiedDateTime",
    "Contacts": "lastModifiedDate",
    "TicketNotes": "lastActivityDate",
}
# Ids a record of the entity cannot do without (besides its own `id`).
REQUIRED_IDS: dict[str, tuple[str, ...]] = {
    "TicketNotes": ("ticketID",),
    "ResourceRoles": ("resourceID", "roleID"),
}
_MODELLED: tuple[type[Record], ...] = (*ENTITY_TYPES, ResourceRole)
_RECORDS: dict[str, type[Record]] = {cls.ENTITY.casefold(): cls for cls in _MODELLED}

# What can be wrong (the only words a problem ever carries).
MISSING = "missing"
NOT_WHOLE = "not a whole number"
NOT_POSITIVE = "not positive"
TOO_BIG = "beyond 64 bits"
WRONG_TYPE = "wrong type"
NOT_DATE = "not a date-time"
IN_FUTURE = "in the future"
TWICE = "sent twice"
NOT_OBJECT = "not an object"


@dataclass(frozen=True)
class RecordProblem:
    """What was wrong with one record: `skipped` (dropped) or kept with its marker clamped."""

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


@functools.cache
def _fields(entity: str) -> tuple[dict[str, FieldKind], dict[str, str]]:
    """Wire name -> kind of each field the entity models (just `id` for one we do not model),
    and the case-folded wire names -> wire name."""
    record = _RECORDS.get(entity.casefold())
    kinds: dict[str, FieldKind] = {"id": "int"} if record is None else record.wire_kinds()
    return kinds, {name.casefold(): name for name in kinds}


def _is_id(name: str) -> bool:
    return name == "id" or name.endswith("ID")


def _check_id(entity: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRecord(RecordProblem(entity, name, NOT_WHOLE))
    if value <= 0:
        raise BadRecord(RecordProblem(entity, name, NOT_POSITIVE))
    if value > MAX_ID:
        raise BadRecord(RecordProblem(entity, name, TOO_BIG))


def _check_value(entity: str, name: str, kind: FieldKind, value: Any) -> None:
    if value is None:
        return
    if _is_id(name) and kind == "int":
        _check_id(entity, name, value)
        return
    try:
        read = read_wire_value(kind, value, name)
    except WireTypeError:
        raise BadRecord(
            RecordProblem(entity, name, NOT_DATE if kind == "datetime" else WRONG_TYPE)
        ) from None
    if kind == "int" and read is not None and not -MAX_ID - 1 <= read <= MAX_ID:
        raise BadRecord(RecordProblem(entity, name, TOO_BIG))


def _canonical(
    entity: str,
    item: Mapping[Any, Any],
    kinds: Mapping[str, FieldKind],
    by_folded: Mapping[str, str],
) -> JsonObject:
    """The record with each modelled field under its own name (Autotask ignores case)."""
    out: JsonObject = dict(item)
    for key in [k for k in out if k not in kinds]:
        name = by_folded.get(str(key).casefold())
        if name is None:
            continue
        if name in out:
            raise BadRecord(RecordProblem(entity, name, TWICE))
        out[name] = out.pop(key)
    return out


def screen(entity: str, item: Any, server_now: datetime) -> tuple[JsonObject, RecordProblem | None]:
    """The record to use and what was noted about it; raises `BadRecord` when it must be skipped.

    `server_now` is the server's clock when it answered (see `server_time`).
    """
    if not isinstance(item, Mapping):
        raise BadRecord(RecordProblem(entity, "record", NOT_OBJECT))
    kinds, by_folded = _fields(entity)
    record = _canonical(entity, item, kinds, by_folded)
    for name in ("id", *REQUIRED_IDS.get(entity, ())):
        if record.get(name) is None:
            raise BadRecord(RecordProblem(entity, name, MISSING))
    for name, kind in kinds.items():
        _check_value(entity, name, kind, record.get(name))
    return _clamp_marker(entity, record, server_now)


def _clamp_marker(
    entity: str, record: JsonObject, server_now: datetime
) -> tuple[JsonObject, RecordProblem | None]:
    name = CHANGE_MARKERS.get(entity)
    value = None if name is None else record.get(name)
    if name is None or value is None:
        return record, None
    try:
        marked = parse_datetime(value, name)
    except WireTypeError:
        raise BadRecord(RecordProblem(entity, name, NOT_DATE)) from None
    if marked is None or marked <= server_now + DATE_GRAIN:
        return record, None
    record[name] = format_datetime(server_now)
    if marked <= server_now + MARKER_TOLERANCE:
        return record, None
    return record, RecordProblem(entity, name, IN_FUTURE, skipped=False)


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
                record, problem = screen(entity, item, server_now)
            except BadRecord as bad:
                self.note(bad.problem)
                continue
            if problem is not None:
                self.note(problem)
            kept.append(record)
        return kept
