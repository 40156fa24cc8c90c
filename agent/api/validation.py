"""Local validation of a technician's edits, before anything is queued.

The rules mirror what the Autotask server enforces (FACTS.md): required fields, picklist values of
this tenant, resource/role pairing, hoursWorked bounds, lengths, and that the records an edit
refers to exist (a ticket's assigned resource and role, a time entry's resource, role and ticket,
a note's ticket). An invalid edit is refused with every problem named (the field and the value);
nothing is written.

References are checked against what the local cache *positively* knows (`Known`):
- Each kind is either known (the first full download has completed: every resource with its
  roles, the technician's tickets) or not known (`None`: a fresh profile, or one that has only
  ever worked offline). A reference of a kind that is not known is accepted and left to the
  server; refusing it would stop a technician who has not synced yet from working at all.
- Once known, a resource that is not in the cache, or is inactive, is refused; a role that is not
  one of the resource's active roles is refused. The cache holds every resource of the tenant, so
  a miss means the resource did not exist at the last full download.
- A note or time entry can only be added to a ticket in the technician's synced list (the same
  rule as changing a ticket); a ticket deleted in Autotask counts as not in the list.
- Companies and contacts are not checked: no edit this program offers sets them.
Whatever slips through (the server changed after the last download) is refused by the server at
sync; the push then sends the fields that are fine and parks only the refused ones
(`agent.sync.partial`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

# field -> {value: label} of the active picklist values of this tenant
Picklists = Mapping[str, Mapping[int, str]]


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


@dataclass(frozen=True)
class Known:
    """What the cache positively knows about referenced records; `None`: not known yet."""

    resources: Mapping[int, Set[int]] | None = None  # active resource id -> its active role ids
    tickets: Set[int] | None = None  # tickets a note or a time entry may be added to


NOTHING_KNOWN = Known()


class EditRejected(ValueError):
    """The edit is invalid; `problems` names each field and why. Nothing was queued."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


def log_words(exc: BaseException) -> str:
    """What a log may keep of `exc`: of a refused edit, its kind and the fields refused, never
    the values that were (a file's name, a title). People see the whole message; the log file
    is not sealed like the profile's data."""
    if isinstance(exc, EditRejected):
        return f"{type(exc).__name__} ({', '.join(p.field for p in exc.problems)})"
    return str(exc)


TICKET_EDITABLE = {
    "status",
    "priority",
    "title",
    "description",
    "dueDateTime",
    "assignedResourceID",
    "assignedResourceRoleID",
    "queueID",
    "issueType",
}
LIMITS = {"title": 255, "description": 8000, "summaryNotes": 8000, "internalNotes": 8000}
NOTE_LIMITS = {"title": 250, "description": 32000}


class _Check:
    def __init__(self, picklists: Picklists) -> None:
        self.picklists = picklists
        self.problems: list[Problem] = []

    def fail(self, field: str, message: str) -> None:
        self.problems.append(Problem(field, message))

    def picklist(self, field: str, value: Any, *, required: bool = False) -> None:
        if value is None:
            if required:
                self.fail(field, "is required")
            return
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, f"must be one of the listed values (got {value!r})")
            return
        allowed = self.picklists.get(field)
        if allowed is not None and value not in allowed:
            names = ", ".join(f"{label} ({v})" for v, label in sorted(allowed.items())[:12])
            self.fail(field, f"{value} is not a value this tenant allows; choose from: {names}")

    def text(self, field: str, value: Any, limit: int, *, required: bool = False) -> None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(field, "is required")
            return
        if not isinstance(value, str):
            self.fail(field, "must be text")
        elif len(value) > limit:
            self.fail(field, f"is {len(value)} characters long; at most {limit} are allowed")

    def when(self, field: str, value: Any, *, required: bool = False) -> datetime | None:
        if value is None:
            if required:
                self.fail(field, "is required")
            return None
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            self.fail(field, f"must be a date and time like 2026-01-31T14:00:00Z (got {value!r})")
            return None

    def done(self) -> None:
        if self.problems:
            raise EditRejected(self.problems)


def validate_ticket_update(
    changes: Mapping[str, Any],
    picklists: Picklists,
    resource_roles: Mapping[int, Set[int]] | None = None,
    known: Known = NOTHING_KNOWN,
) -> None:
    c = _Check(picklists)
    if not changes:
        c.fail("ticket", "nothing to change")
    for name in changes:
        if name not in TICKET_EDITABLE:
            c.fail(name, "cannot be changed from Field Sync")
    for name in ("status", "priority", "queueID", "issueType"):
        if name in changes:
            c.picklist(name, changes[name], required=name in ("status", "priority"))
    if "title" in changes:
        c.text("title", changes["title"], LIMITS["title"], required=True)
    if "description" in changes:
        c.text("description", changes["description"], LIMITS["description"])
    if "dueDateTime" in changes:
        c.when("dueDateTime", changes["dueDateTime"])
    if ("assignedResourceID" in changes) != ("assignedResourceRoleID" in changes):
        c.fail("assignedResourceID", "an assignee needs both a resource and a role")
    elif "assignedResourceID" in changes:
        _resource_role(
            c,
            changes["assignedResourceID"],
            changes["assignedResourceRoleID"],
            resource_roles,
            ("assignedResourceID", "assignedResourceRoleID"),
            known,
            optional=True,
        )
    c.done()


def validate_note(
    note: Mapping[str, Any], picklists: Picklists, known: Known = NOTHING_KNOWN
) -> None:
    c = _Check(picklists)
    if not isinstance(note.get("ticketID"), int):
        c.fail("ticketID", "is required")
    else:
        _ticket(c, note["ticketID"], known)
    c.text("title", note.get("title"), NOTE_LIMITS["title"])
    c.text("description", note.get("description"), NOTE_LIMITS["description"], required=True)
    c.picklist("noteType", note.get("noteType"), required=True)
    c.picklist("publish", note.get("publish"), required=True)
    c.done()


def validate_time_entry(
    entry: Mapping[str, Any],
    picklists: Picklists,
    resource_roles: Mapping[int, Set[int]] | None = None,
    *,
    partial: bool = False,
    known: Known = NOTHING_KNOWN,
) -> None:
    """A new time entry (or, with `partial`, the changed fields of an existing one)."""
    c = _Check(picklists)
    need = not partial
    if need and not isinstance(entry.get("resourceID"), int):
        c.fail("resourceID", "is required")
    if need and entry.get("ticketID") is None and entry.get("taskID") is None:
        c.fail("ticketID", "a time entry belongs to a ticket (or a task)")
    if isinstance(entry.get("ticketID"), int):
        _ticket(c, entry["ticketID"], known)
    if need or "dateWorked" in entry:
        c.when("dateWorked", entry.get("dateWorked"), required=True)
    start = c.when("startDateTime", entry.get("startDateTime"))
    end = c.when("endDateTime", entry.get("endDateTime"))
    hours = entry.get("hoursWorked")
    if need and hours is None and (start is None or end is None):
        c.fail("hoursWorked", "give hours worked, or both a start and an end time")
    if start is not None and end is not None:
        if (start.tzinfo is None) != (end.tzinfo is None):
            c.fail("endDateTime", "start and end must both carry a time zone, or neither")
        elif end <= start:
            c.fail("endDateTime", "must be after the start time")
        elif (end - start).total_seconds() > 24 * 3600:
            c.fail("endDateTime", "a time entry covers at most 24 hours")
    if hours is not None:
        if (
            isinstance(hours, bool)
            or not isinstance(hours, int | float)
            or not math.isfinite(float(hours))
        ):
            c.fail("hoursWorked", "must be a number of hours")
        elif not 0 < float(hours) <= 24:
            c.fail("hoursWorked", "must be more than 0 and at most 24")
    if need or "summaryNotes" in entry:
        c.text("summaryNotes", entry.get("summaryNotes"), LIMITS["summaryNotes"], required=True)
    if "internalNotes" in entry:
        c.text("internalNotes", entry.get("internalNotes"), LIMITS["internalNotes"])
    if need or "roleID" in entry:
        _resource_role(
            c,
            entry.get("resourceID"),
            entry.get("roleID"),
            resource_roles,
            ("resourceID", "roleID"),
            known,
            optional=partial,
        )
    if "billingCodeID" in entry:
        c.picklist("billingCodeID", entry.get("billingCodeID"))
    c.done()


def _ticket(c: _Check, ticket: int, known: Known) -> None:
    if known.tickets is not None and ticket not in known.tickets:
        c.fail(
            "ticketID",
            f"ticket {ticket} is not in your list (not synced to this computer, or deleted in "
            "Autotask)",
        )


def _resource_role(
    c: _Check,
    resource: Any,
    role: Any,
    resource_roles: Mapping[int, Set[int]] | None,
    names: tuple[str, str],
    known: Known,
    *,
    optional: bool,
) -> None:
    resource_field, role_field = names
    roles: Mapping[int, Set[int]] | None = resource_roles
    if known.resources is not None:
        roles = known.resources
        if isinstance(resource, int) and not isinstance(resource, bool) and resource not in roles:
            c.fail(resource_field, f"resource {resource} does not exist in Autotask or is inactive")
            return
    if role is None:
        if not optional:
            c.fail(role_field, "is required")
        return
    if isinstance(role, bool) or not isinstance(role, int):
        c.fail(role_field, "must be a role id")
        return
    known_roles = roles is not None and isinstance(resource, int) and resource in roles
    if known_roles and roles is not None and role not in roles[resource]:
        c.fail(role_field, f"role {role} is not one of resource {resource}'s roles")
