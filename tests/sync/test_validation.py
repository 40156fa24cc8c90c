"""Invalid edits are refused locally with every problem named, against the tenant's picklists."""

from __future__ import annotations

import pytest

from agent.api.validation import (
    EditRejected,
    validate_note,
    validate_ticket_update,
    validate_time_entry,
)

PICKLISTS = {
    "status": {1: "New", 5: "Complete", 8: "In Progress"},
    "priority": {1: "High", 2: "Medium", 3: "Low"},
    "noteType": {1: "Task Detail", 13: "Internal"},
    "publish": {1: "All Autotask Users", 2: "Internal Project Team"},
    "queueID": {29683354: "Field Service"},
}
ROLES = {29682885: {29683461, 29683462}}


def problems(exc: pytest.ExceptionInfo[EditRejected]) -> dict[str, str]:
    return {p.field: p.message for p in exc.value.problems}


def test_a_valid_ticket_change_passes() -> None:
    validate_ticket_update({"status": 8, "priority": 1, "title": "Printer jammed"}, PICKLISTS)


def test_picklist_values_are_checked_against_this_tenant() -> None:
    with pytest.raises(EditRejected) as exc:
        validate_ticket_update({"status": 99, "priority": "high"}, PICKLISTS)
    found = problems(exc)
    assert "not a value this tenant allows" in found["status"]
    assert "In Progress (8)" in found["status"]
    assert "priority" in found


def test_assignee_needs_resource_and_matching_role() -> None:
    with pytest.raises(EditRejected, match="both a resource and a role"):
        validate_ticket_update({"assignedResourceID": 29682885}, PICKLISTS, ROLES)
    with pytest.raises(EditRejected, match="not one of resource"):
        validate_ticket_update(
            {"assignedResourceID": 29682885, "assignedResourceRoleID": 1}, PICKLISTS, ROLES
        )
    validate_ticket_update(
        {"assignedResourceID": 29682885, "assignedResourceRoleID": 29683461}, PICKLISTS, ROLES
    )


def test_read_only_and_unknown_fields_cannot_be_edited() -> None:
    with pytest.raises(EditRejected, match="cannot be changed"):
        validate_ticket_update({"lastActivityDate": "2026-01-01T00:00:00Z"}, PICKLISTS)


def test_empty_title_and_bad_due_date_are_refused() -> None:
    with pytest.raises(EditRejected) as exc:
        validate_ticket_update({"title": "   ", "dueDateTime": "next tuesday"}, PICKLISTS)
    assert problems(exc)["title"] == "is required"
    assert "date and time" in problems(exc)["dueDateTime"]


def test_a_note_needs_text_type_and_publish() -> None:
    validate_note(
        {"ticketID": 1, "description": "Replaced toner", "noteType": 1, "publish": 1}, PICKLISTS
    )
    with pytest.raises(EditRejected) as exc:
        validate_note({"ticketID": 1, "description": "", "noteType": 7}, PICKLISTS)
    assert set(problems(exc)) == {"description", "noteType", "publish"}


ENTRY = {
    "resourceID": 29682885,
    "ticketID": 7,
    "dateWorked": "2026-01-05T00:00:00Z",
    "hoursWorked": 1.5,
    "summaryNotes": "On site",
    "roleID": 29683461,
}


def test_a_valid_time_entry_passes() -> None:
    validate_time_entry(ENTRY, PICKLISTS, ROLES)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"hoursWorked": 0}, "hoursWorked", "more than 0"),
        ({"hoursWorked": 24.5}, "hoursWorked", "at most 24"),
        ({"hoursWorked": float("nan")}, "hoursWorked", "number of hours"),
        ({"hoursWorked": None}, "hoursWorked", "start and an end"),
        ({"summaryNotes": ""}, "summaryNotes", "required"),
        ({"roleID": 5}, "roleID", "not one of resource"),
        (
            {"startDateTime": "2026-01-05T10:00:00Z", "endDateTime": "2026-01-05T09:00:00Z"},
            "endDateTime",
            "after the start",
        ),
    ],
)
def test_time_entry_rules(changes: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(EditRejected) as exc:
        validate_time_entry({**ENTRY, **changes}, PICKLISTS, ROLES)
    assert message in problems(exc)[field]


def test_start_and_end_instead_of_hours() -> None:
    entry = {
        **ENTRY,
        "hoursWorked": None,
        "startDateTime": "2026-01-05T09:00:00Z",
        "endDateTime": "2026-01-05T10:30:00Z",
    }
    validate_time_entry(entry, PICKLISTS, ROLES)


def test_a_partial_time_entry_change_checks_only_what_changed() -> None:
    validate_time_entry({"summaryNotes": "Fixed"}, PICKLISTS, ROLES, partial=True)
    with pytest.raises(EditRejected):
        validate_time_entry({"hoursWorked": -1}, PICKLISTS, ROLES, partial=True)
