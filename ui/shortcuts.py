"""The window's keyboard: Ctrl+F finds, Ctrl+S saves the ticket, Ctrl+R or F5 syncs, Ctrl+1..6
switch pages; Tab leaves a text box (Ctrl+Tab types a tab there) and a date (its day, month,
year, hour and minute are chosen with the arrow keys). Escape already closes dialogs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDateEdit,
    QDateTimeEdit,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QTimeEdit,
    QWidget,
)

if TYPE_CHECKING:
    from ui.mainwindow import MainWindow

TextBox = QPlainTextEdit | QTextEdit


class _CtrlTabTypesTab(QObject):
    """Ctrl+Tab in a text box whose Tab moves the focus: type the tab character there."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Tab
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
            and isinstance(watched, QPlainTextEdit | QTextEdit)
            and not watched.isReadOnly()
        ):
            watched.insertPlainText("\t")
            return True
        return False


_CTRL_TAB = _CtrlTabTypesTab()


def tab_moves_focus(box: TextBox) -> None:
    """Tab and Shift+Tab move to the next and previous field, as everywhere else in the window;
    Ctrl+Tab types a tab."""
    box.setTabChangesFocus(True)
    box.installEventFilter(_CTRL_TAB)


# Qt's date and time boxes take Tab to walk their sections (day, month, year, hour, minute), so
# Tab stayed in a "Due" box for five presses. Here Tab moves to the next field, as everywhere
# else in the window; Left and Right move between the sections, Up and Down change one.
class DateTimeEdit(QDateTimeEdit):
    def focusNextPrevChild(self, next: bool) -> bool:
        return QWidget.focusNextPrevChild(self, next)


class DateEdit(QDateEdit):
    def focusNextPrevChild(self, next: bool) -> bool:
        return QWidget.focusNextPrevChild(self, next)


class TimeEdit(QTimeEdit):
    def focusNextPrevChild(self, next: bool) -> bool:
        return QWidget.focusNextPrevChild(self, next)


def install(window: MainWindow) -> list[QShortcut]:
    """The window's shortcuts (active wherever the focus is inside the window)."""
    made: list[QShortcut] = []

    def add(keys: str, slot: Callable[[], object]) -> None:
        shortcut = QShortcut(QKeySequence(keys), window)
        shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        shortcut.activated.connect(slot)
        made.append(shortcut)

    add("Ctrl+F", lambda: focus_search(window))
    add("Ctrl+S", lambda: save_ticket(window))
    add("Ctrl+R", window.sync_now)
    add("F5", window.sync_now)
    for n in range(1, 7):
        add(f"Ctrl+{n}", lambda n=n: show_nth_page(window, n))
    return made


def show_nth_page(window: MainWindow, n: int) -> None:
    ids = list(window.sidebar.buttons)
    if 0 < n <= len(ids):
        window.show_page(ids[n - 1])


def focus_search(window: MainWindow) -> None:
    """The current page's search box, if it has one."""
    page = window.stack.currentWidget()
    for name in ("search", "text"):
        box = getattr(page, name, None)
        if isinstance(box, QLineEdit):
            box.setFocus(Qt.FocusReason.ShortcutFocusReason)
            box.selectAll()
            return


def save_ticket(window: MainWindow) -> None:
    """Save the ticket open on the current page (as its Save button does)."""
    page = window.stack.currentWidget()
    panel = getattr(page, "panel", None)
    details = getattr(panel, "details", None)
    save = getattr(details, "save", None)
    if isinstance(save, QWidget) and save.isVisibleTo(window) and save.isEnabled():
        details.submit()  # type: ignore[union-attr]
