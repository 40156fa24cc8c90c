"""The Today page: the technician's service calls and appointments for today and the next days,
from the local cache (so it works offline), each call with its company, location, time window and
tickets; opening one opens its ticket, and a call can be marked complete (pending until sent)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from agent.api.validation import EditRejected
from agent.visit.schedule import VisitEntry
from ui.pages.common import PAGE_QSS, PageHeader, show_error
from ui.service import AgentService

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
TICKET_ROLE = Qt.ItemDataRole.UserRole + 2
SPANS = (("Today", 1), ("Today and tomorrow", 2), ("This week", 7), ("Next two weeks", 14))


def _clock(instant: float | None) -> str:
    return "?" if instant is None else datetime.fromtimestamp(instant).strftime("%H:%M")


def _day(instant: float | None) -> str:
    return "" if instant is None else datetime.fromtimestamp(instant).strftime("%A %d %B")


def entry_text(e: VisitEntry) -> str:
    window = f"{_clock(e.starts_at)}–{_clock(e.ends_at)}"
    if e.kind == "appointment":
        return f"{window}  {e.title}"
    where = " · ".join(x for x in (e.company, e.location) if x)
    state = ""
    if e.conflict_id is not None:
        state = "  [conflict]"
    elif e.complete and e.pending:
        state = "  [complete, waiting to be sent]"
    elif e.complete:
        state = "  [complete]"
    return f"{window}  {where}: {e.title}{state}"


class TodayPage(QWidget):
    page_id = "today"
    openTicket = Signal(int)
    countChanged = Signal(int)

    def __init__(self, service: AgentService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.entries: list[VisitEntry] = []
        self.setStyleSheet(PAGE_QSS)
        box = QVBoxLayout(self)
        box.setContentsMargins(20, 16, 20, 16)
        box.setSpacing(10)
        header = PageHeader(
            "Today",
            "Your service calls and appointments, kept on this laptop. "
            "Double-click a ticket to open it.",
        )
        self.span = QComboBox()
        self.span.setAccessibleName("Days shown")
        for title, days in SPANS:
            self.span.addItem(title, days)
        self.span.currentIndexChanged.connect(self.reload)
        header.add_action(self.span)
        box.addWidget(header)
        self.hint = header.subtitle
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setAccessibleName("Schedule")
        self.tree.itemDoubleClicked.connect(self._opened)
        self.tree.currentItemChanged.connect(lambda *_: self._enable())
        box.addWidget(self.tree, 1)
        self.error = QLabel(objectName="fieldError")
        self.error.setVisible(False)
        box.addWidget(self.error)
        row = QHBoxLayout()
        self.empty = QLabel("Nothing scheduled.", objectName="muted")
        self.open_button = QPushButton("Open ticket")
        self.open_button.clicked.connect(lambda: self._opened(self.tree.currentItem()))
        self.complete_button = QPushButton("Mark call complete", objectName="primary")
        self.complete_button.clicked.connect(self.complete_current)
        row.addWidget(self.empty)
        row.addStretch(1)
        row.addWidget(self.open_button)
        row.addWidget(self.complete_button)
        box.addLayout(row)
        service.queueChanged.connect(self.reload)
        self._enable()

    def activate(self) -> None:
        self.reload()

    def days(self) -> int:
        return int(self.span.currentData() or 1)

    def reload(self) -> None:
        self.service.run(self.service.agent.today(days=self.days()), self._show)

    def _show(self, entries: list[VisitEntry]) -> None:
        self.entries = entries
        chosen = self._entry(self.tree.currentItem())
        self.tree.clear()
        days: dict[str, QTreeWidgetItem] = {}
        for e in entries:
            label = _day(e.starts_at)
            parent = days.get(label)
            if parent is None:
                parent = days[label] = QTreeWidgetItem(self.tree, [label])
                parent.setFlags(Qt.ItemFlag.ItemIsEnabled)
                bold = parent.font(0)
                bold.setBold(True)
                parent.setFont(0, bold)
            item = QTreeWidgetItem(parent, [entry_text(e)])
            item.setData(0, ENTRY_ROLE, (e.kind, e.id))
            for t in e.tickets:
                child = QTreeWidgetItem(item, [f"{t.number or t.id}  {t.title}"])
                child.setData(0, TICKET_ROLE, t.id)
            if chosen == (e.kind, e.id):
                self.tree.setCurrentItem(item)
        self.tree.expandAll()
        self.empty.setVisible(not entries)
        self.countChanged.emit(
            sum(1 for e in entries if e.kind == "service_call" and not e.complete)
        )
        self._enable()

    def _entry(self, item: QTreeWidgetItem | None) -> tuple[str, int] | None:
        data = None if item is None else item.data(0, ENTRY_ROLE)
        return (str(data[0]), int(data[1])) if data else None

    def _ticket_of(self, item: QTreeWidgetItem | None) -> int | None:
        if item is None:
            return None
        ticket = item.data(0, TICKET_ROLE)
        if ticket is not None:
            return int(ticket)
        if item.childCount():  # a call: its first ticket
            first = item.child(0).data(0, TICKET_ROLE)
            return None if first is None else int(first)
        return None

    def _current_call(self) -> VisitEntry | None:
        chosen = self._entry(self.tree.currentItem())
        return next((e for e in self.entries if (e.kind, e.id) == chosen), None)

    def _enable(self) -> None:
        call = self._current_call()
        self.open_button.setEnabled(self._ticket_of(self.tree.currentItem()) is not None)
        self.complete_button.setEnabled(
            call is not None and call.kind == "service_call" and not call.complete
        )

    def _opened(self, item: QTreeWidgetItem | None, _column: int = 0) -> None:
        ticket = self._ticket_of(item)
        if ticket is not None:
            self.openTicket.emit(ticket)

    def complete_current(self) -> None:
        call = self._current_call()
        if call is None or call.kind != "service_call":
            return

        def failed(exc: BaseException) -> None:
            show_error(self.error, str(exc))
            if not isinstance(exc, EditRejected):
                self.service.failed.emit(str(exc))

        show_error(self.error, None)
        self.service.run(
            self.service.agent.complete_service_call(call.id),
            lambda _: self.reload(),
            failed,
        )
