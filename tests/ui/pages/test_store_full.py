"""A ticket edit refused because the disk is full: the editor says so, and what was saved before
it stays queued."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.store.machine import fill_pages, incompressible, unlimit_pages
from tests.ui.pages.conftest import Desk
from tests.ui.pages.test_mywork import choose, open_page


def test_a_save_refused_for_lack_of_space_says_so_and_keeps_earlier_edits(
    synced: Desk, qtbot: QtBot
) -> None:
    synced.run(synced.agent.set_work_offline(True))
    page = open_page(synced, qtbot)
    tickets = synced.run(synced.agent.my_tickets())
    synced.run(synced.agent.update_ticket(tickets[1].id, title="Saved before the disk filled"))
    fill_pages(synced.agent.store)  # the disk is full from here on
    choose(synced, page, tickets[0].id)
    details = page.panel.details
    details.description.setPlainText(incompressible(7000))  # needs new pages
    qtbot.mouseClick(details.save, Qt.MouseButton.LeftButton)
    synced.settle(lambda: details.general_error.isVisibleTo(details))
    text = details.general_error.text()
    assert (
        text.startswith("Not saved: ") and "is full" in text and "free some space" in text.lower()
    )
    queued = synced.run(synced.agent.queue_page()).items
    assert [q.description for q in queued] == [
        f"Change ticket {tickets[1].number}: Title → Saved before the disk filled"
    ]
    unlimit_pages(synced.agent.store)  # space is back: the same save goes through
    qtbot.mouseClick(details.save, Qt.MouseButton.LeftButton)
    synced.settle(lambda: details.saved_note.text().startswith("Saved on this laptop"))
    assert synced.run(synced.agent.queue_page()).total == 2


def test_a_refresh_while_a_save_is_refused_keeps_what_was_typed(
    synced: Desk, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ticket refreshed (a sync, another page's change) while its save was still on its way
    and then refused: the form keeps the typing, so saving again once space is back sends it."""
    import asyncio

    from agent.store.errors import DiskFullError

    synced.run(synced.agent.set_work_offline(True))
    page = open_page(synced, qtbot)
    tickets = synced.run(synced.agent.my_tickets())
    choose(synced, page, tickets[0].id)
    details = page.panel.details
    release = asyncio.Event()
    real_update = synced.agent.update_ticket

    async def slow_refusal(ticket_id: int, **changes: object) -> object:
        await release.wait()
        raise DiskFullError("the disk holding the profile is full; free some space")

    monkeypatch.setattr(synced.agent, "update_ticket", slow_refusal)
    details.title.setText("Typed while the disk was full")
    qtbot.mouseClick(details.save, Qt.MouseButton.LeftButton)
    page.panel.reload()  # the refresh arrives while the save is on its way
    synced.run(asyncio.sleep(0.2))
    release.set()
    synced.settle(lambda: details.general_error.isVisibleTo(details))
    assert details.title.text() == "Typed while the disk was full"
    monkeypatch.setattr(synced.agent, "update_ticket", real_update)
    qtbot.mouseClick(details.save, Qt.MouseButton.LeftButton)
    synced.settle(lambda: details.saved_note.text().startswith("Saved on this laptop"))
