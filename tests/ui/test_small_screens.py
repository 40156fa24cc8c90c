"""The window on a small screen, in this process: a 1280x720 laptop at 150 % scaling offers Qt
853x480 logical pixels, and Qt lays widgets out in logical pixels, so the window at 850x450 (a
title bar less) is what that laptop shows. Every control keeps at least its minimum size (a
label never gets 3 px of height, a choice list never one letter), none overlaps another, none
runs off the page; a ticket's tabs scroll rather than squeeze; the dialogs fit the screen with
their buttons in view. (tests/ui/test_layout_sizes.py checks the same with Qt's own scaling, in
a child process.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTabBar,
    QWidget,
)
from pytestqt.qtbot import QtBot

from agent.settings import Settings
from tests.ui.conftest import Shell
from ui import style
from ui.dialogs.fit import fit_dialog
from ui.mainwindow import MainWindow
from ui.settings_dialog import SettingsDialog
from ui.signin import SignInDialog

SCALED = QSize(850, 450)  # 1280x720 at 150 %, less the title bar
LAPTOP = QSize(1280, 690)  # 1280x720 at 100 %
SCREEN_AT_150 = QRect(0, 0, 853, 480)
CONTROLS = (QLabel, QLineEdit, QComboBox, QAbstractSpinBox, QAbstractButton, QPlainTextEdit)
INSIDE_A_CONTROL = (QComboBox, QAbstractSpinBox, QAbstractItemView, QTabBar, QLineEdit)


def controls(root: QWidget) -> list[QWidget]:
    """What a technician sees in `root`: its labels, fields and buttons, and its lists (not the
    parts Qt builds inside a choice list, a spin box, a list or a tab bar)."""
    found: list[QWidget] = []
    for w in root.findChildren(QWidget):
        if not isinstance(w, (*CONTROLS, QAbstractItemView)) or not w.isVisibleTo(root):
            continue
        owner, inside = w.parentWidget(), False
        while owner is not None and owner is not root:
            inside = inside or isinstance(owner, INSIDE_A_CONTROL)
            owner = owner.parentWidget()
        if not inside:
            found.append(w)
    return found


def least(w: QWidget) -> QSize:
    """The size Qt's layouts never go below: the minimum set, else the minimum hint."""
    hint = w.minimumSizeHint()
    return QSize(w.minimumWidth() or hint.width(), w.minimumHeight() or hint.height())


def named(w: QWidget) -> str:
    text = w.text() if isinstance(w, QLabel | QAbstractButton) else ""
    return f"{type(w).__name__} {w.accessibleName() or text!r}"


def problems(root: QWidget, within: QWidget | None = None) -> list[str]:
    """Controls of `root` squeezed below their minimum, overlapping one another, or not wholly
    inside `within` (default `root`)."""
    within = within or root
    found = controls(root)
    rects = {id(w): QRect(w.mapTo(within, QPoint(0, 0)), w.size()) for w in found}
    out: list[str] = []
    for w in found:
        name = named(w)
        need = least(w)
        if w.width() < need.width() or w.height() < need.height():
            out.append(f"{name} squeezed: {w.width()}x{w.height()} < {need.toTuple()}")
        if not within.rect().contains(rects[id(w)]):
            out.append(f"{name} runs off: {rects[id(w)].getRect()} in {within.size().toTuple()}")
    for n, a in enumerate(found):
        for b in found[n + 1 :]:
            if a.isAncestorOf(b) or b.isAncestorOf(a):
                continue
            if rects[id(a)].intersects(rects[id(b)]):
                out.append(f"{named(a)} overlaps {named(b)}")
    return out


@pytest.fixture(autouse=True)
def _the_programs_look(qapp: QApplication) -> Iterator[None]:
    """The program's font and style sheet (its paddings make the controls taller), as it runs."""
    was = (qapp.font(), qapp.palette(), qapp.styleSheet())
    style.apply(qapp)
    yield
    font, palette, sheet = was
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)
    qapp.setFont(font)


@pytest.fixture
def window(shell: Shell, qtbot: QtBot) -> Iterator[MainWindow]:
    report = shell.loop.run(shell.agent.sync_now())
    assert report is not None and report.error is None
    shell.settle()
    window = MainWindow(shell.service, tray_available=False)
    qtbot.addWidget(window)
    window.show()
    window.resize(SCALED)
    shell.settle()
    yield window
    window.hide()


def show(shell: Shell, window: MainWindow, page_id: str, size: QSize = SCALED) -> QWidget:
    window.resize(size)
    window.show_page(page_id)
    shell.settle()
    QApplication.processEvents()
    return window.pages[page_id]


def test_every_tab_of_a_ticket_scrolls_rather_than_squeezes_its_form(
    shell: Shell, window: MainWindow
) -> None:
    page = show(shell, window, "mywork")
    ticket = shell.loop.run(shell.agent.my_tickets())[0]
    assert page.select_ticket(ticket.id)  # type: ignore[attr-defined]
    shell.settle()
    panel = page.panel  # type: ignore[attr-defined]
    tabs = panel.tabs
    seen: dict[str, list[str]] = {}
    for index in range(tabs.count()):
        tabs.setCurrentIndex(index)
        QApplication.processEvents()
        tab = tabs.currentWidget()
        assert isinstance(tab, QScrollArea) and tab.widgetResizable(), tabs.tabText(index)
        body = tab.widget()
        # Shorter than its form here: it scrolls, and the form has all its room.
        assert body.height() >= body.minimumSizeHint().height()
        assert tab.horizontalScrollBar().maximum() == 0, tabs.tabText(index)  # never sideways
        seen[tabs.tabText(index)] = problems(body)
    assert panel.parts.verticalScrollBar().maximum() > 0  # the Parts form is below its list
    assert {tab: found for tab, found in seen.items() if found} == {}


def test_the_audit_filters_wrap_rather_than_squeeze_at_150_and_at_100_percent(
    shell: Shell, window: MainWindow
) -> None:
    for size in (SCALED, LAPTOP):
        page = show(shell, window, "audit", size)
        page.activate()  # type: ignore[attr-defined]
        shell.settle()
        bar = page.filter_row  # type: ignore[attr-defined]
        assert problems(page) == [], size
        record_id = page.entity_id  # type: ignore[attr-defined]
        assert record_id.width() > record_id.fontMetrics().horizontalAdvance("Record id 000")
        if size == SCALED:  # two rows (or more) rather than one squeezed
            assert len(bar.rows(bar.geometry().width())) >= 2


def test_my_work_search_keeps_its_room_and_the_filters_wrap(
    shell: Shell, window: MainWindow
) -> None:
    page = show(shell, window, "mywork")
    assert problems(page) == []
    search = page.search  # type: ignore[attr-defined]
    assert search.width() >= search.fontMetrics().horizontalAdvance("x" * 24)
    for combo in (page.status, page.priority, page.company):  # type: ignore[attr-defined]
        assert combo.width() >= combo.fontMetrics().horizontalAdvance("All companies")


def fits_with_buttons(dialog: QWidget, area: QRect, buttons: list[QPushButton]) -> None:
    assert area.contains(dialog.frameGeometry()), (dialog.frameGeometry(), area)
    for button in buttons:
        place = QRect(button.mapTo(dialog, QPoint(0, 0)), button.size())
        assert button.isVisible() and dialog.rect().contains(place), button.text()
        assert button.height() >= least(button).height(), button.text()


def test_the_settings_dialog_scrolls_and_keeps_its_buttons_on_a_small_screen(
    shell: Shell, qtbot: QtBot
) -> None:
    dialog = SettingsDialog(shell.service, Settings())
    qtbot.addWidget(dialog)
    dialog.show()
    buttons = [dialog.sign_out_button, dialog.cancel_button, dialog.save_button]
    fit_dialog(dialog, SCREEN_AT_150)
    QApplication.processEvents()
    fits_with_buttons(dialog, SCREEN_AT_150, buttons)
    dialog.advanced.setChecked(True)  # a row taller
    # Shorter still (larger fonts, a panel at the bottom): the buttons stay, the body scrolls.
    short = QRect(0, 0, 853, 330)
    fit_dialog(dialog, short, dialog.size())
    QApplication.processEvents()
    fits_with_buttons(dialog, short, buttons)
    scroll = dialog.scroll
    assert scroll.verticalScrollBar().maximum() > 0  # the rest is a scroll away
    assert scroll.horizontalScrollBar().maximum() == 0
    assert problems(scroll.widget()) == []
    scroll.ensureWidgetVisible(dialog.durability)
    seen = QRect(dialog.durability.mapTo(scroll.viewport(), QPoint(0, 0)), dialog.durability.size())
    assert scroll.viewport().rect().contains(seen)
    # Where the screen has the room, it opens whole: nothing to scroll.
    fit_dialog(dialog, QRect(0, 0, 1920, 1040))
    QApplication.processEvents()
    assert scroll.verticalScrollBar().maximum() == 0


def test_the_sign_in_dialog_fits_a_small_screen(shell: Shell, qtbot: QtBot) -> None:
    dialog = SignInDialog(shell.service)
    qtbot.addWidget(dialog)
    dialog.show()
    fit_dialog(dialog, SCREEN_AT_150)
    QApplication.processEvents()
    fits_with_buttons(
        dialog, SCREEN_AT_150, [dialog.test_button, dialog.cancel_button, dialog.sign_in_button]
    )
    assert problems(dialog.scroll.widget()) == []
