"""The keyboard (Tab through fields, Ctrl+F, Ctrl+S, Ctrl+R/F5, Ctrl+1..5), names for screen
readers on every control of every page, and the tray's recent activity opening its ticket."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
    QToolButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from tests.ui.conftest import Shell
from ui.mainwindow import MainWindow
from ui.models.tickets_model import TICKET_ROLE
from ui.tray import Tray

INTERACTIVE = (
    QAbstractButton,
    QLineEdit,
    QComboBox,
    QAbstractSpinBox,
    QAbstractItemView,
    QPlainTextEdit,
    QTextEdit,
    QTabBar,
)


@pytest.fixture
def window(shell: Shell, qtbot: QtBot) -> MainWindow:
    report = shell.loop.run(shell.agent.sync_now())
    assert report is not None and report.error is None
    shell.service.refresh_status()
    shell.settle()
    window = MainWindow(shell.service)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.activateWindow()
    qtbot.waitExposed(window)
    shell.settle()
    return window


def _open_first_ticket(shell: Shell, window: MainWindow) -> int:
    window.show_page("mywork")
    shell.settle()
    page = window.pages["mywork"]
    first = page.proxy.index(0, 0).data(TICKET_ROLE)  # type: ignore[attr-defined]
    assert page.select_ticket(first.id)  # type: ignore[attr-defined]
    shell.settle()
    return int(page.panel.ticket_id)  # type: ignore[attr-defined]


def _press(window: MainWindow, key: Qt.Key, mods=Qt.KeyboardModifier.ControlModifier) -> None:  # type: ignore[no-untyped-def]
    target = QApplication.focusWidget() or window
    QtBot.keyClick(target, key, mods)


def test_ctrl_number_switches_pages_and_ctrl_f_finds(shell: Shell, window: MainWindow):
    ids = list(window.sidebar.buttons)
    for n, page_id in enumerate(ids[:6], start=1):
        _press(window, getattr(Qt.Key, f"Key_{n}"))
        assert window.current_page_id() == page_id
    _press(window, getattr(Qt.Key, f"Key_{ids.index('mywork') + 1}"))
    _press(window, Qt.Key.Key_F)
    assert QApplication.focusWidget() is window.pages["mywork"].search  # type: ignore[attr-defined]


def test_ctrl_r_and_f5_sync(shell: Shell, window: MainWindow, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(shell.service, "sync_now", lambda: calls.append("sync"))
    _press(window, Qt.Key.Key_R)
    _press(window, Qt.Key.Key_F5, Qt.KeyboardModifier.NoModifier)
    assert calls == ["sync", "sync"]


def test_tab_leaves_the_description_and_ctrl_s_saves(shell: Shell, window: MainWindow):
    ticket_id = _open_first_ticket(shell, window)
    details = window.pages["mywork"].panel.details  # type: ignore[attr-defined]
    details.description.setFocus()
    details.description.moveCursor(details.description.textCursor().MoveOperation.End)
    QtBot.keyClicks(details.description, " Checked")
    _press(window, Qt.Key.Key_Tab)  # Ctrl+Tab types a tab
    assert details.description.toPlainText().endswith("\t")
    QtBot.keyClick(details.description, Qt.Key.Key_Tab)  # Tab moves on
    assert QApplication.focusWidget() is not details.description
    assert details.description.toPlainText().count("\t") == 1
    _press(window, Qt.Key.Key_S)
    shell.settle()
    detail = shell.loop.run(shell.agent.ticket(ticket_id))
    assert detail is not None and detail.fields["description"].pending


def test_tab_walks_the_ticket_form_field_by_field(shell: Shell, window: MainWindow):
    """Tab leaves the due date at once (its day, month, year, hour and minute are walked with the
    arrow keys) and reaches "Assigned to"; Shift+Tab comes back the same way."""
    _open_first_ticket(shell, window)
    details = window.pages["mywork"].panel.details  # type: ignore[attr-defined]
    order = [details.status, details.priority, details.title, details.description, details.due]
    order += [details.resource] + ([details.role] if details.role.isEnabled() else [])
    details.status.setFocus()
    for expected in order[1:]:
        QtBot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        assert QApplication.focusWidget() is expected, expected.accessibleName()
    for expected in reversed(order[:-1]):
        QtBot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Backtab)
        assert QApplication.focusWidget() is expected, expected.accessibleName()
    # The arrow keys still choose within the date: Up changes the section the cursor is in.
    details.due.setFocus()
    before = details.due.dateTime()
    QtBot.keyClick(details.due, Qt.Key.Key_Up)
    assert details.due.dateTime() != before


def test_every_control_of_every_page_has_a_name_for_screen_readers(
    shell: Shell, window: MainWindow
):
    _open_first_ticket(shell, window)
    seen: dict[int, QWidget] = {}
    tabs = window.pages["mywork"].panel.tabs  # type: ignore[attr-defined]
    # Wide, then narrow: the ticket's tab bar shows its scroll arrows when its tabs do not fit.
    for size in ((1280, 800), (850, 450)):
        window.resize(*size)
        for page_id in list(window.sidebar.buttons):
            window.show_page(page_id)
            shell.settle()
            # Something typed in each search box: its clear button shows.
            searches = [
                e
                for e in window.findChildren(QLineEdit)
                if e.isVisible() and e.isClearButtonEnabled() and not e.text()
            ]
            for search in searches:
                search.setText("typed")
            for tab in range(tabs.count() if page_id == "mywork" else 1):
                if page_id == "mywork":
                    tabs.setCurrentIndex(tab)
                for widget in window.findChildren(QWidget):
                    if widget.isVisible() and widget.window() is window:  # not a combo's popup
                        seen[id(widget)] = widget
            for search in searches:
                search.clear()
    buttons = [w for w in seen.values() if isinstance(w, QToolButton)]
    assert any(isinstance(w.parent(), QTabBar) for w in buttons)  # the tabs' scroll arrows
    assert any(isinstance(w.parent(), QLineEdit) for w in buttons)  # a search's clear button
    unnamed: list[str] = []
    for widget in seen.values():
        if not isinstance(widget, INTERACTIVE):
            continue
        # A button is read out even when the keyboard does not stop on it (a tab bar's scroll
        # arrow, a search box's clear button); other controls only when it does.
        if widget.focusPolicy() == Qt.FocusPolicy.NoFocus and not isinstance(
            widget, QAbstractButton
        ):
            continue
        if isinstance(widget, QLineEdit) and isinstance(
            widget.parent(), QComboBox | QAbstractSpinBox
        ):
            continue  # the editor inside a combo or spin box: named through its owner
        text = widget.text() if isinstance(widget, QAbstractButton) else ""
        if not (widget.accessibleName().strip() or text.strip()):
            unnamed.append(f"{type(widget).__name__} in {_where(widget)}")
    assert unnamed == [], "\n".join(unnamed)


def test_the_tray_lists_recent_activity_and_opens_its_ticket(shell: Shell, window: MainWindow):
    ticket_id = _open_first_ticket(shell, window)
    shell.loop.run(shell.agent.update_ticket(ticket_id, title="Sent from the field"))
    shell.loop.run(shell.agent.sync_now())
    tray = Tray(shell.service)
    try:
        tray.ticketRequested.connect(window.open_ticket)
        tray.refresh_recent()
        shell.settle()
        shown = [a for a in tray.recent_actions if a.isVisible()]
        assert shown and tray.recent_header.isVisible() and len(shown) <= 5
        assert shown[0].text().startswith("Sent: Change ticket ")
        assert "Title → Sent from the field" in shown[0].toolTip()
        window.show_page("queue")
        shown[0].trigger()
        shell.settle()
        assert window.current_page_id() == "mywork"
        assert window.pages["mywork"].panel.ticket_id == ticket_id  # type: ignore[attr-defined]
    finally:
        tray.hide()
        tray.deleteLater()


def _where(widget: QWidget) -> str:
    """The attribute that holds `widget` on its nearest owner, for a readable failure."""
    owner = widget.parent()
    while owner is not None:
        for name, value in vars(owner).items():
            if value is widget:
                return f"{type(owner).__name__}.{name}"
        owner = owner.parent()
    return type(widget.parent()).__name__


def _tab_walk(start: QWidget, steps: int) -> list[QWidget]:
    start.setFocus(Qt.FocusReason.TabFocusReason)
    walked = [QApplication.focusWidget()]
    for _ in range(steps):
        QtBot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        walked.append(QApplication.focusWidget())
    return walked


def _in_order(walked: list[QWidget], wanted: list[QWidget]) -> bool:
    at = [walked.index(w) for w in wanted if w in walked]
    return len(at) == len(wanted) and at == sorted(at)


def test_tab_walks_the_ticket_forms_in_reading_order(shell: Shell, window: MainWindow):
    _open_first_ticket(shell, window)
    panel = window.pages["mywork"].panel  # type: ignore[attr-defined]
    d = panel.details
    d.title.setText(d.title.text() + " (on site)")  # something to save: Save and Revert enabled
    fields = [d.status, d.priority, d.title, d.description, d.due, d.resource, d.role, d.save]
    walked = _tab_walk(d.status, 12)
    assert _in_order(walked, fields), [type(w).__name__ for w in walked]
    panel.tabs.setCurrentWidget(panel.time)
    t = panel.time
    t.summary.setPlainText("Tabbed through")
    wanted = [t.day, t.start, t.end, t.role, t.summary, t.save]
    walked = _tab_walk(t.day, 20)
    assert _in_order(walked, [w for w in wanted if w.isVisibleTo(t)]), [
        (type(w).__name__, w.accessibleName()) for w in walked
    ]


def test_the_tray_names_conflicts_and_refusals_among_the_last_five(
    shell: Shell, window: MainWindow
):
    agent, sim = shell.agent, shell.sim
    tickets = shell.loop.run(agent.my_tickets())
    for t in tickets[2:6]:  # four sent, the oldest of the lot
        shell.loop.run(agent.update_ticket(t.id, title=f"{t.title} (sent)"))
    shell.loop.run(agent.sync_now())
    refused, disputed = tickets[0], tickets[1]
    tenant, me = sim.tenant, sim.technician_resource_id
    other = next(r for r in sorted(tenant.records["Resources"]) if r != me and tenant.roles_of(r))
    role = min(tenant.roles_of(other))
    shell.loop.run(
        agent.update_ticket(refused.id, assignedResourceID=other, assignedResourceRoleID=role)
    )
    tenant.records["Resources"][other]["isActive"] = False  # left after the last download
    lists = shell.loop.run(agent.picklists("Tickets"))["priority"]
    mine, theirs = [p for p in sorted(lists) if p != disputed.priority][:2]
    shell.loop.run(agent.update_ticket(disputed.id, priority=mine))
    sim.edit_ticket(disputed.id, priority=theirs)  # the dispatcher, meanwhile
    shell.loop.run(agent.sync_now())
    tray = Tray(shell.service)
    try:
        tray.ticketRequested.connect(window.open_ticket)
        tray.refresh_recent()
        shell.settle()
        shown = [a for a in tray.recent_actions if a.isVisible()]
        texts = [a.text() for a in shown]
        assert len(shown) == 5, texts
        assert any(t.startswith(f"Needs attention: Change ticket {refused.number}") for t in texts)
        assert any(t.startswith(f"Conflict: Change ticket {disputed.number}") for t in texts)
        assert sum(t.startswith("Sent: ") for t in texts) == 3  # the oldest sent one left out
        conflict = next(a for a in shown if a.text().startswith("Conflict: "))
        conflict.trigger()
        shell.settle()
        assert window.current_page_id() == "mywork"
        assert window.pages["mywork"].panel.ticket_id == disputed.id  # type: ignore[attr-defined]
    finally:
        tray.hide()
        tray.deleteLater()
