"""The Notes and Time tabs speak of the ticket shown: a message, or a note half typed, does not
follow the technician to another ticket (the draft waits for its own). Fields of the ticket typed
in but not saved are never dropped unasked: choosing another ticket asks to save, discard or
stay."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from tests.ui.pages.conftest import Desk
from tests.ui.pages.test_mywork import choose, open_page
from ui.pages.mywork import MyWorkPage


def test_notes_keep_their_draft_and_messages_with_their_ticket(synced: Desk, qtbot: QtBot) -> None:
    synced.run(synced.agent.set_work_offline(True))
    page = open_page(synced, qtbot)
    first, second = synced.run(synced.agent.my_tickets())[:2]
    choose(synced, page, first.id)
    notes = page.panel.notes
    notes.description.setPlainText("Saved for the first")
    qtbot.mouseClick(notes.add, Qt.MouseButton.LeftButton)
    synced.settle(lambda: notes.result.text().startswith("Note saved"))
    notes.description.setPlainText("half typed for the first")
    choose(synced, page, second.id)
    assert notes.result.text() == ""  # the message was about the first ticket
    assert notes.description.toPlainText() == ""  # its draft stays with it
    choose(synced, page, first.id)
    assert notes.description.toPlainText() == "half typed for the first"
    detail = synced.run(synced.agent.ticket(second.id))
    assert detail is not None and not [n for n in detail.notes if n.pending]


def test_the_time_tab_message_stays_with_its_ticket(synced: Desk, qtbot: QtBot) -> None:
    page = open_page(synced, qtbot)
    first, second = synced.run(synced.agent.my_tickets())[:2]
    choose(synced, page, first.id)
    time = page.panel.time
    time.result.setText("Time logged on this laptop; it is sent to Autotask when it can be.")
    choose(synced, page, second.id)
    assert time.result.text() == ""


def answer(qtbot: QtBot, button_text: str, asked: list[str]) -> None:
    """Click `button_text` in the question about unsaved changes once it is shown."""

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(5, click)
            return
        asked.append(box.text())
        button = next(b for b in box.buttons() if b.text() == button_text)
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, click)


def typed_title(desk: Desk, page: MyWorkPage, ticket_id: int, words: str) -> None:
    choose(desk, page, ticket_id)
    page.panel.details.title.setText(words)
    assert page.panel.details.dirty()


def pending_title(desk: Desk, ticket_id: int) -> bool:
    detail = desk.run(desk.agent.ticket(ticket_id))
    return detail is not None and detail.fields["title"].pending


def test_choosing_another_ticket_asks_and_cancel_keeps_the_typing(
    synced: Desk, qtbot: QtBot
) -> None:
    page = open_page(synced, qtbot)
    first, second = synced.run(synced.agent.my_tickets())[:2]
    typed_title(synced, page, first.id, "Typed, not saved")
    asked: list[str] = []
    answer(qtbot, "Cancel", asked)
    page.select_ticket(second.id)  # a click in the list
    synced.idle()
    QApplication.processEvents()
    assert asked and "Title" in asked[0] and first.number in asked[0]
    assert page.panel.ticket_id == first.id  # stayed
    assert page.panel.details.title.text() == "Typed, not saved"
    chosen = page.table.selectionModel().selectedRows()
    assert [page.model.ticket_at(page.proxy.mapToSource(i).row()).id for i in chosen] == [first.id]
    assert not pending_title(synced, first.id)


def test_save_captures_the_typing_then_shows_the_other_ticket(synced: Desk, qtbot: QtBot) -> None:
    synced.run(synced.agent.set_work_offline(True))
    page = open_page(synced, qtbot)
    first, second = synced.run(synced.agent.my_tickets())[:2]
    typed_title(synced, page, first.id, "Saved on the way out")
    answer(qtbot, "Save changes", [])
    choose(synced, page, second.id)
    assert page.panel.details.title.text() == second.title
    detail = synced.run(synced.agent.ticket(first.id))
    assert detail is not None and detail.fields["title"].value == "Saved on the way out"
    assert pending_title(synced, first.id)


def test_discard_drops_the_typing_and_shows_the_other_ticket(synced: Desk, qtbot: QtBot) -> None:
    page = open_page(synced, qtbot)
    first, second = synced.run(synced.agent.my_tickets())[:2]
    typed_title(synced, page, first.id, "Thrown away, as asked")
    answer(qtbot, "Discard changes", [])
    choose(synced, page, second.id)
    assert not pending_title(synced, first.id)
    choose(synced, page, first.id)  # nothing asked: nothing typed any more
    assert page.panel.details.title.text() == first.title
