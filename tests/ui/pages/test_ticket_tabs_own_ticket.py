"""The Notes and Time tabs speak of the ticket shown: a message, or a note half typed, does not
follow the technician to another ticket (the draft waits for its own)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.ui.pages.conftest import Desk
from tests.ui.pages.test_mywork import choose, open_page


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
