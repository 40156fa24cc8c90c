"""The Today page lists the technician's calls and opens a call's ticket; a call is marked
complete there (pending until sent). The ticket's Checklist tab ticks an item offline, and the
server's stamp shows after the sync."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.ui.pages.conftest import Desk
from tests.ui.pages.test_mywork import choose, open_page
from ui.pages.ticket_checklist import ITEM_ROLE
from ui.pages.today import ENTRY_ROLE, TICKET_ROLE, TodayPage


def today_page(desk: Desk, qtbot: QtBot) -> TodayPage:
    page = TodayPage(desk.service)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    page.span.setCurrentIndex(page.span.count() - 1)  # the next two weeks
    page.activate()
    desk.settle(lambda: page.tree.topLevelItemCount() > 0)
    desk.idle()
    return page


def call_items(page: TodayPage) -> list:
    out = []
    for d in range(page.tree.topLevelItemCount()):
        day = page.tree.topLevelItem(d)
        for i in range(day.childCount()):
            item = day.child(i)
            if item.data(0, ENTRY_ROLE)[0] == "service_call":
                out.append(item)
    return out


def test_today_lists_calls_opens_a_ticket_and_marks_a_call_complete(
    synced: Desk, qtbot: QtBot
) -> None:
    page = today_page(synced, qtbot)
    calls = call_items(page)
    entries = [e for e in synced.run(synced.agent.today(days=14)) if e.kind == "service_call"]
    assert len(calls) == len(entries)
    first = calls[0]
    call_id = first.data(0, ENTRY_ROLE)[1]
    entry = next(e for e in entries if e.id == call_id)
    assert entry.company in first.text(0)
    ticket_item = first.child(0)
    assert ticket_item.data(0, TICKET_ROLE) == entry.tickets[0].id
    opened: list[int] = []
    page.openTicket.connect(opened.append)
    page.tree.itemDoubleClicked.emit(ticket_item, 0)
    assert opened == [entry.tickets[0].id]

    synced.run(synced.agent.set_work_offline(True))
    page.tree.setCurrentItem(first)
    assert page.complete_button.isEnabled()
    qtbot.mouseClick(page.complete_button, Qt.MouseButton.LeftButton)
    synced.settle(lambda: "waiting to be sent" in call_items(page)[0].text(0))
    assert synced.sim.dump()["ServiceCalls"][call_id]["isComplete"] == 0
    synced.run(synced.agent.set_work_offline(False))
    synced.run(synced.agent.sync_now())
    assert synced.sim.dump()["ServiceCalls"][call_id]["isComplete"] == 1
    page.reload()
    synced.settle(lambda: call_items(page)[0].text(0).endswith("[complete]"))


def test_the_checklist_tab_ticks_an_item_offline_and_shows_the_servers_stamp(
    synced: Desk, qtbot: QtBot
) -> None:
    page = open_page(synced, qtbot)
    ticket = synced.run(synced.agent.my_tickets())[0].id
    choose(synced, page, ticket)
    tab = page.panel.checklist
    synced.settle(lambda: tab.list.count() > 0)
    synced.idle()
    lines = synced.run(synced.agent.checklist(ticket))
    assert tab.list.count() == len(lines)
    row = next(i for i, line in enumerate(lines) if not line.done)
    item_id = lines[row].id
    synced.run(synced.agent.set_work_offline(True))
    tab.list.item(row).setCheckState(Qt.CheckState.Checked)
    synced.settle(lambda: "waiting to be sent" in tab.list.item(row).text())
    assert tab.list.item(row).data(ITEM_ROLE) == item_id
    assert not synced.sim.dump()["TicketChecklistItems"][item_id]["isCompleted"]
    synced.run(synced.agent.set_work_offline(False))
    synced.run(synced.agent.sync_now())
    assert synced.sim.dump()["TicketChecklistItems"][item_id]["isCompleted"]
    page.panel.reload()
    synced.settle(lambda: "done by" in tab.list.item(row).text())
    assert tab.list.item(row).checkState() == Qt.CheckState.Checked
