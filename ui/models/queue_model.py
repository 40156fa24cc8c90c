"""The outbox as a table that loads page by page as the view scrolls (canFetchMore/fetchMore).

A queue of 100,000 operations opens at once and scrolls smoothly: only what was seen is loaded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from agent.api import facade
from agent.api.types import QueueItem, QueuePage, UploadProgress
from ui import wording
from ui.models.labels import STATE_WORDS, entity_label
from ui.models.look import TONES, dot_icon, local_text, relative_words
from ui.models.table import ListTableModel
from ui.service import AgentService

Index = QModelIndex | QPersistentModelIndex
PAGE_SIZE = 200
ITEM_ROLE = Qt.ItemDataRole.UserRole + 1

COLUMNS = ["What it changes", "State", "Priority", "Attempts", "Next try", "Problem", "Added"]
WHAT, STATE, PRIORITY, ATTEMPTS, NEXT, PROBLEM, ADDED = range(len(COLUMNS))


def op_states(names: Iterable[str] | None) -> frozenset[Any] | None:
    """State names as the facade's state values (it filters on its own enum)."""
    return None if names is None else frozenset(facade.OpState(n) for n in names)


class QueueModel(ListTableModel):
    columns = COLUMNS

    loaded = Signal()  # a page arrived (or the first one, after a reset)
    failed = Signal(str)

    def __init__(self, service: AgentService, now: Callable[[], float]) -> None:
        super().__init__()
        self.service = service
        self.now = now
        self.items: list[QueueItem] = []
        self.total = 0
        self._states: frozenset[str] | None = None
        self._after: int | None = None
        self._more = True
        self._loading = False
        self._generation = 0  # pages of an older filter are dropped on arrival
        self._rows: dict[int, int] = {}  # operation id -> row
        service.uploadProgress.connect(self.upload_moved)

    # -- loading ---------------------------------------------------------------------------
    def set_states(self, states: frozenset[str] | None) -> None:
        self._states = states
        self.reload()

    @property
    def states(self) -> frozenset[str] | None:
        return self._states

    def reload(self) -> None:
        """Start over from the first page (the view then asks for more as it scrolls)."""
        self.beginResetModel()
        self._generation += 1
        self.items = []
        self._rows = {}
        self._after = None
        self._more = True
        self._loading = False
        self.endResetModel()
        self.fetchMore(QModelIndex())

    @property
    def loading(self) -> bool:
        return self._loading

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._more and not self._loading

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        self._loading = True
        generation = self._generation
        facade = self.service.agent
        call = facade.queue_page(
            after_id=self._after, limit=PAGE_SIZE, states=op_states(self._states)
        )
        self.service.run(
            call, lambda page: self._arrived(generation, page), self._failed(generation)
        )

    def _arrived(self, generation: int, page: QueuePage) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self.total = page.total
        self._after = page.next_after_id
        self._more = page.next_after_id is not None and bool(page.items)
        if page.items:
            first = len(self.items)
            self.beginInsertRows(QModelIndex(), first, first + len(page.items) - 1)
            self.items.extend(page.items)
            self._rows.update((item.id, first + n) for n, item in enumerate(page.items))
            self.endInsertRows()
        self.loaded.emit()

    def _failed(self, generation: int) -> Callable[[BaseException], None]:
        def report(exc: BaseException) -> None:
            if generation == self._generation:
                self._loading = False
                self._more = False
                self.failed.emit(f"The queue could not be read: {exc}")

        return report

    def upload_moved(self, progress: UploadProgress | None) -> None:
        """An upload's bytes moved on (or it ended): its row says so, without a reload."""
        if progress is None:
            return
        row = self._rows.get(progress.op_id)
        if row is None or row >= len(self.items) or self.items[row].id != progress.op_id:
            return  # not loaded here (the reload that follows its end shows it)
        upload = None if progress.ended else progress
        self.items[row] = dataclasses.replace(self.items[row], upload=upload)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    # -- the table -------------------------------------------------------------------------
    def row_of(self, op_id: int) -> int | None:
        """The row showing operation `op_id`, if it is loaded."""
        row = self._rows.get(op_id)
        return row if row is not None and row < len(self.items) else None

    def item_at(self, row: int) -> QueueItem:
        return self.items[row]

    def rows(self) -> list[Any]:
        return self.items

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self.items[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(item, col)
        if role == ITEM_ROLE:
            return item
        if role == Qt.ItemDataRole.DecorationRole and col == STATE:
            if item.upload is not None:
                return dot_icon("info")
            return dot_icon(STATE_WORDS.get(item.state, (item.state, "muted"))[1])
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(item)
        if role == Qt.ItemDataRole.ForegroundRole and col == PROBLEM and item.last_error:
            # A lost answer being checked is not a failure: said, but not in red.
            # Red only for what waits for the technician; a change that will simply be retried
            # (or a lost answer being checked) is said in the waiting tone.
            calm = item.outcome_unknown or item.state in ("pending", "leased")
            return QColor(TONES["pending" if calm else "error"][0])
        if role == Qt.ItemDataRole.TextAlignmentRole and col == ATTEMPTS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def text(self, item: QueueItem, col: int) -> str:
        if col == WHAT:
            return wording.cut(item.description)
        if col == STATE:
            if item.upload is not None:
                return upload_state(item.upload)
            words = STATE_WORDS.get(item.state, (item.state, ""))[0]
            return f"{words} (outcome unknown)" if item.outcome_unknown else words
        if col == PRIORITY:
            return item.priority.capitalize()
        if col == ATTEMPTS:
            return str(item.attempts)
        if col == NEXT:
            if item.state != "pending" or item.upload is not None:
                return ""
            if item.next_attempt_at is None or item.next_attempt_at <= self.now():
                sendable = wording.can_send(self.service.last_status)
                return "at the next sync" if sendable else "as soon as online"
            return relative_words(item.next_attempt_at, self.now())
        if col == PROBLEM:
            return item.last_error or ""
        return local_text(item.created_at)

    def tooltip(self, item: QueueItem) -> str:
        lines = [item.description, f"{entity_label(item.entity_type)} · operation #{item.id}"]
        if item.upload is not None:
            lines.append(f"Uploading: {wording.upload_words(item.upload)}")
        elif item.last_error:
            lines.append(item.last_error)
        return "\n".join(lines)

    def refresh_times(self) -> None:
        """Relative times ("in 4 min") age; repaint that column only."""
        if self.items:
            self.dataChanged.emit(self.index(0, NEXT), self.index(len(self.items) - 1, NEXT), [0])


def upload_state(progress: UploadProgress) -> str:
    """The state column of an upload under way: `Uploading 45 %`."""
    if progress.total and progress.sent >= progress.total:
        return "Uploaded, confirming"
    return f"Uploading {wording.percent(progress)}"
