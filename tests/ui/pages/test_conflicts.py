"""Conflicts: the list, the resolution dialog (which is which, apply to all, merged values,
deleted records), and the whole story from an offline edit to the server's final values."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.ui.pages.conftest import Desk
from ui.dialogs.conflict_dialog import ConflictDialog
from ui.pages.conflicts import ConflictsPage
from ui.pages.mywork import MyWorkPage


def server(desk: Desk, route: str, rid: int) -> dict[str, Any]:
    return desk.sim.dump()[route][rid]


def make_conflict(desk: Desk, **mine_vs_theirs: tuple[Any, Any]) -> int:
    """Edit a ticket here and differently on the server; sync; return the ticket id."""
    tid = desk.run(desk.agent.my_tickets())[1].id
    desk.run(desk.agent.update_ticket(tid, **{k: v[0] for k, v in mine_vs_theirs.items()}))
    desk.sim.edit_ticket(tid, **{k: v[1] for k, v in mine_vs_theirs.items()})
    desk.run(desk.agent.sync_now())
    return tid


def other_values(desk: Desk, field: str, current: int) -> list[int]:
    values = sorted(desk.run(desk.agent.picklists("Tickets"))[field])
    return [v for v in values if v != current]


def open_conflicts(desk: Desk, qtbot: QtBot) -> ConflictsPage:
    page = ConflictsPage(desk.service)
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    page.activate()
    desk.settle(lambda: bool(page.conflicts) or page.stack.currentWidget() is page.empty)
    return page


def open_dialog(desk: Desk, page: ConflictsPage, qtbot: QtBot) -> ConflictDialog:
    qtbot.mouseClick(page.resolve_button, Qt.MouseButton.LeftButton)
    assert page.dialog is not None and page.dialog.isVisible()
    return page.dialog


def test_no_conflicts_shows_an_explanation(synced: Desk, qtbot: QtBot) -> None:
    page = open_conflicts(synced, qtbot)
    assert page.stack.currentWidget() is page.empty
    assert not page.resolve_button.isEnabled() and not page.resolve_all_button.isEnabled()


def test_the_dialog_labels_each_version_with_its_time_and_author(
    synced: Desk, qtbot: QtBot
) -> None:
    tid = synced.run(synced.agent.my_tickets())[1].id
    base = server(synced, "Tickets", tid)["priority"]
    mine, theirs = other_values(synced, "priority", base)[:2]
    make_conflict(synced, priority=(mine, theirs), title=("Mine: a title", "Theirs: a title"))
    page = open_conflicts(synced, qtbot)
    counts: list[int] = []
    page.countChanged.connect(counts.append)
    page.refresh()
    synced.settle(lambda: counts == [2])
    number = next(t.number for t in synced.run(synced.agent.my_tickets()) if t.id == tid)
    title = page.tree.topLevelItem(0).text(0)
    assert title.startswith(f"Ticket {number}: ") and f"#{tid}" not in title  # its number
    dialog = open_dialog(synced, page, qtbot)
    assert any(label.text() == title for label in dialog.findChildren(type(dialog.progress_note)))
    by_field = {card.conflict.field: card for card in dialog.fields}
    card = by_field["priority"]
    labels = [w.text() for w in card.findChildren(type(dialog.progress_note))]
    assert "Before (when you edited)" in labels
    assert "Yours (this laptop)" in labels
    assert "Autotask now (changed by Dana Dispatch)" in labels
    assert sum(text.startswith("as of ") for text in labels) == 3
    lists = synced.run(synced.agent.picklists("Tickets"))["priority"]
    assert lists[mine] in card.cells["mine"].text()
    assert lists[theirs] in card.cells["theirs"].text()
    assert lists[base] in card.cells["base"].text()
    title = by_field["title"].cells["mine"].text()
    assert "background" in title and "Mine" in title  # the changed word is highlighted
    assert not dialog.apply.isEnabled()


def test_apply_to_all_keeps_autotasks_values_and_the_losing_values_stay_in_the_audit(
    synced: Desk, qtbot: QtBot
) -> None:
    tid = synced.run(synced.agent.my_tickets())[1].id
    base = server(synced, "Tickets", tid)["priority"]
    mine, theirs = other_values(synced, "priority", base)[:2]
    make_conflict(synced, priority=(mine, theirs), title=("Mine", "Theirs"))
    page = open_conflicts(synced, qtbot)
    dialog = open_dialog(synced, page, qtbot)
    qtbot.mouseClick(dialog.all_theirs, Qt.MouseButton.LeftButton)
    assert dialog.apply.isEnabled()
    qtbot.mouseClick(dialog.apply, Qt.MouseButton.LeftButton)
    synced.settle(lambda: dialog.pages.currentIndex() == 1)
    assert "audit trail" in dialog.done_text.text()
    shown: list[tuple[str, str]] = []
    dialog.showInAudit.connect(lambda t, i: shown.append((t, i)))
    qtbot.mouseClick(dialog.audit_button, Qt.MouseButton.LeftButton)
    assert shown == [("Tickets", str(tid))]
    synced.settle(lambda: page.stack.currentWidget() is page.empty)
    losing = {
        e.detail["field"]: e.detail["losing"]
        for e in synced.run(synced.agent.audit_events(action="conflict_resolved"))
    }
    assert losing == {"priority": mine, "title": "Mine"}
    synced.run(synced.agent.sync_now())
    assert server(synced, "Tickets", tid)["priority"] == theirs


def test_a_merged_value_is_edited_from_mine_and_sent(synced: Desk, qtbot: QtBot) -> None:
    tid = make_conflict(synced, title=("Printer fixed", "Printer replaced"))
    page = open_conflicts(synced, qtbot)
    dialog = open_dialog(synced, page, qtbot)
    card = dialog.fields[0]
    card.merge.click()  # type: ignore[union-attr]
    assert card.editor is not None and card.editor.isVisibleTo(dialog)
    assert card.merged_value() == "Printer fixed"  # prefilled with mine
    card.editor.setPlainText("Printer fixed, then replaced")  # type: ignore[attr-defined]
    qtbot.mouseClick(dialog.apply, Qt.MouseButton.LeftButton)
    synced.settle(lambda: dialog.pages.currentIndex() == 1)
    synced.run(synced.agent.sync_now())
    assert server(synced, "Tickets", tid)["title"] == "Printer fixed, then replaced"


def test_an_invalid_merged_value_is_refused_inline(synced: Desk, qtbot: QtBot) -> None:
    make_conflict(synced, title=("Mine", "Theirs"))
    page = open_conflicts(synced, qtbot)
    dialog = open_dialog(synced, page, qtbot)
    card = dialog.fields[0]
    card.merge.click()  # type: ignore[union-attr]
    card.editor.setPlainText("x" * 300)  # type: ignore[union-attr]
    qtbot.mouseClick(dialog.apply, Qt.MouseButton.LeftButton)
    synced.settle(lambda: card.error.isVisibleTo(dialog))
    assert "at most 255" in card.error.text()
    assert dialog.pages.currentIndex() == 0 and dialog.apply.isEnabled()


def test_a_record_deleted_in_autotask_is_worded_as_a_deletion(synced: Desk, qtbot: QtBot) -> None:
    tickets = synced.run(synced.agent.my_tickets())
    detail = next(
        d
        for d in (synced.run(synced.agent.ticket(t.id)) for t in tickets)
        if d is not None and d.time_entries
    )
    entry = detail.time_entries[0]
    synced.run(synced.agent.update_time_entry(entry.key, summaryNotes="Changed offline"))
    del synced.sim.tenant.records["TimeEntries"][int(entry.key)]
    synced.run(synced.agent.sync_now())
    page = open_conflicts(synced, qtbot)
    assert [c.kind for c in page.conflicts] == ["deleted"]
    dialog = open_dialog(synced, page, qtbot)
    card = dialog.fields[0]
    texts = " ".join(w.text() for w in card.findChildren(type(dialog.progress_note)))
    assert "deleted it in Autotask" in texts and "Autotask now (deleted by" in texts
    assert card.keep_mine.text() == "Create it again with your values"
    assert card.keep_theirs.text() == "Accept the deletion"
    assert card.merge is None
    qtbot.mouseClick(card.keep_theirs, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.apply, Qt.MouseButton.LeftButton)
    synced.settle(lambda: dialog.pages.currentIndex() == 1)
    assert synced.run(synced.agent.conflicts()) == []


def test_a_record_deleted_here_and_changed_in_autotask_offers_keep_or_delete(
    synced: Desk, qtbot: QtBot
) -> None:
    tickets = synced.run(synced.agent.my_tickets())
    detail = next(
        d
        for d in (synced.run(synced.agent.ticket(t.id)) for t in tickets)
        if d is not None and d.time_entries
    )
    entry = int(detail.time_entries[0].key)
    synced.run(synced.agent.delete_time_entry(str(entry)))
    synced.sim.tenant.records["TimeEntries"][entry]["summaryNotes"] = "Changed in Autotask"
    synced.run(synced.agent.sync_now())
    page = open_conflicts(synced, qtbot)
    assert [c.kind for c in page.conflicts] == ["changed"]
    child = page.tree.topLevelItem(0).child(0)
    assert (child.text(0), child.text(1)) == ("Changed in Autotask", "(deleted here)")
    dialog = open_dialog(synced, page, qtbot)
    card = dialog.fields[0]
    texts = " ".join(w.text() for w in card.findChildren(type(dialog.progress_note)))
    assert "You deleted this" in texts and "changed it in Autotask" in texts
    assert "Changed in Autotask" in card.cells["theirs"].text()
    assert card.cells["mine"].text() == "<i>Deleted</i>"
    assert card.keep_mine.text() == "Delete it anyway"
    assert card.keep_theirs.text() == "Keep Autotask's version"
    assert card.merge is None
    qtbot.mouseClick(card.keep_theirs, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.apply, Qt.MouseButton.LeftButton)
    synced.settle(lambda: dialog.pages.currentIndex() == 1)
    assert synced.run(synced.agent.conflicts()) == []
    synced.run(synced.agent.sync_now())
    assert server(synced, "TimeEntries", entry)["summaryNotes"] == "Changed in Autotask"


def test_offline_edit_and_time_then_a_dispatcher_conflict_resolved_in_the_dialog(
    synced: Desk, qtbot: QtBot
) -> None:
    agent, sim = synced.agent, synced.sim
    synced.run(agent.set_work_offline(True))
    work = MyWorkPage(synced.service)
    qtbot.addWidget(work)
    work.resize(1280, 800)
    work.show()
    work.activate()
    synced.settle(lambda: work.model.rowCount() > 0)
    tid = synced.run(agent.my_tickets())[3].id
    assert work.select_ticket(tid)
    synced.settle(lambda: work.panel.detail is not None and work.panel.detail.id == tid)
    base = server(synced, "Tickets", tid)["status"]
    mine, theirs = other_values(synced, "status", base)[:2]

    details = work.panel.details
    details.status.setCurrentIndex(details.status.findData(mine))
    qtbot.mouseClick(details.save, Qt.MouseButton.LeftButton)
    synced.settle(lambda: details.rows["status"].chip.isVisibleTo(details))

    times = work.panel.time
    work.panel.tabs.setCurrentWidget(times)
    times.by_hours.setChecked(True)
    times.hours.setValue(1.25)
    times.summary.setPlainText("Rebuilt the print server (offline)")
    qtbot.mouseClick(times.save, Qt.MouseButton.LeftButton)
    synced.settle(lambda: any(t.pending for t in work.panel.detail.time_entries))  # type: ignore[union-attr]
    assert synced.run(agent.sync_now()) is None  # working offline: nothing leaves the laptop
    assert server(synced, "Tickets", tid)["status"] == base

    sim.edit_ticket(tid, status=theirs)  # the dispatcher, meanwhile
    synced.run(agent.set_work_offline(False))
    synced.run(agent.sync_now())

    page = open_conflicts(synced, qtbot)
    assert [(c.entity_id, c.field, c.mine, c.theirs) for c in page.conflicts] == [
        (tid, "status", mine, theirs)
    ]
    dialog = open_dialog(synced, page, qtbot)
    qtbot.mouseClick(dialog.fields[0].keep_mine, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.apply, Qt.MouseButton.LeftButton)
    synced.settle(lambda: dialog.pages.currentIndex() == 1)
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    synced.settle(lambda: page.stack.currentWidget() is page.empty)

    synced.run(agent.sync_now())
    assert server(synced, "Tickets", tid)["status"] == mine
    logged = [
        e
        for e in sim.dump()["TimeEntries"].values()
        if e.get("summaryNotes") == "Rebuilt the print server (offline)"
    ]
    assert len(logged) == 1 and logged[0]["ticketID"] == tid and logged[0]["hoursWorked"] == 1.25
    synced.run(agent.sync_now())  # another round changes nothing
    assert server(synced, "Tickets", tid)["status"] == mine
    assert (
        sum(
            e.get("summaryNotes") == "Rebuilt the print server (offline)"
            for e in sim.dump()["TimeEntries"].values()
        )
        == 1
    )
