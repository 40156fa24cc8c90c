"""The words the window uses for Autotask's field names and the facade's state names."""

from __future__ import annotations

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
    "*": "The whole record",
}

ENTITY_LABELS: dict[str, str] = {
    "Tickets": "Ticket",
    "TicketNotes": "Note",
    "TimeEntries": "Time entry",
}

# The outbox's states as the technician reads them, with the tone of their marker.
STATE_WORDS: dict[str, tuple[str, str]] = {
    "pending": ("Waiting", "pending"),
    "leased": ("Sending", "info"),
    "done": ("Sent", "ok"),
    "parked": ("Needs attention", "error"),
    "conflict": ("Conflict", "conflict"),
    "cancelled": ("Discarded", "muted"),
}

PRIORITIES = ["critical", "high", "normal", "low", "background"]


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name)


def entity_label(entity_type: str) -> str:
    return ENTITY_LABELS.get(entity_type, entity_type)
