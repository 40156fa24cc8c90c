"""My work and a ticket's page: listing, search and filters, markers, edits with inline errors,
notes and time entries, all captured without the network."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.ui.pages.conftest import Desk
from ui.models.tickets_model import NUMBER
from ui.pages.mywork import MyWorkPage


def open_page(desk: Desk, qtbot: QtBot) -> MyWorkPage:
    page = MyWorkPage(desk.service)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    page.activate()
    desk.settle(lambda: page.model.rowCount() > 0)
    return page


def choose(desk: Desk, page: MyWorkPage, ticket_id: int) -> None:
    assert page.select_ticket(ticket_id)
    desk.settle(lambda: page.panel.detail is not None and page.panel.detail.id == ticket_id)


def test_lists_the_technicians_tickets_and_filters_them(synced: Desk, qtbot: QtBot) -> None:
    page = open_page(synced, qtbot)
    tickets = synced.run(synced.agent.my_tickets())
    assert page.model.rowCount() == len(tickets)
    target = tickets[0]
    page.search.setText(target.number)
    assert page.proxy.rowCount() == 1
    page.search.setText(target.company.upper())
    assert page.proxy.rowCount() == sum(t.company == target.company for t in tickets)
    page.search.clear()
    page.status.setCurrentIndex(page.status.findData(target.status))
    page.priority.setCurrentIndex(page.priority.findData(target.priority))
    page.company.setCurrentIndex(page.company.findData(target.company_id))
    expected = [
        t
        for t in tickets
        if (t.status, t.priority, t.company_id)
        == (target.status, target.priority, target.company_id)
    ]
    assert page.proxy.rowCount() == len(expected) >= 1
    assert page.count.text() == f"{len(expected)} of {len(tickets)} tickets"


def test_columns_sort_by_their_values(synced: Desk, qtbot: QtBot) -> None:
    page = open_page(synced, qtbot)
    page.table.sortByColumn(NUMBER, Qt.SortOrder.DescendingOrder)
    shown = [page.proxy.index(r, NUMBER).data() for r in range(page.proxy.rowCount())]
    assert shown == sorted(shown, reverse=True)


def test_a_pending_ticket_is_marked_and_its_tooltip_lists_the_fields(
    synced: Desk, qtbot: QtBot
) -> None:
    page = open_page(synced, qtbot)
    ticket = synced.run(synced.agent.my_tickets())[0]
    synced.run(synced.agent.update_ticket(ticket.id, title="New words"))
    page.refresh()
    synced.settle(lambda: page.model.ticket_at(page.model.row_of(ticket.id) or 0).pending_fields)
    index = page.model.index(page.model.row_of(ticket.id) or 0, NUMBER)
    assert index.data(Qt.ItemDataRole.DecorationRole) is not None
    assert "Waiting to be sent: Title" in index.data(Qt.ItemDataRole.ToolTipRole)
    other = page.model.index(page.model.row_of(synced.run(synced.agent.my_tickets())[1].id), 0)
    assert other.data(Qt.ItemDataRole.DecorationRole) is None


def test_saving_sends_only_the_changed_fields_and_marks_them_pending(
    synced: Desk, qtbot: QtBot
) -> None:
    synced.run(synced.agent.set_work_offline(True))
    page = open_page(synced, qtbot)
    ticket = synced.run(synced.agent.my_tickets())[0]
    choose(synced, page, ticket.id)
    details = page.panel.details
    assert not details.save.isEnabled()
    new_priority = next(
        details.priority.itemData(i)
        for i in range(details.priority.count())
        if details.priority.itemData(i) != ticket.priority
    )
    details.priority.setCurrentIndex(details.priority.findData(new_priority))
    assert details.changes() == {"priority": new_priority}
    qtbot.mouseClick(details.save, Qt.MouseButton.LeftButton)
    synced.settle(lambda: details.rows["priority"].chip.isVisibleTo(details))
    queued = synced.run(synced.agent.queue_page()).items
    assert [q.description for q in queued] == [
        f"Change ticket {ticket.number}: Priority → {details.priority.currentText()}"
    ]
    assert details.label_italic("priority")
    assert not details.label_italic("title")


def test_a_refused_edit_shows_the_problem_next_to_its_field(synced: Desk, qtbot: QtBot) -> None:
    page = open_page(synced, qtbot)
    ticket = synced.run(synced.agent.my_tickets())[0]
    choose(synced, page, ticket.id)
    details = page.panel.details
    details.title.setText("   ")
    qtbot.mouseClick(details.save, Qt.MouseButton.LeftButton)
    synced.settle(lambda: details.rows["title"].error.isVisibleTo(details))
    assert details.rows["title"].error.text() == "Title is required"
    assert not details.rows["status"].error.isVisibleTo(details)
    assert synced.run(synced.agent.queue_page()).total == 0
    details.title.setText("A proper title")
    qtbot.mouseClick(details.save, Qt.MouseButton.LeftButton)
    synced.settle(lambda: not details.rows["title"].error.isVisibleTo(details))
    assert synced.run(synced.agent.queue_page()).total == 1


def test_notes_and_time_are_captured_offline_with_inline_validation(
    synced: Desk, qtbot: QtBot
) -> None:
    synced.run(synced.agent.set_work_offline(True))
    page = open_page(synced, qtbot)
    ticket = synced.run(synced.agent.my_tickets())[2]
    choose(synced, page, ticket.id)
    notes, times = page.panel.notes, page.panel.time
    qtbot.mouseClick(notes.add, Qt.MouseButton.LeftButton)  # empty note: refused
    synced.settle(lambda: notes.form.fields[1].error.isVisibleTo(notes))
    assert "required" in notes.form.fields[1].error.text()
    notes.title.setText("Visit")
    notes.description.setPlainText("Swapped the PSU.")
    qtbot.mouseClick(notes.add, Qt.MouseButton.LeftButton)
    synced.settle(lambda: any(n.pending for n in page.panel.detail.notes))  # type: ignore[union-attr]
    assert notes.list.count() == len(page.panel.detail.notes)  # type: ignore[union-attr]

    before = len(page.panel.detail.time_entries)  # type: ignore[union-attr]
    times.summary.setPlainText("")
    qtbot.mouseClick(times.save, Qt.MouseButton.LeftButton)
    synced.settle(lambda: times.form.fields[3].error.isVisibleTo(times))
    assert times.form.fields[3].error.text() == "Summary is required"
    times.by_hours.setChecked(True)
    times.hours.setValue(1.5)
    times.summary.setPlainText("Replaced the power supply")
    qtbot.mouseClick(times.save, Qt.MouseButton.LeftButton)
    synced.settle(lambda: len(page.panel.detail.time_entries) == before + 1)  # type: ignore[union-attr]
    entry = next(t for t in page.panel.detail.time_entries if t.pending)  # type: ignore[union-attr]
    assert (entry.hours, entry.summary) == (1.5, "Replaced the power supply")
    assert not times.form.fields[3].error.isVisibleTo(times)


def test_a_refresh_keeps_the_time_being_typed_and_its_messages(synced: Desk, qtbot: QtBot) -> None:
    page = open_page(synced, qtbot)
    first, second = synced.run(synced.agent.my_tickets())[:2]
    choose(synced, page, first.id)
    times = page.panel.time
    times.by_hours.setChecked(True)
    times.hours.setValue(2.25)
    times.hours.setValue(0)  # refused: no time
    times.summary.setPlainText("Half way through the PSU swap")
    qtbot.mouseClick(times.save, Qt.MouseButton.LeftButton)
    synced.settle(lambda: times.form.fields[1].error.isVisibleTo(times))
    shown = times.form.fields[1].error.text()
    page.panel.reload()  # as after a sync or a note added
    detail = page.panel.detail
    synced.settle(lambda: page.panel.detail is not detail)
    assert times.summary.toPlainText() == "Half way through the PSU swap"
    assert times.by_hours.isChecked()
    assert times.form.fields[1].error.isVisibleTo(times)
    assert times.form.fields[1].error.text() == shown
    choose(synced, page, second.id)  # another ticket: a fresh form
    assert times.summary.toPlainText() == ""
    assert not times.form.fields[1].error.isVisibleTo(times)


def test_adding_a_note_keeps_a_half_typed_edit_of_the_ticket(synced: Desk, qtbot: QtBot) -> None:
    page = open_page(synced, qtbot)
    ticket = synced.run(synced.agent.my_tickets())[1]
    choose(synced, page, ticket.id)
    details, notes = page.panel.details, page.panel.notes
    details.title.setText("Printer jams on duplex (typed, not saved)")
    assert details.dirty()
    notes.title.setText("Visit")
    notes.description.setPlainText("Cleaned the rollers.")
    detail = page.panel.detail
    qtbot.mouseClick(notes.add, Qt.MouseButton.LeftButton)
    synced.settle(lambda: page.panel.detail is not detail)
    assert details.title.text() == "Printer jams on duplex (typed, not saved)"
    assert details.save.isEnabled()


def test_a_change_made_elsewhere_shows_on_the_open_ticket_unless_typing(
    synced: Desk, qtbot: QtBot
) -> None:
    """Changed from the command line (or a resolved conflict) while the ticket is open and
    nothing is typed: the form shows it, and has nothing to save (saving the old value shown
    would have undone it)."""
    synced.run(synced.agent.set_work_offline(True))
    page = open_page(synced, qtbot)
    ticket = synced.run(synced.agent.my_tickets())[2]
    choose(synced, page, ticket.id)
    details = page.panel.details
    title = f"{ticket.title} (changed elsewhere)"
    synced.run(synced.agent.update_ticket(ticket.id, title=title))
    synced.settle(lambda: details.title.text() == title)
    assert not details.save.isEnabled() and details.changes() == {}
    details.title.setText("Typed here")
    synced.run(synced.agent.update_ticket(ticket.id, title=f"{title} again"))
    detail = page.panel.detail
    page.panel.reload()  # a refresh while typing (the queue's own waits for the typing)
    synced.settle(lambda: page.panel.detail is not detail)
    assert details.title.text() == "Typed here" and details.save.isEnabled()


def test_a_time_entry_can_be_edited_and_deleted(synced: Desk, qtbot: QtBot) -> None:
    page = open_page(synced, qtbot)
    ticket = next(
        t
        for t in synced.run(synced.agent.my_tickets())
        if synced.run(synced.agent.ticket(t.id)).time_entries  # type: ignore[union-attr]
    )
    choose(synced, page, ticket.id)
    times = page.panel.time
    times.table.selectRow(0)
    key = times.selected().key  # type: ignore[union-attr]
    times.start_edit()
    assert times.editing is not None and times.editing.key == key
    times.summary.setPlainText("Corrected summary")
    qtbot.mouseClick(times.save, Qt.MouseButton.LeftButton)
    synced.settle(
        lambda: any(
            t.key == key and t.summary == "Corrected summary"
            for t in page.panel.detail.time_entries  # type: ignore[union-attr]
        )
    )
    ops = synced.run(synced.agent.queue_page()).items
    assert len(ops) == 1 and "Summary → Corrected summary" in ops[0].description
    times.table.selectRow(next(r for r in range(times.table.rowCount()) if _key(times, r) == key))
    answer_dialog(qtbot, "Delete")
    times.delete_selected()
    synced.settle(
        lambda: any(
            t.key == key and t.deleted
            for t in page.panel.detail.time_entries  # type: ignore[union-attr]
        )
    )


def _key(times: object, row: int) -> str:
    item = times.table.item(row, 0)  # type: ignore[attr-defined]
    return str(item.data(Qt.ItemDataRole.UserRole).key)


def answer_dialog(qtbot: QtBot, button_text: str) -> None:
    """Click `button_text` in the next modal message box, as the technician would."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    tries = [0]

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            tries[0] += 1
            if tries[0] < 300:  # give up after ~3 s so a stray timer cannot outlive its test
                QTimer.singleShot(10, click)
            return
        button = next(b for b in box.buttons() if b.text() == button_text)
        button.click()

    QTimer.singleShot(0, click)
