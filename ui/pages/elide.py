"""Text too long for its column is cut after a whole word with "…" (as the program's own texts
are, `wording.cut`), not in the middle of one; the item's tooltip keeps the full text."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

ELLIPSIS = "…"


def elide_at_word(text: str, metrics: QFontMetrics, room: int) -> str:
    """`text` if it fits in `room` pixels, else its longest run of whole words that fits with
    "…" (a first word too long for the room is cut where it must be)."""
    if metrics.horizontalAdvance(text) <= room:
        return text
    words = text.split(" ")
    low, high = 0, len(words) - 1  # how many words fit: at least `low`, fewer than `high + 1`
    while low < high:
        middle = (low + high + 1) // 2
        head = " ".join(words[:middle]).rstrip(" ,;:→-–")
        if metrics.horizontalAdvance(head + ELLIPSIS) <= room:
            low = middle
        else:
            high = middle - 1
    if low == 0:
        return metrics.elidedText(text, Qt.TextElideMode.ElideRight, room)
    return " ".join(words[:low]).rstrip(" ,;:→-–") + ELLIPSIS


class WordElideDelegate(QStyledItemDelegate):
    """Paints a column's text cut at a word when it does not fit."""

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        text = option.text  # type: ignore[attr-defined]
        if not text or option.rect.width() <= 0:  # type: ignore[attr-defined]
            return
        widget = option.widget  # type: ignore[attr-defined]
        style = widget.style() if widget is not None else QApplication.style()
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1
        room = option.rect.width() - 2 * margin  # type: ignore[attr-defined]
        features = option.features  # type: ignore[attr-defined]
        if features & QStyleOptionViewItem.ViewItemFeature.HasDecoration:
            room -= option.decorationSize.width() + margin  # type: ignore[attr-defined]
        option.text = elide_at_word(text, option.fontMetrics, room)  # type: ignore[attr-defined]
