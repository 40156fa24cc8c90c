"""The technician's tickets as a table, and the proxy that searches, filters and sorts it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QFont

from agent.api.types import TicketSummary
from ui.models.labels import field_label
from ui.models.look import TONES, dot_icon, local_text, parse_iso
from ui.models.table import ListTableModel

Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
TICKET_ROLE = Qt.ItemDataRole.UserRole + 2

COLUMNS = ["Ticket", "Title", "Company", "Status", "Priority", "Due"]
NUMBER, TITLE, COMPANY, STATUS, PRIORITY, DUE = range(len(COLUMNS))
# Which summary fields feed a column (pending fields are shown in italics there).
COLUMN_FIELDS = {TITLE: "title", STATUS: "status", PRIORITY: "priority", DUE: "dueDateTime"}


class TicketTableModel(ListTableModel):
    columns = COLUMNS

    def __init__(self) -> None:
        super().__init__()
        self._tickets: list[TicketSummary] = []

    def set_tickets(self, tickets: list[TicketSummary]) -> None:
        self.beginResetModel()
        self._tickets = list(tickets)
        self.endResetModel()

    def ticket_at(self, row: int) -> TicketSummary:
        return self._tickets[row]

    def row_of(self, ticket_id: int) -> int | None:
        return next((i for i, t in enumerate(self._tickets) if t.id == ticket_id), None)

    def rows(self) -> list[Any]:
        return self._tickets

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        t = self._tickets[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(t, col)
        if role == SORT_ROLE:
            return self._sort_key(t, col)
        if role == TICKET_ROLE:
            return t
        if role == Qt.ItemDataRole.DecorationRole and col == NUMBER:
            if t.conflicts:
                return dot_icon("conflict")
            if t.has_pending:
                return dot_icon("pending")
            return None  # synced rows stay quiet so the marked ones stand out
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(t)
        if role == Qt.ItemDataRole.FontRole and COLUMN_FIELDS.get(col) in t.pending_fields:
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and COLUMN_FIELDS.get(col) in t.pending_fields:
            return QColor(TONES["pending"][0])
        return None

    @staticmethod
    def _display(t: TicketSummary, col: int) -> str:
        if col == NUMBER:
            return t.number
        if col == TITLE:
            return t.title
        if col == COMPANY:
            return t.company
        if col == STATUS:
            return t.status_label
        if col == PRIORITY:
            return t.priority_label
        due = parse_iso(t.due)
        return local_text(due) if due else "—"

    @staticmethod
    def _sort_key(t: TicketSummary, col: int) -> Any:
        if col == PRIORITY:
            return t.priority_label.lower()
        if col == DUE:
            return t.due or "9999"
        return TicketTableModel._display(t, col).lower()

    @staticmethod
    def _tooltip(t: TicketSummary) -> str:
        lines = [f"{t.number}: {t.title}"]
        if t.conflicts:
            lines.append(f"{t.conflicts} conflict(s) to resolve: see the Conflicts page.")
        waiting = [field_label(f) for f in t.pending_fields]
        if t.pending_notes:
            waiting.append(f"{t.pending_notes} note" + "s" * (t.pending_notes > 1))
        if t.pending_time_entries:
            n = t.pending_time_entries
            waiting.append(f"{n} time entr" + ("ies" if n > 1 else "y"))
        if t.pending_parts:
            waiting.append(f"{t.pending_parts} part" + "s" * (t.pending_parts > 1))
        if t.pending_checklist:
            n = t.pending_checklist
            waiting.append(f"{n} checklist item" + "s" * (n > 1))
        if t.pending_files:
            waiting.append(f"{t.pending_files} file" + "s" * (t.pending_files > 1))
        if waiting:
            lines.append(f"Waiting to be sent: {', '.join(waiting)}")
        elif not t.conflicts:
            lines.append("Synced with Autotask.")
        return "\n".join(lines)


class TicketFilter(QSortFilterProxyModel):
    """Search (title, number, company) and exact filters on status, priority and company."""

    def __init__(self) -> None:
        super().__init__()
        self.setSortRole(SORT_ROLE)
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._text = ""
        self._status: int | None = None
        self._priority: int | None = None
        self._company: int | None = None

    def set_criteria(
        self,
        *,
        text: str = "",
        status: int | None = None,
        priority: int | None = None,
        company: int | None = None,
    ) -> None:
        self.beginFilterChange()
        self._text = text.strip().lower()
        self._status, self._priority, self._company = status, priority, company
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        assert isinstance(model, TicketTableModel)
        t = model.ticket_at(source_row)
        if self._status is not None and t.status != self._status:
            return False
        if self._priority is not None and t.priority != self._priority:
            return False
        if self._company is not None and t.company_id != self._company:
            return False
        if self._text:
            haystack = f"{t.number}\n{t.title}\n{t.company}".lower()
            return all(word in haystack for word in self._text.split())
        return True
