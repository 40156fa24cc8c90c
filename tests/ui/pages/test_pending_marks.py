"""What the window says is pending is true: per ticket, for its notes too, and editor messages
stay with the ticket they are about."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
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


def test_editor_messages_stay_with_their_ticket(
    synced: Desk, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    # Saved, and another ticket chosen before the answer came: it is not told on that one.
    answer = asyncio.Event()
    update = synced.agent.update_ticket

    async def held(*args: Any, **kwargs: Any) -> Any:
        await answer.wait()
        return await update(*args, **kwargs)

    monkeypatch.setattr(synced.agent, "update_ticket", held)
    details.description.setPlainText("Saved, then moved on")
    qtbot.mouseClick(details.save, Qt.MouseButton.LeftButton)
    choose(synced, page, second.id)
    answer.set()
    synced.idle()
    assert details.saved_note.text() == ""
    detail = synced.run(synced.agent.ticket(first.id))
    assert detail is not None and detail.fields["description"].pending


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

    for _ in range(20):  # a change every 100 ms for 2 s, the loop running meanwhile
        synced.service.queueChanged.emit()
        synced.run(asyncio.sleep(0.1))
    assert len(counts) >= 3 and len(loads) >= 3, (len(counts), len(loads))


def test_keeping_autotasks_priority_after_the_status_went_leaves_the_ticket_synced_after_a_restart(
    synced: Desk, qtbot: QtBot
) -> None:
    """Offline: Status and Priority changed; the dispatcher changes Priority; online: the status
    goes, Priority is in conflict, "Keep Autotask's" is chosen. Nothing is left to send: the
    ticket reads Synced and the badge is 0, in this run and the next."""
    from agent.api.facade import Agent
    from tests.e2e.conftest import options
    from tests.ui.pages.test_conflicts import open_conflicts, open_dialog
    from ui.service import AgentService

    agent, sim = synced.agent, synced.sim
    synced.run(agent.set_work_offline(True))
    page = open_page(synced, qtbot)
    counts: list[int] = []
    page.countChanged.connect(counts.append)
    ticket = synced.run(agent.my_tickets())[1]
    choose(synced, page, ticket.id)
    lists = synced.run(agent.picklists("Tickets"))
    base = sim.dump()["Tickets"][ticket.id]
    status = next(s for s in sorted(lists["status"]) if s not in (base["status"], 5))
    mine, theirs = [p for p in sorted(lists["priority"]) if p != base["priority"]][:2]
    details = page.panel.details
    details.status.setCurrentIndex(details.status.findData(status))
    details.priority.setCurrentIndex(details.priority.findData(mine))
    qtbot.mouseClick(details.save, Qt.MouseButton.LeftButton)
    synced.settle(lambda: page.panel.state_chip.text() == "Changes waiting to be sent")
    synced.settle(lambda: bool(counts) and counts[-1] == 1)

    sim.edit_ticket(ticket.id, priority=theirs)  # the dispatcher, meanwhile
    synced.run(agent.set_work_offline(False))
    synced.run(agent.sync_now())
    assert sim.dump()["Tickets"][ticket.id]["status"] == status  # the status went
    conflicts = open_conflicts(synced, qtbot)
    dialog = open_dialog(synced, conflicts, qtbot)
    assert [c.field for c in conflicts.conflicts] == ["priority"]
    qtbot.mouseClick(dialog.fields[0].keep_theirs, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.apply, Qt.MouseButton.LeftButton)
    synced.settle(lambda: dialog.pages.currentIndex() == 1)
    synced.run(agent.sync_now())
    [done] = synced.run(agent.queue_page(states=["cancelled", "done"])).items
    assert done.state in ("cancelled", "done")

    page.refresh()
    synced.settle(lambda: page.panel.state_chip.text() == "Synced")
    synced.settle(lambda: counts[-1] == 0)
    assert not details.rows["status"].chip.isVisibleTo(details)
    assert not details.rows["priority"].chip.isVisibleTo(details)
    assert details.priority.currentData() == theirs  # the form shows the value kept
    assert not details.save.isEnabled() and details.saved_note.text() == ""
    assert synced.run(agent.status()).pending == 0

    # The next start: still nothing pending, and nothing had to be repaired to get there.
    synced.run(synced.service.shutdown())
    synced.run(agent.close())
    again = synced.run(Agent.open(options(sim, synced.clock, synced.data_dir)))
    service = AgentService(again)
    try:
        assert synced.run(again.audit_events(action="overlay_repaired")) == []
        synced.service, synced.agent = service, again
        later = open_page(synced, qtbot)
        later_counts: list[int] = []
        later.countChanged.connect(later_counts.append)
        later.refresh()
        synced.settle(lambda: bool(later_counts))
        assert later_counts[-1] == 0
        choose(synced, later, ticket.id)
        assert later.panel.state_chip.text() == "Synced"
    finally:
        synced.run(service.shutdown())
        synced.run(again.close())
        service.deleteLater()
