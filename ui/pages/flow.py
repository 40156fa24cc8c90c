"""A row of controls that wraps onto more rows when the page is narrow (a laptop at 150 %), as
words do: each control keeps the width it asks for, none is squeezed, overlaps another or runs
off the page. What is left of a row goes to its controls with a stretch, as in a QHBoxLayout."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QLayout, QLayoutItem, QWidget, QWidgetItem


def group(*widgets: QWidget, spacing: int = 8, trailing_stretch: bool = False) -> QWidget:
    """Widgets that stay together on one line (`trailing_stretch`: packed to the left when the
    group is given more room than it needs)."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(spacing)
    for w in widgets:
        row.addWidget(w)
    if trailing_stretch:
        row.addStretch(1)
    return box


class FlowLayout(QLayout):
    def __init__(self, parent: QWidget | None = None, spacing: int = 8) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._stretch: dict[int, int] = {}  # id(item) -> its share of a row's spare width
        self.setSpacing(spacing)

    # -- what QLayout asks -----------------------------------------------------------------
    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def add_widget(self, widget: QWidget, stretch: int = 0) -> None:
        """`widget` at the end of the row; `stretch` > 0 gives it a share of the spare width."""
        self.addChildWidget(widget)
        item = QWidgetItem(widget)
        self._stretch[id(item)] = stretch
        self.addItem(item)
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # type: ignore[override]
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # type: ignore[override]
        if not 0 <= index < len(self._items):
            return None
        item = self._items.pop(index)
        self._stretch.pop(id(item), None)
        return item

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation.Horizontal

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:
        """All in one row."""
        shown = self._shown()
        m = self.contentsMargins()
        width = sum(i.sizeHint().width() for i in shown) + self.spacing() * max(len(shown) - 1, 0)
        height = max((i.sizeHint().height() for i in shown), default=0)
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def minimumSize(self) -> QSize:
        """One control a row: as narrow as the widest control's minimum."""
        m = self.contentsMargins()
        size = QSize()
        for item in self._shown():
            size = size.expandedTo(item.minimumSize())
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    # -- placing ---------------------------------------------------------------------------
    def _shown(self) -> list[QLayoutItem]:
        return [i for i in self._items if not i.isEmpty()]

    def rows(self, width: int) -> list[list[QLayoutItem]]:
        """The controls of each row at `width` (contents margins excluded)."""
        rows: list[list[QLayoutItem]] = [[]]
        used = 0
        for item in self._shown():
            wanted = item.sizeHint().width()
            if rows[-1] and used + self.spacing() + wanted > width:
                rows.append([])
                used = 0
            used += (self.spacing() if rows[-1] else 0) + wanted
            rows[-1].append(item)
        return [row for row in rows if row]

    def _place(self, rect: QRect, *, move: bool) -> int:
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        y = area.y()
        for n, row in enumerate(self.rows(area.width())):
            if n:
                y += self.spacing()
            height = max(i.sizeHint().height() for i in row)
            if move:
                self._place_row(row, QRect(area.x(), y, area.width(), height))
            y += height
        return y - rect.y() + m.bottom()

    def _place_row(self, row: list[QLayoutItem], line: QRect) -> None:
        widths = [min(i.sizeHint().width(), line.width()) for i in row]
        spare = line.width() - sum(widths) - self.spacing() * (len(row) - 1)
        shares = [self._stretch.get(id(i), 0) for i in row]
        if spare > 0 and sum(shares):
            total = sum(shares)
            for k, item in enumerate(row):
                grown = widths[k] + spare * shares[k] // total
                widths[k] = min(grown, item.maximumSize().width())
        x = line.x()
        for item, width in zip(row, widths, strict=True):
            height = min(item.sizeHint().height(), line.height())
            top = line.y() + (line.height() - height) // 2
            item.setGeometry(QRect(QPoint(x, top), QSize(width, height)))
            x += width + self.spacing()
