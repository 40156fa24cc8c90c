"""The stopwatch on a ticket's page: Start/Stop with the elapsed time, switching tickets asks, and
the stopped time becomes one time entry in Autotask through the dialog (or is discarded)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QDateTime, Qt
from pytestqt.qtbot import QtBot

from tests.ui.pages.conftest import Desk
from tests.ui.pages.test_mywork import choose, open_page
from ui.pages import ticket_timer
from ui.pages.mywork import MyWorkPage


def click(qtbot: QtBot, button: object) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def bar_of(desk: Desk, qtbot: QtBot) -> tuple[MyWorkPage, ticket_timer.TimerBar, list[int]]:
    page = open_page(desk, qtbot)
    ids = [t.id for t in desk.run(desk.agent.my_tickets())]
    choose(desk, page, ids[0])
    bar = page.panel.timer_bar
    desk.settle(lambda: bar.state is not None)
    return page, bar, ids


def server_entries(desk: Desk, summary: str) -> list[dict]:
    return [e for e in desk.sim.dump()["TimeEntries"].values() if e["summaryNotes"] == summary]


def test_start_shows_the_elapsed_time_and_stop_logs_one_time_entry(
    synced: Desk, qtbot: QtBot
) -> None:
    _, bar, ids = bar_of(synced, qtbot)
    assert bar.button.text() == "Start timer" and bar.isVisibleTo(bar.window())
    click(qtbot, bar.button)
    synced.settle(lambda: bar.button.text() == "Stop timer")
    running = synced.run(synced.agent.timer()).running
    assert running is not None and running.ticket_id == ids[0]
    assert bar.label.text() == "Timer running: 0:00:00"
    synced.clock.advance(45 * 60)
    bar._tick.timeout.emit()  # the once-a-second refresh
    assert bar.label.text() == "Timer running: 0:45:00"
    click(qtbot, bar.button)
    synced.settle(lambda: bar.dialog is not None and bar.dialog.isVisible())
    dialog = bar.dialog
    assert dialog is not None
    draft = synced.run(synced.agent.timer()).drafts[0]
    assert dialog.duration.text() == "0:45:00"
    assert dialog.role.currentData() == draft.role_id is not None
    assert dialog.work_type.currentData() == draft.billing_code_id
    assert not dialog.confirm_long.isVisibleTo(dialog)
    dialog.summary.setPlainText("Timed in the window")
    dialog.work_type.setCurrentIndex(0)  # "—": no work type, whatever the last entry had
    click(qtbot, dialog.log_button)
    synced.settle(lambda: not dialog.isVisible())
    assert synced.run(synced.agent.timer()).drafts == ()
    synced.run(synced.agent.sync_now())
    entries = server_entries(synced, "Timed in the window")
    assert len(entries) == 1 and entries[0]["ticketID"] == ids[0]
    assert entries[0]["hoursWorked"] == pytest.approx(0.75)
    assert entries[0]["roleID"] == draft.role_id and entries[0]["billingCodeID"] is None


def test_starting_on_another_ticket_asks_and_then_switches(
    synced: Desk, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    page, bar, ids = bar_of(synced, qtbot)
    synced.run(synced.agent.start_timer(ids[0]))
    choose(synced, page, ids[1])
    synced.settle(lambda: bar.running is not None)
    assert bar.button.text() == "Start timer" and bar.label.text().startswith("Timer on ")
    answers: list[str] = []
    monkeypatch.setattr(ticket_timer, "ask", lambda *a: answers.append(a[2]) or False)
    click(qtbot, bar.button)
    synced.idle()
    assert len(answers) == 1 and "A timer is running on" in answers[0]
    assert synced.run(synced.agent.timer()).running.ticket_id == ids[0]  # type: ignore[union-attr]
    monkeypatch.setattr(ticket_timer, "ask", lambda *a: True)
    click(qtbot, bar.button)
    synced.settle(lambda: bar.button.text() == "Stop timer")
    state = synced.run(synced.agent.timer())
    assert state.running is not None and state.running.ticket_id == ids[1]
    assert [d.ticket_id for d in state.drafts] == [ids[0]]
    choose(synced, page, ids[0])
    synced.settle(lambda: bar.review.isVisibleTo(bar))  # its stopped time waits there


def test_a_timer_over_ten_hours_asks_before_it_is_logged(synced: Desk, qtbot: QtBot) -> None:
    _, bar, ids = bar_of(synced, qtbot)
    synced.run(synced.agent.start_timer(ids[0]))
    synced.clock.advance(11 * 3600)
    synced.settle(lambda: bar.button.text() == "Stop timer")
    click(qtbot, bar.button)
    synced.settle(lambda: bar.dialog is not None and bar.dialog.isVisible())
    dialog = bar.dialog
    assert dialog is not None
    assert dialog.long_note.isVisibleTo(dialog) and "more than 10 hours" in dialog.long_note.text()
    dialog.summary.setPlainText("Left running")
    click(qtbot, dialog.log_button)
    synced.idle()
    assert dialog.isVisible() and "tick the box" in dialog.error.text()
    assert synced.run(synced.agent.status()).pending == 0
    dialog.confirm_long.setChecked(True)
    click(qtbot, dialog.log_button)
    synced.settle(lambda: not dialog.isVisible())
    synced.run(synced.agent.sync_now())
    assert [e["hoursWorked"] for e in server_entries(synced, "Left running")] == [11]


def test_a_clock_set_back_while_it_ran_is_said_and_the_end_must_be_set(
    synced: Desk, qtbot: QtBot
) -> None:
    _, bar, ids = bar_of(synced, qtbot)
    started = synced.run(synced.agent.start_timer(ids[0])).started_at
    synced.clock.advance(30 * 60)
    synced.clock.step_wall(-2 * 3600)  # set back while it ran
    synced.settle(lambda: bar.button.text() == "Stop timer")
    bar._tick.timeout.emit()
    assert "set back" in bar.label.text()
    click(qtbot, bar.button)
    synced.settle(lambda: bar.dialog is not None and bar.dialog.isVisible())
    dialog = bar.dialog
    assert dialog is not None
    assert dialog.end_note.isVisibleTo(dialog)
    assert "set back" in dialog.end_note.text() and "end time" in dialog.end_note.text()
    dialog.summary.setPlainText("Through a clock change")
    click(qtbot, dialog.log_button)
    synced.idle()
    assert dialog.isVisible() and "end time" in dialog.error.text()
    assert synced.run(synced.agent.status()).pending == 0
    dialog.end.setDateTime(QDateTime.fromSecsSinceEpoch(int(started) + 30 * 60))
    click(qtbot, dialog.log_button)
    synced.settle(lambda: not dialog.isVisible())
    synced.run(synced.agent.sync_now())
    assert [e["hoursWorked"] for e in server_entries(synced, "Through a clock change")] == [0.5]


def test_discarding_the_stopped_time_logs_nothing(
    synced: Desk, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, bar, ids = bar_of(synced, qtbot)
    synced.run(synced.agent.start_timer(ids[0]))
    synced.run(synced.agent.stop_timer())
    synced.settle(lambda: bar.review.isVisibleTo(bar))
    click(qtbot, bar.review)
    dialog = bar.dialog
    assert dialog is not None
    monkeypatch.setattr(ticket_timer, "ask", lambda *a: True)
    click(qtbot, dialog.discard_button)
    synced.settle(lambda: not dialog.isVisible())
    assert synced.run(synced.agent.timer()).drafts == ()
    assert synced.run(synced.agent.audit_events(action="timer_discarded", limit=5))
    synced.settle(lambda: not bar.review.isVisibleTo(bar))
