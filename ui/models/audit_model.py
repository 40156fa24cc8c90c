"""The audit trail as a table (newest first), loaded in pages of 500 as the view scrolls."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal

from agent.api.types import AuditEntry
from ui.models.labels import entity_label
from ui.models.look import local_text
from ui.models.table import ListTableModel
from ui.service import AgentService

Index = QModelIndex | QPersistentModelIndex
PAGE_SIZE = 500
COLUMNS = ["When", "What happened", "Record", "Operation", "Summary"]
WHEN, ACTION, RECORD, OP, SUMMARY = range(len(COLUMNS))
ACTION_WORDS = {
    "edit_captured": "Edit captured",
    "enqueued": "Queued",
    "sent": "Sent to Autotask",
    "succeeded": "Accepted by Autotask",
    "failed": "Failed",
    "parked": "Needs attention",
    "reconciled": "Checked after a lost answer",
    "conflict_detected": "Conflict found",
    "conflict_resolved": "Conflict resolved",
    "discarded": "Discarded",
    "audit_keyed": "Audit trail keyed",
    "audit_pruned": "Old history removed",
    "audit_reanchored": "Audit anchor set again",
    "overlay_repaired": "Stale pending value repaired",
    "timer_started": "Timer started",
    "timer_stopped": "Timer stopped",
    "timer_logged": "Timed work logged",
    "timer_discarded": "Timer discarded",
}


def summary(entry: AuditEntry) -> str:
    """The event in a sentence a person reads: the agent's words (`agent.api.audit_words`)."""
    return entry.summary


def detail_lines(entry: AuditEntry) -> list[tuple[str, str]]:
    """The event's full record as (label, text) rows, nested values one field per row."""
    rows: list[tuple[str, str]] = [
        ("When", local_text(entry.at, seconds=True)),
        ("What happened", ACTION_WORDS.get(entry.action, entry.action.replace("_", " "))),
    ]
    if entry.entity_type:
        record = entry.record or entity_label(entry.entity_type)
        known = entry.entity_id and not entry.entity_id.startswith("~")
        # The id too: it is what the Record id filter takes.
        rows.append(("Record", f"{record} (id {entry.entity_id})" if known else record))
    if entry.op_id is not None:
        rows.append(("Operation", f"#{entry.op_id}"))
    rows.extend(entry.details)  # the agent's words: labels, names, ticket numbers, local times
    return rows


class AuditModel(ListTableModel):
    columns = COLUMNS

    loaded = Signal()

    def __init__(self, service: AgentService) -> None:
        super().__init__()
        self.service = service
        self.entries: list[AuditEntry] = []
        self.filters: dict[str, Any] = {}
        self._more = True
        self._loading = False
        self._generation = 0

    def set_filters(self, **filters: Any) -> None:
        self.filters = {k: v for k, v in filters.items() if v not in (None, "")}
        self.reload()

    def reload(self) -> None:
        self.beginResetModel()
        self._generation += 1
        self.entries = []
        self._more, self._loading = True, False
        self.endResetModel()
        self.fetchMore(QModelIndex())

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._more and not self._loading

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        self._loading = True
        generation = self._generation
        before = self.entries[-1].id if self.entries else None
        call = self.service.agent.audit_events(**self.filters, limit=PAGE_SIZE, before_id=before)
        self.service.run(call, lambda page: self._arrived(generation, page))

    def _arrived(self, generation: int, page: list[AuditEntry]) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self._more = len(page) == PAGE_SIZE
        if page:
            first = len(self.entries)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self.entries.extend(page)
            self.endInsertRows()
        self.loaded.emit()

    def entry_at(self, row: int) -> AuditEntry:
        return self.entries[row]

    def rows(self) -> list[Any]:
        return self.entries

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
        ):
            return None
        e = self.entries[index.row()]
        col = index.column()
        if col == WHEN:
            return local_text(e.at, seconds=True)
        if col == ACTION:
            return ACTION_WORDS.get(e.action, e.action.replace("_", " ").capitalize())
        if col == SUMMARY and role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join(f"{label}: {text}" for label, text in detail_lines(e))
        if col == RECORD:
            return e.record
        if col == OP:
            return f"#{e.op_id}" if e.op_id is not None else ""
        return summary(e)
