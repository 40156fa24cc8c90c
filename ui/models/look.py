"""Colours, row markers and time words shared by the item models and the pages."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

# One palette for every status the pages show, so "pending" is the same amber everywhere.
TONES: dict[str, tuple[str, str]] = {  # tone -> (text colour, background)
    "ok": ("#166534", "#dcfce7"),
    "pending": ("#92400e", "#fef3c7"),
    "conflict": ("#991b1b", "#fee2e2"),
    "error": ("#991b1b", "#fee2e2"),
    "info": ("#1e40af", "#dbeafe"),
    "muted": ("#374151", "#e5e7eb"),
    "mine": ("#1e3a8a", "#dbeafe"),
    "theirs": ("#6b21a8", "#f3e8ff"),
}
# Row markers are brighter than chip text so a dot reads at 10 px.
DOTS: dict[str, str] = {
    "ok": "#16a34a",
    "pending": "#f59e0b",
    "conflict": "#dc2626",
    "error": "#dc2626",
    "info": "#3b82f6",
    "muted": "#9ca3af",
    "mine": "#2563eb",
    "theirs": "#9333ea",
}
ACCENT = "#2563eb"
MUTED = "#6b7280"
ERROR = "#b91c1c"


def chip_style(tone: str) -> str:
    fg, bg = TONES[tone]
    return (
        f"QLabel {{ color: {fg}; background: {bg}; border-radius: 9px; padding: 1px 8px;"
        " font-size: 11px; font-weight: 600; }"
    )


@functools.cache
def dot_icon(tone: str, size: int = 12) -> QIcon:
    """A filled circle in the tone's colour: a status marker for table rows."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(DOTS[tone]))
    r = size / 2 - 1
    painter.drawEllipse(QPointF(size / 2, size / 2), r, r)
    painter.end()
    return QIcon(pixmap)


# -- time in words ---------------------------------------------------------------------------
def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def to_iso(when: datetime) -> str:
    """The wire form Autotask expects: UTC with a Z."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_text(when: datetime | float | None, *, seconds: bool = False) -> str:
    """A date and time in the user's time zone, e.g. "5 Jan 2026, 09:40"."""
    if when is None:
        return ""
    if isinstance(when, int | float):
        when = datetime.fromtimestamp(when, UTC)
    fmt = "%d %b %Y %H:%M:%S" if seconds else "%d %b %Y %H:%M"
    return when.astimezone().strftime(fmt).lstrip("0")


def span_words(seconds: float) -> str:
    """A duration as a person says it: "40 s", "4 min", "2 h 5 min", "3 days"."""
    s = abs(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    d = s // 86400
    return f"{d} day" if d == 1 else f"{d} days"


def relative_words(at: float | None, now: float) -> str:
    """ "in 4 min", "2 h ago", "now" relative to `now` (both Unix seconds)."""
    if at is None:
        return ""
    delta = at - now
    if abs(delta) < 5:
        return "now"
    return f"in {span_words(delta)}" if delta > 0 else f"{span_words(delta)} ago"
