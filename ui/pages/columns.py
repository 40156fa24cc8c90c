"""A list whose main column keeps its room: one column takes the free width, one is sized to its
contents, and the others keep their widths until there is no room for them, then hide, least
important first, and come back when the list grows again."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QHeaderView, QTableView

MAIN_SHARE = 0.45  # the main column keeps at least this share of the list's width
MAIN_MIN = 160  # ... and at least this many pixels while any other column can give way


class ColumnFitter(QObject):
    """Keeps `main` at least MAIN_SHARE of `table`'s width by hiding the columns of `hide_order`
    (least important first); `compact` (if any) is as wide as its contents. Widths the
    technician drags are kept as the columns' widths."""

    def __init__(
        self,
        table: QTableView,
        *,
        main: int,
        compact: int | None = None,
        widths: dict[int, int],
        hide_order: Sequence[int],
    ) -> None:
        super().__init__(table)
        self.table = table
        self.main = main
        self.compact = compact
        self.widths = dict(widths)
        self.hide_order = list(hide_order)
        self._fitting = False
        head = table.horizontalHeader()
        head.setMinimumSectionSize(40)
        head.setStretchLastSection(False)
        head.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        head.setSectionResizeMode(main, QHeaderView.ResizeMode.Stretch)
        if compact is not None:
            head.setSectionResizeMode(compact, QHeaderView.ResizeMode.ResizeToContents)
        head.sectionResized.connect(self._resized_by_hand)
        table.viewport().installEventFilter(self)
        model = table.model()
        model.modelReset.connect(self.fit)
        model.layoutChanged.connect(self.fit)
        model.rowsInserted.connect(self.fit)
        self.fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    def hidden(self) -> list[int]:
        head = self.table.horizontalHeader()
        return [c for c in self.hide_order if head.isSectionHidden(c)]

    def fit(self) -> None:
        """Show every column that leaves the main one its share; hide the rest."""
        if self._fitting:
            return
        self._fitting = True
        try:
            head = self.table.horizontalHeader()
            room = self.table.viewport().width()
            used = 0
            if self.compact is not None:
                self.table.resizeColumnToContents(self.compact)
                used = head.sectionSize(self.compact)
            keep_for_main = max(room * MAIN_SHARE, min(MAIN_MIN, room - used))
            shown = [c for c in self.widths if c not in self.hide_order]
            # The most important optional columns claim their room first; once one does not
            # fit, the less important ones stay hidden too.
            for col in reversed(self.hide_order):
                if room - used - self._width(shown) - self.widths[col] < keep_for_main:
                    break
                shown.append(col)
            for col in self.widths:
                head.setSectionHidden(col, col not in shown)
                if col in shown:
                    head.resizeSection(col, self.widths[col])
        finally:
            self._fitting = False

    def _width(self, cols: list[int]) -> int:
        return sum(self.widths[c] for c in cols)

    def _resized_by_hand(self, col: int, _old: int, new: int) -> None:
        if self._fitting or col not in self.widths or new <= 0:
            return
        self.widths[col] = new
        self.fit()

    # -- remembering ---------------------------------------------------------------------------
    def state(self, names: Sequence[str]) -> dict[str, int]:
        return {names[c]: w for c, w in self.widths.items()}

    def restore(self, names: Sequence[str], saved: object) -> None:
        if not isinstance(saved, dict):
            return
        for c in self.widths:
            width = saved.get(names[c])
            if isinstance(width, int) and 40 <= width <= 1000:
                self.widths[c] = width
        self.fit()
