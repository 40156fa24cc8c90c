"""A row of control groups that wraps onto more lines when the page is too narrow for them all,
instead of squeezing each control below the size it needs to be read ("S…", a cut-off button).

Groups keep their order; each line holds as many as fit at their minimum width, and a group
marked to stretch takes a line's spare room (a search box)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLayout, QVBoxLayout, QWidget


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


class Reflow(QWidget):
    def __init__(
        self,
        groups: Sequence[QWidget],
        *,
        stretch: Sequence[QWidget] = (),
        spacing: int = 8,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.groups = list(groups)
        self.stretch = set(map(id, stretch))
        self.spacing = spacing
        self.lines: list[list[int]] = []  # group indexes per line, as laid out now
        self._box = QVBoxLayout(self)
        self._box.setContentsMargins(0, 0, 0, 0)
        self._box.setSpacing(spacing // 2 + 2)
        for g in self.groups:
            g.setParent(self)
        self._lay_out([list(range(len(self.groups)))])

    def line_count(self) -> int:
        return len(self.lines)

    def _needs(self, g: QWidget) -> int:
        return max(g.minimumSizeHint().width(), g.minimumWidth())

    def _fit(self, width: int) -> list[list[int]]:
        lines: list[list[int]] = [[]]
        used = 0
        for n, g in enumerate(self.groups):
            if g.isHidden():
                lines[-1].append(n)
                continue
            need = self._needs(g)
            if lines[-1] and used + self.spacing + need > width:
                lines.append([])
                used = 0
            used += (self.spacing if used else 0) + need
            lines[-1].append(n)
        return lines

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._refit(event.size().width())

    def event(self, event: QEvent) -> bool:
        # A control shown, hidden or renamed inside a group (the web link once online): its
        # group may no longer fit where it is.
        if event.type() == QEvent.Type.LayoutRequest:
            self._refit(self.width())
        return super().event(event)

    def _refit(self, width: int) -> None:
        lines = self._fit(width)
        if lines != self.lines:
            self._lay_out(lines)

    def minimumSizeHint(self):  # type: ignore[no-untyped-def]
        """As narrow as its widest group: the rest wraps."""
        hint = super().minimumSizeHint()
        widest = max((self._needs(g) for g in self.groups if not g.isHidden()), default=0)
        hint.setWidth(widest)
        return hint

    def _lay_out(self, lines: list[list[int]]) -> None:
        while self._box.count():
            item = self._box.takeAt(0)
            layout = item.layout() if item is not None else None
            if isinstance(layout, QLayout):
                while layout.count():
                    layout.takeAt(0)
                layout.deleteLater()
        for line in lines:
            row = QHBoxLayout()
            row.setSpacing(self.spacing)
            stretched = False
            for n in line:
                g = self.groups[n]
                grow = id(g) in self.stretch
                stretched = stretched or grow
                row.addWidget(g, 1 if grow else 0, Qt.AlignmentFlag(0))
            if not stretched:
                row.addStretch(1)
            self._box.addLayout(row)
        self.lines = lines
        self.updateGeometry()
