"""The ticket's Parts tab adds a part from the product list and one by name offline (pending
until sent), changes and deletes one; the "Contacts & devices" tab shows the company's
contacts and devices from the cache."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.ui.pages.conftest import Desk
from tests.ui.pages.test_mywork import choose, open_page
from ui.pages.ticket_parts import KEY_ROLE


def charges_of(desk: Desk, ticket: int) -> dict[int, dict]:
    return {i: r for i, r in desk.sim.dump()["TicketCharges"].items() if r["ticketID"] == ticket}


def test_the_parts_tab_adds_changes_and_deletes_parts_offline(
    synced: Desk, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = open_page(synced, qtbot)
    ticket = synced.run(synced.agent.my_tickets())[0].id
    choose(synced, page, ticket)
    tab = page.panel.parts
    synced.settle(lambda: tab.product.count() > 1)
    synced.idle()
    before = charges_of(synced, ticket)
    assert tab.table.rowCount() == len(before)
    products = synced.run(synced.agent.products())
    assert tab.product.count() == len(products) + 1

    synced.run(synced.agent.set_work_offline(True))
    tab.product.setCurrentIndex(tab.product.findData(products[0].id))
    assert tab.name.text() == products[0].name and not tab.name.isEnabled()
    assert tab.price.value() == products[0].unit_price
    tab.quantity.setValue(2)
    qtbot.mouseClick(tab.save_button, Qt.MouseButton.LeftButton)
    synced.settle(lambda: tab.table.rowCount() == len(before) + 1)

    tab.product.setCurrentIndex(0)  # a part typed by name
    tab.name.setText("Cable clips")
    tab.quantity.setValue(10)
    tab.price.setValue(0.2)
    tab.billable.setChecked(False)
    qtbot.mouseClick(tab.save_button, Qt.MouseButton.LeftButton)
    synced.settle(lambda: tab.table.rowCount() == len(before) + 2)
    rows = {tab.table.item(r, 0).text(): r for r in range(tab.table.rowCount())}
    clips = rows["Cable clips"]
    assert tab.table.item(clips, 5).text() == "waiting to be sent"
    assert (tab.table.item(clips, 3).text(), tab.table.item(clips, 4).text()) == ("2.00", "no")

    tab.table.selectRow(clips)  # change it: 12 clips
    assert tab.save_button.text() == "Save part" and tab.name.text() == "Cable clips"
    tab.quantity.setValue(12)
    qtbot.mouseClick(tab.save_button, Qt.MouseButton.LeftButton)
    synced.settle(
        lambda: any(tab.table.item(r, 1).text() == "12" for r in range(tab.table.rowCount()))
    )

    assert tab.save_button.text() == "Add part" and tab.name.text() == ""
    tab.name.setText("Nothing")
    tab.quantity.setValue(0)  # refused, with the reason, and nothing queued
    qtbot.mouseClick(tab.save_button, Qt.MouseButton.LeftButton)
    synced.settle(lambda: not tab.error.isHidden() and "unitQuantity" in tab.error.text())
    assert charges_of(synced, ticket) == before

    synced.run(synced.agent.set_work_offline(False))
    synced.run(synced.agent.sync_now())
    new = {i: r for i, r in charges_of(synced, ticket).items() if i not in before}
    assert sorted((r["name"], r["unitQuantity"]) for r in new.values()) == sorted(
        [(products[0].name, 2.0), ("Cable clips", 12.0)]
    )
    page.panel.reload()
    synced.settle(
        lambda: (
            tab.table.rowCount() == len(before) + 2
            and not any(tab.table.item(r, 5).text() for r in range(tab.table.rowCount()))
        )
    )
    clip_id = next(i for i, r in new.items() if r["name"] == "Cable clips")
    row = next(
        r
        for r in range(tab.table.rowCount())
        if tab.table.item(r, 0).data(KEY_ROLE) == str(clip_id)
    )
    tab.table.selectRow(row)
    assert tab.delete_button.isEnabled()
    asked: list[str] = []
    monkeypatch.setattr(
        "ui.pages.ticket_parts.ask", lambda _p, _t, question, _y: asked.append(question) or True
    )
    qtbot.mouseClick(tab.delete_button, Qt.MouseButton.LeftButton)
    assert asked and "Cable clips" in asked[0]
    synced.settle(lambda: tab.table.item(row, 5).text() == "deletion waiting to be sent")
    synced.run(synced.agent.sync_now())
    assert clip_id not in charges_of(synced, ticket)
    page.panel.reload()
    synced.settle(lambda: tab.table.rowCount() == len(before) + 1)


def test_the_context_tab_shows_the_companys_contacts_and_devices(
    synced: Desk, qtbot: QtBot
) -> None:
    page = open_page(synced, qtbot)
    ticket = synced.run(synced.agent.my_tickets())[0]
    choose(synced, page, ticket.id)
    tab = page.panel.context
    synced.settle(lambda: tab.contacts.rowCount() > 0)
    ctx = synced.run(synced.agent.ticket_context(ticket.id))
    assert ctx is not None and ctx.company in tab.company.text()
    assert tab.contacts.rowCount() == len(ctx.contacts)
    assert [tab.contacts.item(r, 4).text() for r in range(len(ctx.contacts))] == [
        c.email for c in ctx.contacts
    ]
    assert tab.devices.rowCount() == len(ctx.devices) > 0
    assert [tab.devices.item(r, 1).text() for r in range(len(ctx.devices))] == [
        d.serial for d in ctx.devices
    ]
    titles = [page.panel.tabs.tabText(i) for i in range(page.panel.tabs.count())]
    assert "Contacts && devices" in titles and any(t.startswith("Parts") for t in titles)
