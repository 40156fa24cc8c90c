"""The Queue page: lazy loading by pages, state filters, per-item actions and the CSV export."""

from __future__ import annotations

import csv
import os
import stat
from pathlib import Path

from pytestqt.qtbot import QtBot

from agent.queue.operation import NewOperation
from agent.store.models import OpKind
from tests.ui.pages.conftest import Desk
from tests.ui.pages.test_mywork import answer_dialog
from ui.models.queue_model import PAGE_SIZE
from ui.pages.queue import QueuePage


def fill_queue(desk: Desk, count: int) -> None:
    tickets = desk.run(desk.agent.my_tickets())
    news = [
        NewOperation(
            OpKind.CREATE,
            "TimeEntries",
            {"ticketID": tickets[i % 5].id, "hoursWorked": 0.25, "summaryNotes": f"Visit {i}"},
            temp_id=f"bulk{i}",
            parent_id=tickets[i % 5].id,
        )
        for i in range(count)
    ]
    desk.agent.store.write(lambda: desk.agent.outbox.enqueue_many(news))


def open_page(desk: Desk, qtbot: QtBot) -> QueuePage:
    page = QueuePage(desk.service)
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    page.activate()
    desk.settle(lambda: not page.model.loading and page.model.total >= 0 and page.count.text())
    return page


def test_the_model_loads_page_by_page_never_all_at_once(synced: Desk, qtbot: QtBot) -> None:
    fill_queue(synced, 2 * PAGE_SIZE + 50)
    page = open_page(synced, qtbot)
    model = page.model
    synced.settle(lambda: model.rowCount() > 0)
    assert model.rowCount() == PAGE_SIZE and model.total == 2 * PAGE_SIZE + 50
    assert model.canFetchMore()
    model.fetchMore()
    assert not model.canFetchMore()  # one request at a time
    synced.settle(lambda: model.rowCount() == 2 * PAGE_SIZE)
    model.fetchMore()
    synced.settle(lambda: model.rowCount() == 2 * PAGE_SIZE + 50)
    assert not model.canFetchMore()
    ids = [model.item_at(r).id for r in range(model.rowCount())]
    assert ids == sorted(set(ids))  # no row twice, none skipped out of order


def test_scrolling_the_view_fetches_the_next_page(synced: Desk, qtbot: QtBot) -> None:
    fill_queue(synced, PAGE_SIZE + 10)
    page = open_page(synced, qtbot)
    synced.settle(lambda: page.model.rowCount() == PAGE_SIZE)
    page.table.scrollToBottom()
    synced.settle(lambda: page.model.rowCount() == PAGE_SIZE + 10)
    assert page.count.text() == f"{PAGE_SIZE + 10} operations"


def test_filters_by_state(synced: Desk, qtbot: QtBot) -> None:
    fill_queue(synced, 3)
    page = open_page(synced, qtbot)
    synced.settle(lambda: page.model.rowCount() == 3)
    page.filter.setCurrentIndex(page.filter.findText("Needs attention"))
    synced.settle(lambda: not page.model.loading)
    assert page.model.rowCount() == 0 and "Nothing here" in page.count.text()
    page.filter.setCurrentIndex(page.filter.findText("Waiting to be sent"))
    synced.settle(lambda: page.model.rowCount() == 3)
    assert {page.model.item_at(r).state for r in range(3)} == {"pending"}


def test_priority_retry_and_discard_act_on_the_selected_operation(
    synced: Desk, qtbot: QtBot
) -> None:
    fill_queue(synced, 2)
    page = open_page(synced, qtbot)
    synced.settle(lambda: page.model.rowCount() == 2)
    page.table.selectRow(0)
    first = page.selected()[0]
    assert first.priority == "normal" and page.raise_button.isEnabled()
    page.raise_button.click()
    synced.settle(lambda: page.model.rowCount() == 2 and page.model.item_at(0).priority == "high")
    page.table.selectRow(0)
    page.lower_button.click()
    synced.settle(lambda: page.model.rowCount() == 2 and page.model.item_at(0).priority == "normal")
    page.table.selectRow(0)
    page.retry_button.click()
    synced.settle(lambda: "Retrying" in page.done_note.text())
    synced.settle(lambda: page.model.rowCount() == 2 and not page.model.loading)
    page.table.selectRow(0)
    assert page.selected() == [page.model.item_at(0)]
    answer_dialog(qtbot, "Discard")
    page.discard_button.click()
    synced.idle()
    synced.settle(lambda: page.model.rowCount() == 1 and not page.model.loading)
    events = synced.run(synced.agent.audit_events(action="discarded"))
    assert [e.op_id for e in events] == [first.id]


def test_cancelling_the_discard_keeps_the_operation(synced: Desk, qtbot: QtBot) -> None:
    fill_queue(synced, 1)
    page = open_page(synced, qtbot)
    synced.settle(lambda: page.model.rowCount() == 1)
    page.table.selectRow(0)
    answer_dialog(qtbot, "Cancel")
    page.discard_selected()
    synced.idle()
    assert synced.run(synced.agent.queue_page()).total == 1


def test_export_writes_every_operation_as_csv(synced: Desk, qtbot: QtBot, tmp_path: Path) -> None:
    fill_queue(synced, 5)
    page = open_page(synced, qtbot)
    target = tmp_path / "queue.csv"
    page.export_to(target)
    synced.settle(lambda: page.export_button.isEnabled() and target.exists())
    with target.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5
    assert "Exported" in page.done_note.text()
    from datetime import datetime

    created = datetime.fromisoformat(rows[0]["created_at"])  # ISO 8601, not Unix seconds
    assert created.tzinfo is not None  # with this computer's offset
    assert (
        created.utcoffset() == datetime.fromtimestamp(created.timestamp()).astimezone().utcoffset()
    )


def test_sending_is_not_shown_as_a_problem_but_a_lost_answer_is_said_calmly(
    synced: Desk, qtbot: QtBot
) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor

    from ui.models.look import TONES
    from ui.models.queue_model import PROBLEM, STATE

    fill_queue(synced, 2)
    outbox, clock = synced.agent.outbox, synced.clock
    now = clock.now().timestamp()

    def in_flight_and_lost() -> None:
        first, second = outbox.claim("w", 60, limit=2)
        outbox.mark_sent(first.id)  # on the wire right now
        outbox.mark_sent(second.id)
        outbox.release(second.id, now, "answer lost", "reconcile", outcome_unknown=True)

    synced.agent.store.write(in_flight_and_lost)
    page = open_page(synced, qtbot)
    model = page.model
    by_state = {model.item_at(r).state: r for r in range(model.rowCount())}
    sending, lost = by_state["leased"], by_state["pending"]
    assert model.index(sending, STATE).data() == "Sending"
    assert model.index(sending, PROBLEM).data() == ""
    assert model.index(lost, STATE).data().endswith("(outcome unknown)")
    assert "earlier attempt" in model.index(lost, PROBLEM).data()
    colour = model.index(lost, PROBLEM).data(Qt.ItemDataRole.ForegroundRole)
    assert colour == QColor(TONES["pending"][0]) != QColor(TONES["error"][0])


def test_a_filtered_export_is_readable_by_the_user_only(
    synced: Desk, qtbot: QtBot, tmp_path: Path
) -> None:
    fill_queue(synced, 3)
    page = open_page(synced, qtbot)
    page.filter.setCurrentIndex(page.filter.findText("Waiting to be sent"))
    synced.settle(lambda: page.model.rowCount() == 3)
    target = tmp_path / "queue.csv"
    target.write_text("an older export\n", encoding="utf-8")
    target.chmod(0o644)
    page.export_to(target)
    synced.settle(lambda: page.export_button.isEnabled() and "Exported" in page.done_note.text())
    with target.open(encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 3
    if os.name == "posix":
        assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_what_it_changes_keeps_its_room_on_a_laptop_sized_page(synced: Desk, qtbot: QtBot) -> None:
    """On the page a 1280x720 window leaves (about 1000 px), "What it changes" is not squeezed
    to a few words by fixed columns, and no column runs past the list's edge."""
    from ui.models.queue_model import WHAT

    fill_queue(synced, 3)
    page = open_page(synced, qtbot)
    page.resize(1000, 600)
    synced.settle(lambda: page.model.rowCount() == 3)
    head, view = page.table.horizontalHeader(), page.table.viewport().width()
    assert head.sectionSize(WHAT) >= 0.4 * view
    for col in range(head.count()):
        if not head.isSectionHidden(col):
            x = head.sectionViewportPosition(col)
            assert x >= 0 and x + head.sectionSize(col) <= view, col


def test_every_filter_exports_the_same_columns(synced: Desk, qtbot: QtBot, tmp_path: Path) -> None:
    from agent.api.exports import QUEUE_COLUMNS

    fill_queue(synced, 3)
    page = open_page(synced, qtbot)
    headers = {}
    for name in ("All operations", "Waiting to be sent", "Sent"):
        page.filter.setCurrentIndex(page.filter.findText(name))
        synced.settle(lambda: not page.model.loading)
        target = tmp_path / f"{name}.csv"
        page.done_note.setText("")
        page.export_to(target)
        synced.settle(
            lambda: page.export_button.isEnabled() and "Exported" in page.done_note.text()
        )
        with target.open(encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            headers[name] = reader.fieldnames
        assert len(rows) == (0 if name == "Sent" else 3), name
        assert all(r["outcome_unknown"] == "False" for r in rows)
    assert all(h == QUEUE_COLUMNS for h in headers.values()), headers
    assert "entity_key" in QUEUE_COLUMNS and "last_error" in QUEUE_COLUMNS


def test_a_refresh_keeps_the_selected_operation_selected(synced: Desk, qtbot: QtBot) -> None:
    """The list reloads whenever the queue changes (during a sync, every few hundred ms): the
    operation the technician selected stays selected, and its pane stays filled."""
    fill_queue(synced, 5)
    page = open_page(synced, qtbot)
    synced.settle(lambda: page.model.rowCount() == 5)
    page.table.selectRow(2)
    chosen = page.selected()[0]
    assert f"operation #{chosen.id}" in page.detail_text.text()
    page.reload()  # as when the queue changed: the list is read again in place
    synced.settle(lambda: not page.model.loading and page.model.rowCount() == 5)
    assert [i.id for i in page.selected()] == [chosen.id]
    assert f"operation #{chosen.id}" in page.detail_text.text()
