"""What the window says is pending is true: per ticket, for its notes too, and editor messages
stay with the ticket they are about."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.ui.pages.conftest import Desk
from tests.ui.pages.test_mywork import choose, open_page
from ui.models.tickets_model import NUMBER


def test_unsent_notes_mark_their_ticket_and_count_in_the_badge(synced: Desk, qtbot: QtBot) -> None:
    synced.run(synced.agent.set_work_offline(True))
    page = open_page(synced, qtbot)
    counts: list[int] = []
    page.countChanged.connect(counts.append)
    ticket = synced.run(synced.agent.my_tickets())[2]
    for n in range(3):
        synced.run(synced.agent.add_note(ticket.id, f"n{n}", title="t", publish=1, note_type=1))
    page.refresh()
    synced.settle(lambda: counts and counts[-1] == 1)
    index = page.model.index(page.model.row_of(ticket.id) or 0, NUMBER)
    assert index.data(Qt.ItemDataRole.DecorationRole) is not None
    assert "3 notes" in index.data(Qt.ItemDataRole.ToolTipRole)
    choose(synced, page, ticket.id)
    assert page.panel.state_chip.text() == "Changes waiting to be sent"


def test_unsent_parts_checklist_ticks_and_files_mark_their_ticket_too(
    synced: Desk, qtbot: QtBot
) -> None:
    agent = synced.agent
    synced.run(agent.set_work_offline(True))
    page = open_page(synced, qtbot)
    counts: list[int] = []
    page.countChanged.connect(counts.append)
    tickets = synced.run(agent.my_tickets())
    ticked = next(t for t in tickets if synced.run(agent.checklist(t.id)))
    part, photo = [t for t in tickets if t.id != ticked.id][:2]
    item = synced.run(agent.checklist(ticked.id))[0]
    synced.run(agent.set_checklist_item(ticked.id, item.id, not item.done))
    synced.run(agent.add_charge(part.id, quantity=2, name="Network cable"))
    synced.run(agent.attach_data(photo.id, "rack.png", b"\x89PNG not really"))
    page.refresh()
    synced.settle(lambda: bool(counts) and counts[-1] == 3)
    for ticket, words in (
        (ticked, "1 checklist item"),
        (part, "1 part"),
        (photo, "1 file"),
    ):
        index = page.model.index(page.model.row_of(ticket.id) or 0, NUMBER)
        assert index.data(Qt.ItemDataRole.DecorationRole) is not None, words
        assert f"Waiting to be sent: {words}" in index.data(Qt.ItemDataRole.ToolTipRole)
        choose(synced, page, ticket.id)
        assert page.panel.state_chip.text() == "Changes waiting to be sent", words


def test_editor_messages_stay_with_their_ticket(synced: Desk, qtbot: QtBot) -> None:
    synced.run(synced.agent.set_work_offline(True))
    page = open_page(synced, qtbot)
    first, second = synced.run(synced.agent.my_tickets())[:2]
    choose(synced, page, first.id)
    details = page.panel.details
    details.description.setPlainText("Typed, then taken back")
    assert details.saved_note.text() == "Unsaved: Description"
    qtbot.mouseClick(details.revert, Qt.MouseButton.LeftButton)
    assert details.saved_note.text() == ""  # nothing is unsaved any more
    details.title.setText("Saved here")
    qtbot.mouseClick(details.save, Qt.MouseButton.LeftButton)
    synced.settle(lambda: details.saved_note.text().startswith("Saved on this laptop (Title)"))
    choose(synced, page, second.id)
    assert details.saved_note.text() == ""  # the message was about the first ticket
    choose(synced, page, first.id)
    assert not details.saved_note.text().startswith("Unsaved")


def test_my_work_and_queue_follow_changes_that_keep_coming(synced: Desk, qtbot: QtBot) -> None:
    """During a sync the queue changes faster than the pages' refresh delay: they refresh a few
    times a second all along, not once at the end."""
    from ui.pages.queue import QueuePage

    page = open_page(synced, qtbot)
    queue = QueuePage(synced.service)
    qtbot.addWidget(queue)
    queue.show()
    queue.activate()
    counts: list[int] = []
    page.countChanged.connect(counts.append)
    loads: list[int] = []
    queue.model.loaded.connect(lambda: loads.append(1))
    import asyncio

    for _ in range(20):  # a change every 100 ms for 2 s, the loop running meanwhile
        synced.service.queueChanged.emit()
        synced.run(asyncio.sleep(0.1))
    assert len(counts) >= 3 and len(loads) >= 3, (len(counts), len(loads))
