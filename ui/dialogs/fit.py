"""Dialogs that fit the screen. A 1280x720 laptop at 150 % offers 853x480 logical pixels: a
dialog's body scrolls there rather than pushing its buttons off the screen, and the dialog is
never larger than the screen's free area. Where the screen has the room, it opens whole."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSize, QTimer
from PySide6.QtWidgets import QDialog, QScrollArea, QVBoxLayout, QWidget

from ui.window_state import FRAME_GUESS, fit_to_screen, screen_for

SHORTEST_BODY = 120  # the body's least height in a short dialog: a few lines, then it scrolls


class DialogBody(QScrollArea):
    """A dialog's fields, above its buttons: asks for its whole size, scrolls when it is not
    given it. Fill `body`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.body = QWidget()
        self.setWidget(self.body)

    def sizeHint(self) -> QSize:
        # QScrollArea's own hint stops at a few dozen lines' worth; this one is the whole body.
        hint = self.body.sizeHint()
        frame = 2 * self.frameWidth()
        return QSize(hint.width() + frame, hint.height() + frame)

    def minimumSizeHint(self) -> QSize:
        # As narrow as the body can be beside a scroll bar (never sideways scrolling), as short
        # as a few lines.
        least = self.body.minimumSizeHint()
        bar = self.verticalScrollBar().sizeHint().width()
        return QSize(least.width() + bar, min(least.height(), SHORTEST_BODY))


def body_above_buttons(
    dialog: QDialog, *, margins: tuple[int, int, int, int] | None = None, spacing: int = -1
) -> tuple[QVBoxLayout, DialogBody, QVBoxLayout]:
    """The dialog's layout, its scrolling body in it, and the body's own layout: the fields
    scroll on a short screen (a laptop at 150 %) while the buttons, added below, stay in view."""
    outer = QVBoxLayout(dialog)
    if margins is not None:
        outer.setContentsMargins(*margins)
    if spacing >= 0:
        outer.setSpacing(spacing)
    scroll = DialogBody()
    outer.addWidget(scroll, 1)
    box = QVBoxLayout(scroll.body)
    box.setContentsMargins(0, 0, 0, 0)
    if spacing >= 0:
        box.setSpacing(spacing)
    return outer, scroll, box


def fit_dialog(dialog: QWidget, area: QRect | None = None, wanted: QSize | None = None) -> None:
    """As large as its content asks (and `wanted`), no larger than its screen's free area (or
    `area`), centred over the window it belongs to and wholly on the screen."""
    owner = dialog.parentWidget()
    frame = dialog.frameGeometry()
    centre = owner.window().frameGeometry().center() if owner is not None else frame.center()
    if area is None:
        area = screen_for(owner.window().frameGeometry() if owner else frame).availableGeometry()
    known = QSize(frame.width() - dialog.width(), frame.height() - dialog.height())
    extra = known if dialog.isVisible() and not known.isNull() else FRAME_GUESS
    room = area.size() - extra
    size = dialog.sizeHint().expandedTo(dialog.minimumSize())
    if wanted is not None:
        size = size.expandedTo(wanted)
    size = size.boundedTo(room)
    dialog.resize(size)
    outer = size + extra
    x = min(max(centre.x() - outer.width() // 2, area.left()), area.right() + 1 - outer.width())
    y = min(max(centre.y() - outer.height() // 2, area.top()), area.bottom() + 1 - outer.height())
    dialog.move(QPoint(x, y))


class _KeepOnScreen(QObject):
    def __init__(self, dialog: QDialog, wanted: QSize | None) -> None:
        super().__init__(dialog)
        self.wanted = wanted
        self.fitted = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show and isinstance(watched, QWidget):
            if not self.fitted:  # the first time; later, as the technician left it
                self.fitted = True
                fit_dialog(watched, wanted=self.wanted)
            # Again once the window manager has framed it (its title bar is known then).
            QTimer.singleShot(0, watched, lambda: fit_to_screen(watched))
        return False


def keep_on_screen(dialog: QDialog, wanted: QSize | None = None) -> None:
    """Fit `dialog` to its screen each time it is shown (see `fit_dialog`)."""
    dialog.installEventFilter(_KeepOnScreen(dialog, wanted))
