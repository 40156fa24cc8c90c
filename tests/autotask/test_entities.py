"""Typed entities read camelCase JSON case-insensitively and write it back without losses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from agent.autotask import ENTITY_TYPES, Company, Contact, Resource, Ticket, TicketNote, TimeEntry
from agent.autotask.wire import WireTypeError, format_datetime, parse_datetime

TICKET_WIRE = {
    "id": 42,
    "ticketNumber": "T20260105.0001",
    "title": "Printer jams",
    "description": None,
    "status": 1,
    "priority": 2,
    "companyID": 7,
    "assignedResourceID": 29682885,
    "assignedResourceRoleID": 29682833,
    "estimatedHours": 1.5,
    "dueDateTime": "2026-01-06T17:00:00Z",
    "lastTrackedModificationDateTime": "2026-01-05T09:12:33.563Z",
    "userDefinedFields": [{"name": "Site", "value": "North"}],
    "rmmAlertID": "abc",
    "serviceLevelAgreementHasBeenMet": False,
}


def test_a_ticket_reads_its_typed_fields() -> None:
    ticket = Ticket.from_wire(TICKET_WIRE)
    assert ticket.id == 42
    assert ticket.title == "Printer jams"
    assert ticket.status == 1
    assert ticket.company_id == 7
    assert ticket.estimated_hours == 1.5
    assert ticket.due_date_time == datetime(2026, 1, 6, 17, tzinfo=UTC)
    assert ticket.last_tracked_modification_date_time == datetime(
        2026, 1, 5, 9, 12, 33, 563000, tzinfo=UTC
    )
    assert ticket.user_defined_fields == {"Site": "North"}


def test_unknown_fields_survive_a_round_trip() -> None:
    ticket = Ticket.from_wire(TICKET_WIRE)
    assert ticket.extra == {"rmmAlertID": "abc", "serviceLevelAgreementHasBeenMet": False}
    wire = ticket.to_wire()
    for key, value in TICKET_WIRE.items():
        assert wire[key] == value, key
    assert Ticket.from_wire(wire) == ticket


def test_field_names_are_read_without_regard_to_case() -> None:
    ticket = Ticket.from_wire({"ID": 3, "CompanyId": 9, "TITLE": "x", "Status": 5})
    assert (ticket.id, ticket.company_id, ticket.title, ticket.status) == (3, 9, "x", 5)
    assert ticket.extra == {}


def test_the_same_field_twice_in_different_case_keeps_both() -> None:
    ticket = Ticket.from_wire({"id": 3, "Id": 4})
    assert ticket.id == 3
    assert ticket.extra == {"Id": 4}


def test_omit_none_leaves_empty_fields_out_for_a_create() -> None:
    wire = TicketNote(ticket_id=42, description="Replaced toner", note_type=1, publish=1).to_wire(
        omit_none=True
    )
    assert wire == {"ticketID": 42, "description": "Replaced toner", "noteType": 1, "publish": 1}


@pytest.mark.parametrize("entity", ENTITY_TYPES)
def test_every_entity_round_trips_an_empty_and_an_unknown_rich_record(entity: type) -> None:
    empty = entity.from_wire({})
    assert entity.from_wire(empty.to_wire()) == empty
    rich = entity.from_wire({"id": 1, "someFutureField": {"nested": [1, 2]}})
    assert rich.to_wire()["someFutureField"] == {"nested": [1, 2]}


def test_entities_name_their_api_path_and_change_marker() -> None:
    assert [e.ENTITY for e in ENTITY_TYPES] == [
        "Tickets",
        "TicketNotes",
        "TimeEntries",
        "Companies",
        "Contacts",
        "Resources",
    ]
    assert Ticket.CHANGE_MARKER == "lastTrackedModificationDateTime"
    assert TimeEntry.CHANGE_MARKER == "lastModifiedDateTime"
    assert Company.CHANGE_MARKER == "lastTrackedModifiedDateTime"
    assert Contact.CHANGE_MARKER == "lastModifiedDate"
    assert Resource.CHANGE_MARKER is None


def test_time_entry_and_contact_types_follow_the_wire() -> None:
    entry = TimeEntry.from_wire(
        {"hoursWorked": 2, "isNonBillable": True, "dateWorked": "2026-01-05T00:00:00"}
    )
    assert entry.hours_worked == 2.0
    assert entry.is_non_billable is True
    assert entry.date_worked == datetime(2026, 1, 5, tzinfo=UTC)
    assert Contact.from_wire({"isActive": 1}).is_active == 1


@pytest.mark.parametrize(
    "wire",
    [
        {"id": "seven"},
        {"id": True},
        {"id": 1.5},
        {"title": 5},
        {"estimatedHours": "lots"},
        {"dueDateTime": "tomorrow"},
        {"dueDateTime": 12},
        {"userDefinedFields": "Site=North"},
        {"userDefinedFields": [{"value": "x"}]},
    ],
)
def test_wrong_wire_types_are_refused(wire: dict[str, object]) -> None:
    with pytest.raises(WireTypeError):
        Ticket.from_wire(wire)


def test_a_record_must_be_an_object() -> None:
    with pytest.raises(WireTypeError):
        Ticket.from_wire([1, 2])


def test_whole_numbers_arrive_as_ints_even_when_sent_as_floats_or_strings() -> None:
    assert Ticket.from_wire({"id": 5.0, "status": "8"}).status == 8


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-05T09:00:00Z", datetime(2026, 1, 5, 9, tzinfo=UTC)),
        ("2026-01-05T09:00:00", datetime(2026, 1, 5, 9, tzinfo=UTC)),
        ("2026-01-05T09:00:00.1234567Z", datetime(2026, 1, 5, 9, 0, 0, 123456, tzinfo=UTC)),
        ("2026-01-05T09:00:00.5+02:00", datetime(2026, 1, 5, 7, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_autotask_date_times_parse_to_aware_values(text: str, expected: datetime) -> None:
    assert parse_datetime(text, "d") == expected


def test_date_times_format_as_utc_with_z() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert format_datetime(datetime(2026, 1, 5, 11, tzinfo=plus_two)) == "2026-01-05T09:00:00Z"
    assert format_datetime(datetime(2026, 1, 5, 9, 0, 0, 563000, tzinfo=UTC)) == (
        "2026-01-05T09:00:00.563Z"
    )
    value = datetime(2026, 1, 5, 9, 0, 0, 123456, tzinfo=UTC)
    assert parse_datetime(format_datetime(value), "d") == value
