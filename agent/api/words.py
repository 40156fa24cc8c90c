"""The words a person reads for Autotask's field names, values and records: picklist labels
instead of numbers, ticket numbers instead of database ids. Shared by the window (through the
facade's views) and the exports; runs inside a store read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent.queue.operation import Operation
from agent.security.errors import SealedPayloadError
from agent.sync import localview

FIELD_LABELS: dict[str, str] = {
    "status": "Status",
    "priority": "Priority",
    "title": "Title",
    "description": "Description",
    "dueDateTime": "Due",
    "assignedResourceID": "Assigned to",
    "assignedResourceRoleID": "Assigned role",
    "queueID": "Queue",
    "issueType": "Issue type",
    "summaryNotes": "Summary",
    "internalNotes": "Internal notes",
    "hoursWorked": "Hours",
    "startDateTime": "Start",
    "endDateTime": "End",
    "dateWorked": "Date worked",
    "roleID": "Role",
    "resourceID": "Resource",
    "noteType": "Note type",
    "publish": "Visible to",
    "ticketID": "Ticket",
    "unitQuantity": "Quantity",
    "unitPrice": "Unit price",
    "isBillableToCompany": "Billable",
    "productID": "Product",
    "name": "Name",
    "chargeType": "Charge type",
    "datePurchased": "Purchased",
    "isCompleted": "Done",
    "isComplete": "Complete",
    "completedDateTime": "Completed at",
    "itemName": "Item",
    "parentID": "Ticket",
    "fullPath": "File name",
    "fileSize": "Size",
    "attachmentType": "Kind",
    "*": "The whole record",
}

ENTITY_LABELS: dict[str, str] = {
    "Tickets": "Ticket",
    "TicketNotes": "Note",
    "TimeEntries": "Time entry",
    "TicketCharges": "Part",
    "TicketChecklistItems": "Checklist item",
    "TicketAttachments": "File",
    "ServiceCalls": "Service call",
}
PEOPLE_FIELDS = frozenset({"assignedResourceID", "resourceID"})
YES_NO_FIELDS = frozenset({"isCompleted", "isComplete", "isBillableToCompany"})
# Times said in local time; a day worked is a date (stored at midnight UTC), said as one.
TIME_FIELDS = frozenset(
    {"dueDateTime", "startDateTime", "endDateTime", "datePurchased", "completedDateTime"}
)
DAY_FIELDS = frozenset({"dateWorked"})
KIND_OF_FILE = {"FILE_ATTACHMENT": "File", "URL": "Link"}
FILE_VISIBLE_TO = {1: "All Autotask users", 2: "Internal users only"}


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name)


def entity_label(entity_type: str) -> str:
    return ENTITY_LABELS.get(entity_type, entity_type)


class Words:
    """Labels looked up once per list (a page of 200 operations reads each picklist once)."""

    def __init__(self) -> None:
        self._lists: dict[str, dict[str, dict[int, str]]] = {}
        self._numbers: dict[int, str] = {}
        self._people: dict[int, str] | None = None

    def value(self, entity_type: str, name: str, value: Any) -> str:
        """A field's value as the rest of the program shows it."""
        if value is None or value == "":
            return "(empty)"
        if isinstance(value, bool) or (name in YES_NO_FIELDS and value in (0, 1)):
            return "yes" if value else "no"
        if isinstance(value, str):
            if name in TIME_FIELDS or name in DAY_FIELDS:
                return when_text(value, day=name in DAY_FIELDS)
            if name == "attachmentType":
                return KIND_OF_FILE.get(value, value)
        if isinstance(value, int):
            if name in PEOPLE_FIELDS:
                return self.people().get(value, f"resource {value}")
            if name == "ticketID" or (name == "parentID" and entity_type == "TicketAttachments"):
                return self.ticket(value)
            if name == "fileSize":
                return size_text(value)
            if name == "publish" and entity_type == "TicketAttachments":
                return FILE_VISIBLE_TO.get(value, str(value))
            if entity_type not in self._lists:
                self._lists[entity_type] = localview.picklists(entity_type)
            label = self._lists[entity_type].get(name, {}).get(value)
            if label is not None:
                return label
        return " ".join(str(value).split())

    def ticket(self, ticket_id: int | None) -> str:
        """A ticket by its number ("T20240101.0001"), its id only while the number is unknown."""
        if ticket_id is None:
            return "a new ticket"
        if ticket_id not in self._numbers:
            number = None
            try:
                number = (localview.cached("Tickets", ticket_id) or {}).get("ticketNumber")
            except SealedPayloadError:
                number = None
            self._numbers[ticket_id] = str(number) if number else f"#{ticket_id}"
        return self._numbers[ticket_id]

    def people(self) -> dict[int, str]:
        if self._people is None:
            from agent.store.models import CachedEntity

            self._people = {}
            for r in CachedEntity.select().where(CachedEntity.entity_type == "Resources"):
                try:
                    d = r.data
                except SealedPayloadError:
                    continue
                name = " ".join(str(x) for x in (d.get("firstName"), d.get("lastName")) if x)
                if name:
                    self._people[int(r.entity_id)] = name
        return self._people


def describe(op: Operation, words: Words | None = None) -> str:
    """What an operation changes, in words a technician reads (full text: the window cuts it
    to fit, with the whole sentence in a tooltip)."""
    words = words or Words()
    what = entity_label(op.entity_type).lower()
    ticket = op.parent_id if op.parent_id is not None else op.fields.get("ticketID")
    parent = f" on ticket {words.ticket(ticket)}" if isinstance(ticket, int) else ""
    if op.entity_type == "Tickets":
        where = f" {words.ticket(op.target_id)}" if op.target_id is not None else ""
    else:
        where = ""
    if op.kind.value == "create":
        if op.entity_type == "TimeEntries":
            hours = op.fields.get("hoursWorked")
            span = f"{hours:g} h" if isinstance(hours, int | float) else "time"
            return f"Log {span}{parent}: {_text(op.fields.get('summaryNotes'))}".rstrip(": ")
        if op.entity_type == "TicketNotes":
            text = _text(op.fields.get("title") or op.fields.get("description"))
            return f"Add note{parent}: {text}".rstrip(": ")
        if op.entity_type == "TicketCharges":
            quantity = op.fields.get("unitQuantity")
            count = f"{quantity:g} x " if isinstance(quantity, int | float) else ""
            return f"Add part{parent}: {count}{_text(op.fields.get('name'))}"
        if op.entity_type == "TicketAttachments":
            size = op.fields.get("fileSize")
            named = _text(op.fields.get("title") or op.fields.get("fullPath"))
            sized = f" ({size_text(size)})" if isinstance(size, int) else ""
            return f"Attach {named or 'a file'}{sized}{parent.replace(' on ', ' to ', 1)}"
        return f"Create {what}{parent}"
    if op.entity_type == "TicketChecklistItems" and set(op.fields) == {"isCompleted"}:
        item = _cached_text(op, "itemName")
        done = "Tick" if op.fields["isCompleted"] else "Untick"
        return f"{done} checklist item{parent}: {item}".rstrip(": ")
    if op.entity_type == "ServiceCalls" and set(op.fields) == {"isComplete"}:
        done = "complete" if op.fields["isComplete"] else "not complete"
        return f"Mark service call {op.entity_key} {done}"
    if op.kind.value == "delete":
        return f"Delete {what}{where}{parent}"
    changes = ", ".join(
        f"{field_label(k)} → {words.value(op.entity_type, k, v)}"
        for k, v in op.fields.items()
        if k != "ticketID"
    )
    return f"Change {what}{where}{parent}: {changes}"


def _cached_text(op: Operation, name: str) -> str:
    """A field of the record as last read from Autotask (what an update does not carry)."""
    if op.target_id is None:
        return ""
    try:
        cached = localview.cached(op.entity_type, int(op.target_id)) or {}
    except SealedPayloadError:
        return ""
    return _text(cached.get(name))


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def when_text(text: str, *, day: bool) -> str:
    """An ISO 8601 time as "5 Jan 2026 10:30" in local time (a day: "5 Jan 2026")."""
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return " ".join(text.split())
    if day:
        return f"{at.day} {at:%b %Y}"
    if at.tzinfo is not None:
        at = at.astimezone()
    return f"{at.day} {at:%b %Y %H:%M}"


def size_text(size: int) -> str:
    """A file's size, the same in every view (the Queue, the Files tab, the command line):
    `312 bytes`, `850 KB`, `2.4 MB`, in the decimal units Autotask states its limits in."""
    if size < 10_000:
        return f"{size:,} bytes"
    if size < 999_500:
        return f"{size / 1_000:.0f} KB"
    return f"{size / 1_000_000:.1f} MB"
