"""The soak's count itself: typed records against server records, by identity and value."""

from __future__ import annotations

from typing import Any

from tests.soak.truth import Typed, count
from tests.soak.visit_model import VisitTruth

NOTE = {"ticketID": 7, "description": "same words", "noteType": 1, "publish": 1}
TIME = {"ticketID": 7, "summaryNotes": "on site", "hoursWorked": 1.5, "roleID": 3}


def server(notes: list[dict[str, Any]], times: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "TicketNotes": {i: dict(n, id=i) for i, n in enumerate(notes, 1)},
        "TimeEntries": {i: dict(t, id=i) for i, t in enumerate(times, 100)},
        "Tickets": {7: {"id": 7, "title": "typed"}, 8: {"id": 8, "title": "old"}},
    }


def typed_twice() -> Typed:
    typed = Typed()
    for _ in range(2):
        typed.create("TicketNotes", NOTE)
        typed.create("TimeEntries", TIME)
    return typed


def numbers(result: dict[str, Any]) -> tuple[int, int, int]:
    return result["lost"], result["duplicates"], result["mismatched"]


def test_two_identical_records_typed_need_two_on_the_server() -> None:
    typed = typed_twice()
    assert numbers(count(typed, server([NOTE, NOTE], [TIME, TIME]), [])) == (0, 0, 0)
    assert numbers(count(typed, server([NOTE], [TIME, TIME, TIME]), [])) == (1, 1, 0)


def test_a_parked_create_is_not_lost_and_a_different_value_is_a_mismatch() -> None:
    typed = typed_twice()
    parked = [{"entity_type": "TicketNotes", "kind": "create", "fields": NOTE, "reason": "x"}]
    other = dict(TIME, hoursWorked=2.0)
    assert numbers(count(typed, server([NOTE], [TIME, other]), parked)) == (0, 0, 1)


def test_a_refused_capture_on_the_server_is_a_duplicate() -> None:
    typed = Typed()
    typed.refused["same words"] = "DiskFullError"
    assert numbers(count(typed, server([NOTE], []), [])) == (0, 1, 0)


def test_ticket_fields_lost_when_unchanged_and_mismatched_when_different() -> None:
    typed = Typed()
    typed.ticket(7, "title", "old", "typed")
    assert numbers(count(typed, server([], []), [])) == (0, 0, 0)
    typed.ticket(8, "title", "old", "new")
    assert numbers(count(typed, server([], []), [])) == (1, 0, 0)
    typed.ticket(7, "title", "typed", "newer")
    assert numbers(count(typed, server([], []), [])) == (1, 0, 1)


def visit_truth() -> VisitTruth:
    truth = VisitTruth()
    truth.checklist[11] = True
    truth.calls[21] = 1
    truth.charges["part a"] = {"ticketID": 7, "unitQuantity": 2.0}
    truth.charges["part b"] = {"ticketID": 7, "unitQuantity": 1.0}
    truth.charge_deleted("part b")
    truth.files["photo"] = {"parentID": 7, "fileSize": 1200}
    truth.timed["timed"] = {"ticketID": 7, "seconds": 1800}
    return truth


def visit_server(**changes: Any) -> dict[str, dict[int, dict[str, Any]]]:
    records: dict[str, dict[int, dict[str, Any]]] = {
        "TicketChecklistItems": {11: {"id": 11, "isCompleted": True}},
        "ServiceCalls": {21: {"id": 21, "isComplete": 1}},
        "TicketCharges": {31: {"id": 31, "name": "part a", "ticketID": 7, "unitQuantity": 2.0}},
        "TicketAttachments": {41: {"id": 41, "title": "photo", "parentID": 7, "fileSize": 1200}},
        "TimeEntries": {
            51: {
                "id": 51,
                "ticketID": 7,
                "summaryNotes": "timed",
                "startDateTime": "2026-01-05T09:00:00Z",
                "endDateTime": "2026-01-05T09:30:00.000Z",
            }
        },
    }
    for entity, rows in changes.items():
        records[entity] = rows
    return records


def test_visit_edits_each_counted_once_on_the_server() -> None:
    truth = visit_truth()
    assert numbers(truth.check(visit_server(), [])) == (0, 0, 0)
    twice = visit_server()["TicketAttachments"] | {42: {"title": "photo", "parentID": 7}}
    assert numbers(truth.check(visit_server(TicketAttachments=twice), [])) == (0, 1, 0)
    unticked = {11: {"id": 11, "isCompleted": False}}
    assert numbers(truth.check(visit_server(TicketChecklistItems=unticked), [])) == (1, 0, 0)
    parked = [{"entity_type": "TicketChecklistItems", "target_id": 11, "fields": {}}]
    assert numbers(truth.check(visit_server(TicketChecklistItems=unticked), parked)) == (0, 0, 0)
    kept = visit_server()["TicketCharges"] | {32: {"name": "part b", "ticketID": 7}}
    assert numbers(truth.check(visit_server(TicketCharges=kept), [])) == (0, 0, 1)
    longer = {51: dict(visit_server()["TimeEntries"][51], endDateTime="2026-01-05T10:00:00Z")}
    assert numbers(truth.check(visit_server(TimeEntries=longer), [])) == (0, 0, 1)
    assert numbers(truth.check(visit_server(TicketCharges={}, ServiceCalls={}), [])) == (2, 0, 0)
