"""The window's size, position and layout across restarts, and a window that fits its screen.

Kept in a small INI file in the profile's folder (`window.ini`, through QSettings) rather than
in the agent's settings: it is this computer's screen arrangement, not configuration. It holds
Qt's own geometry blob and a few numbers, never sync data, so it needs no audit, no validation
by the core and no encryption, and the core (which never imports Qt) has no use for it. Beside
the database it goes with the profile: a second profile remembers its own window, and deleting
the data on uninstall deletes it too.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QPoint, QRect, QSettings, QSize
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

FILE_NAME = "window.ini"
# Room for a window manager's title bar and borders when the frame is not known yet (before
# the first show): a window sized to the screen minus this never opens under the panel.
FRAME_GUESS = QSize(16, 40)


class WindowMemory:
    """Reads and writes the window's geometry and each page's layout (plain values)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.settings = QSettings(str(self.path), QSettings.Format.IniFormat)

    def geometry(self) -> QByteArray | None:
        value = self.settings.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_geometry(self, blob: QByteArray) -> None:
        self.settings.setValue("window/geometry", blob)

    def page(self, page_id: str) -> dict[str, Any]:
        """A page's layout as it saved it (splitter sizes, column widths), or {}."""
        text = self.settings.value(f"pages/{page_id}")
        try:
            value = json.loads(str(text)) if text else {}
        except ValueError:
            log.warning("the saved layout of %s is unreadable; using the default", page_id)
            return {}
        return value if isinstance(value, dict) else {}

    def set_page(self, page_id: str, layout: dict[str, Any]) -> None:
        self.settings.setValue(f"pages/{page_id}", json.dumps(layout, sort_keys=True))

    def sync(self) -> None:
        self.settings.sync()


def screen_for(rect: QRect) -> QScreen:
    """The screen showing most of `rect`; the primary one when no screen shows any of it (a
    monitor that was unplugged since)."""
    best, area = QGuiApplication.primaryScreen(), 0
    for screen in QGuiApplication.screens():
        part = screen.availableGeometry().intersected(rect)
        if part.width() * part.height() > area:
            best, area = screen, part.width() * part.height()
    return best


def fit_to_screen(window: QWidget, area: QRect | None = None) -> None:
    """Make the window (frame included) no larger than its screen's available area (or `area`)
    and move it wholly onto it. A maximised or full-screen window is left to the window
    manager."""
    if window.isMaximized() or window.isFullScreen():
        return
    frame = window.frameGeometry()
    inner = window.geometry()
    extra = QSize(frame.width() - inner.width(), frame.height() - inner.height())
    if window.isVisible() and (extra.width() > 0 or extra.height() > 0):
        frame_extra = extra
    else:
        frame_extra = FRAME_GUESS
    if area is None:
        area = screen_for(frame).availableGeometry()
    width = max(1, min(inner.width(), area.width() - frame_extra.width()))
    height = max(1, min(inner.height(), area.height() - frame_extra.height()))
    if width < window.minimumWidth() or height < window.minimumHeight():
        smallest = window.minimumSize()
        window.setMinimumSize(min(width, smallest.width()), min(height, smallest.height()))
    window.resize(width, height)
    outer = QSize(width + frame_extra.width(), height + frame_extra.height())
    x = min(max(frame.x(), area.left()), area.left() + area.width() - outer.width())
    y = min(max(frame.y(), area.top()), area.top() + area.height() - outer.height())
    window.move(QPoint(x, y))
