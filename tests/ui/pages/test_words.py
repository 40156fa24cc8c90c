"""Words people read: the Queue in picklist labels and ticket numbers, "Next try" and "Retry now"
following the connection, the Audit page in sentences, filtered as typed and exported as shown,
the conflict naming who changed the record, and "Open in Autotask" while online."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.ui.pages.conftest import Desk
from tests.ui.pages.test_health_audit import open_audit
from ui.dialogs.conflict_values import load_context
from ui.models.queue_model import NEXT, WHAT
from ui.pages.queue import QueuePage
from ui.pages.ticket import TicketPanel

LONG = (
    "The customer's printer on the second floor jams whenever duplex printing is used with the "
    "heavier paper stock kept in tray two"
)


def open_queue(desk: Desk, qtbot: QtBot) -> QueuePage:
    desk.service.refresh_status()
    page = QueuePage(desk.service)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    page.activate()
    desk.idle()
    return page


def test_the_queue_names_picklist_labels_and_ticket_numbers_and_cuts_at_a_word(
    synced: Desk, qtbot: QtBot
) -> None:
    ticket = synced.run(synced.agent.my_tickets())[0]
    labels = synced.run(synced.agent.picklists("Tickets"))["priority"]
    other = next(v for v in labels if v != ticket.priority)
    synced.run(synced.agent.update_ticket(ticket.id, priority=other, description=LONG))
    page = open_queue(synced, qtbot)
    shown = page.model.data(page.model.index(0, WHAT))
    tip = page.model.data(page.model.index(0, WHAT), Qt.ItemDataRole.ToolTipRole)
    assert f"ticket {ticket.number}" in shown and f"#{ticket.id}" not in shown
    assert f"Priority → {labels[other]}" in tip and "priority ->" not in tip
    assert shown.endswith("…") and len(shown) <= 90
    assert shown[:-1].rstrip() in LONG or shown[:-1].split()[-1] in LONG.split()  # a whole word
    assert LONG in tip  # the full text in the tooltip


def painted_text(table, index) -> str:  # type: ignore[no-untyped-def]
    """The text the view paints in a cell (what its delegate makes of the model's text)."""
    from PySide6.QtWidgets import QStyleOptionViewItem

    option = QStyleOptionViewItem()
    table.initViewItemOption(option)
    option.rect = table.visualRect(index)
    table.itemDelegateForIndex(index).initStyleOption(option, index)
    return str(option.text)


def test_a_long_change_is_cut_after_a_word_in_a_laptop_sized_queue(
    synced: Desk, qtbot: QtBot
) -> None:
    ticket = synced.run(synced.agent.my_tickets())[0]
    synced.run(synced.agent.update_ticket(ticket.id, description=LONG))
    page = open_queue(synced, qtbot)
    page.resize(1032, 600)  # a 1280x720 window less the sidebar
    synced.idle()
    index = page.model.index(0, WHAT)
    model_text = page.model.data(index)
    shown = painted_text(page.table, index)
    assert shown.endswith("…") and len(shown) < len(model_text), shown
    head = shown[:-1]
    assert model_text.startswith(head)
    assert model_text[len(head)] in " ,;:", shown  # it ends where a word ends
    assert LONG in page.model.data(index, Qt.ItemDataRole.ToolTipRole)


def test_next_try_and_retry_now_follow_the_connection(synced: Desk, qtbot: QtBot) -> None:
    ticket = synced.run(synced.agent.my_tickets())[0]
    synced.run(synced.agent.update_ticket(ticket.id, title="Retried"))
    page = open_queue(synced, qtbot)
    page.table.selectRow(0)
    assert page.model.data(page.model.index(0, NEXT)) == "at the next sync"  # online
    assert page.retry_button.isEnabled()
    synced.run(synced.agent.set_work_offline(True))
    synced.service.refresh_status()
    synced.idle()
    assert page.model.data(page.model.index(0, NEXT)) == "as soon as online"
    assert not page.retry_button.isEnabled() and "offline" in page.retry_button.toolTip()


def test_audit_summaries_read_as_words_and_filter_as_typed(synced: Desk, qtbot: QtBot) -> None:
    tickets = synced.run(synced.agent.my_tickets())
    synced.run(synced.agent.update_ticket(tickets[0].id, title="Audited title"))
    synced.run(synced.agent.update_ticket(tickets[1].id, title="Another one"))
    page = open_audit(synced, qtbot)
    summaries = [page.model.data(page.model.index(r, 4)) for r in range(page.model.rowCount())]
    assert "Change: Title → Audited title" in summaries
    assert not any("kind=" in s or "'update'" in s for s in summaries)
    qtbot.keyClicks(page.text, "Another")  # no Enter: it applies as typed
    qtbot.waitUntil(lambda: not page._typed.isActive(), timeout=2000)
    synced.idle()
    rows = [page.model.entry_at(r) for r in range(page.model.rowCount())]
    assert rows and all("Another one" in str(e.detail) for e in rows)


def test_audit_export_writes_what_the_filter_shows_with_local_iso_times(
    synced: Desk, qtbot: QtBot, tmp_path: Path
) -> None:
    tickets = synced.run(synced.agent.my_tickets())
    synced.run(synced.agent.update_ticket(tickets[0].id, title="Exported title"))
    synced.run(synced.agent.update_ticket(tickets[1].id, title="Left out"))
    page = open_audit(synced, qtbot)
    page.show_entity("Tickets", str(tickets[0].id))
    synced.idle()
    target = tmp_path / "audit.csv"
    page.export_to(target)
    synced.idle()
    with target.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and len(rows) == page.model.rowCount()
    assert {r["entity_id"] for r in rows} == {str(tickets[0].id)}
    when = datetime.fromisoformat(rows[0]["at"])  # ISO 8601, not Unix seconds
    assert when.tzinfo is not None
    assert when.utcoffset() == datetime.fromtimestamp(when.timestamp()).astimezone().utcoffset()


def test_the_conflict_names_the_dispatcher_even_after_another_field_was_sent(
    synced: Desk, qtbot: QtBot
) -> None:
    agent, sim = synced.agent, synced.sim
    ticket = synced.run(agent.my_tickets())[0]
    statuses = synced.run(agent.picklists("Tickets"))["status"]
    priorities = synced.run(agent.picklists("Tickets"))["priority"]
    new_status = next(v for v in statuses if v not in (ticket.status, 5))
    mine, theirs = [v for v in priorities if v != ticket.priority][:2]
    synced.run(agent.set_work_offline(True))
    synced.run(agent.update_ticket(ticket.id, status=new_status, priority=mine))
    sim.edit_ticket(ticket.id, priority=theirs)  # the dispatcher, meanwhile
    synced.run(agent.set_work_offline(False))
    synced.run(agent.sync_now())
    synced.run(agent.sync_now())
    conflicts = synced.run(agent.conflicts())
    assert [c.field for c in conflicts] == ["priority"]
    # The status reached Autotask: the ticket's last activity is now the technician's own.
    context = synced.run(load_context(synced.service, conflicts))
    dispatcher = synced.run(agent.resources())[sim.dispatcher_resource_id][0]
    assert context.who("Tickets", ticket.id) == dispatcher


def test_open_in_autotask_is_offered_on_the_ticket_while_online(synced: Desk, qtbot: QtBot) -> None:
    ticket = synced.run(synced.agent.my_tickets())[0]
    synced.service.refresh_status()
    synced.idle()
    panel = TicketPanel(synced.service)
    qtbot.addWidget(panel)
    panel.show()
    panel.show_ticket(ticket.id)
    synced.idle()
    assert panel.web_button.isVisibleTo(panel)
    url = panel.web_url()
    zone = synced.agent.client.zone  # type: ignore[union-attr]
    assert url is not None and url.startswith(zone.web_url)  # type: ignore[union-attr]
    assert url.endswith(f"TicketID={ticket.id}")
    synced.run(synced.agent.set_work_offline(True))
    synced.service.refresh_status()
    synced.idle()
    assert not panel.web_button.isVisibleTo(panel)


def test_the_audit_trail_names_labels_and_ticket_numbers_and_finds_them(
    synced: Desk, qtbot: QtBot
) -> None:
    ticket = synced.run(synced.agent.my_tickets())[0]
    lists = synced.run(synced.agent.picklists("Tickets"))
    status, label = next((k, v) for k, v in sorted(lists["status"].items()) if k != ticket.status)
    synced.run(synced.agent.update_ticket(ticket.id, status=status))
    found = synced.run(synced.agent.audit_events(text=label))
    assert found, "the label as shown is searchable"
    assert any(e.summary.endswith(f"Status → {label}") for e in found)
    assert any(e.record == f"Ticket {ticket.number}" for e in found)
    assert synced.run(synced.agent.audit_events(text=ticket.number))


def test_parts_checklist_files_calls_and_the_stopwatch_read_as_words_in_queue_and_audit(
    synced: Desk, qtbot: QtBot
) -> None:
    import re

    agent = synced.agent
    synced.run(agent.set_work_offline(True))
    tickets = synced.run(agent.my_tickets())
    ticked = next(t for t in tickets if synced.run(agent.checklist(t.id)))
    item = synced.run(agent.checklist(ticked.id))[0]
    synced.run(agent.set_checklist_item(ticked.id, item.id, not item.done))
    synced.run(agent.add_charge(tickets[0].id, quantity=2, name="Network cable"))
    synced.run(agent.attach_data(tickets[1].id, "rack.png", b"\x89PNG not really"))
    call = synced.run(agent.today(30))[0]
    synced.run(agent.complete_service_call(call.id))
    synced.run(agent.start_timer(tickets[2].id))
    synced.run(agent.stop_timer())
    # Program values a person should never have to read: wire names, entity names, temporary
    # keys, ISO 8601 stamps, true/false.
    raw = re.compile(
        r"isCompleted|isComplete\b|completedDateTime|chargeType|datePurchased|fullPath|fileSize|attachmentType|"
        r"parentID|ticketchecklistitems|ticketattachments|servicecalls|~[0-9a-f]{8}|"
        r"\d{4}-\d\d-\d\dT\d\d|\bTrue\b|\bFalse\b"
    )
    queue = open_queue(synced, qtbot)
    said = [queue.model.data(queue.model.index(r, WHAT)) for r in range(queue.model.rowCount())]
    assert f"{'Untick' if item.done else 'Tick'} checklist item on ticket {ticked.number}" in (
        " ".join(said)
    )
    assert any(s.startswith("Attach rack.png (") and tickets[1].number in s for s in said)
    assert f"Mark service call {call.id} complete" in said
    assert not [s for s in said if raw.search(s)], said
    audit = open_audit(synced, qtbot)
    for r in range(audit.model.rowCount()):
        audit.table.selectRow(r)
        entry = audit.model.entry_at(r)
        shown = [audit.model.data(audit.model.index(r, c)) for c in range(5)]
        shown.append(audit.details.toPlainText())
        assert not [s for s in shown if s and raw.search(s)], (entry.action, shown)
