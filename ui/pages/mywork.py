"""My work: the technician's tickets from the local store, searchable and filterable, with a
ticket's page beside the list. Nothing here needs the network."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from agent.api.types import TicketSummary
from ui.models.tickets_model import (
    COMPANY,
    DUE,
    NUMBER,
    PRIORITY,
    STATUS,
    TITLE,
    TicketFilter,
    TicketTableModel,
)
from ui.pages.common import PAGE_QSS, EmptyState, PageHeader, list_table
from ui.pages.forms import combo_value, fill_combo
from ui.pages.ticket import Catalog, TicketPanel, load_catalog
from ui.service import AgentService


class MyWorkPage(QWidget):
    page_id = "mywork"
    countChanged = Signal(int)  # tickets with changes waiting to be sent

    def __init__(self, service: AgentService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.setStyleSheet(PAGE_QSS)
        self.model = TicketTableModel()
        self.proxy = TicketFilter()
        self.proxy.setSourceModel(self.model)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(20, 16, 20, 16)
        outer.setSpacing(10)
        self.header = PageHeader(
            "My work",
            "Your tickets as this laptop knows them. Changes are kept here and sent to "
            "Autotask when it can be reached.",
        )
        outer.addWidget(self.header)
        outer.addLayout(self._build_filters())
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.stack = QStackedWidget()
        self.table = self._build_table()
        self.table.setAccessibleName("Tickets")
        self.empty = EmptyState(
            "No tickets yet",
            "Your tickets appear here after the first sync with Autotask.",
        )
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        self.panel = TicketPanel(service)
        self.splitter.addWidget(self.stack)
        self.splitter.addWidget(self.panel)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([820, 380])  # the list first: titles need the room
        self.splitter.setSizes([760, 480])
        outer.addWidget(self.splitter, 1)
        self.panel.changed.connect(self.refresh)
        service.queueChanged.connect(self._on_queue_changed)
        service.conflictsChanged.connect(self._on_queue_changed)
        self._refresh_soon = QTimer(self, singleShot=True, interval=300)
        self._refresh_soon.timeout.connect(self.refresh)
        self._loaded_once = False

    def _build_filters(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(8)
        self.search = QLineEdit(placeholderText="Search by title, number or company")
        self.search.setAccessibleName("Search tickets")
        self.search.setClearButtonEnabled(True)
        self.status = QComboBox()
        self.status.setAccessibleName("Filter by status")
        self.priority = QComboBox()
        self.priority.setAccessibleName("Filter by priority")
        self.company = QComboBox()
        self.company.setAccessibleName("Filter by company")
        self.company.setMinimumContentsLength(14)
        for combo, text in (
            (self.status, "All statuses"),
            (self.priority, "All priorities"),
            (self.company, "All companies"),
        ):
            combo.addItem(text, None)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.currentIndexChanged.connect(self._apply_filter)
        self.search.textChanged.connect(self._apply_filter)
        self.count = QLabel(objectName="muted")
        row.addWidget(self.search, 2)
        row.addWidget(self.status)
        row.addWidget(self.priority)
        row.addWidget(self.company)
        row.addWidget(self.count, 1, Qt.AlignmentFlag.AlignRight)
        return row

    def _build_table(self) -> QTableView:
        table = list_table(
            self.proxy,
            stretch=TITLE,
            widths={NUMBER: 118, COMPANY: 128, STATUS: 112, PRIORITY: 68, DUE: 96},
            row_height=30,
        )
        table.setSortingEnabled(True)
        table.sortByColumn(DUE, Qt.SortOrder.AscendingOrder)
        table.selectionModel().selectionChanged.connect(self._selection_changed)
        return table

    # -- the page contract -----------------------------------------------------------------
    def activate(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        async def fetch() -> tuple[list[TicketSummary], Catalog]:
            return await asyncio.gather(self.service.agent.my_tickets(), load_catalog(self.service))

        self.service.run(fetch(), lambda got: self._loaded(*got))

    def _on_queue_changed(self) -> None:
        if self.isVisible() or self._loaded_once:
            self._refresh_soon.start()

    def _loaded(self, tickets: list[TicketSummary], catalog: Catalog) -> None:
        self._loaded_once = True
        chosen = self.panel.ticket_id
        self.panel.set_catalog(catalog)
        self.model.set_tickets(tickets)
        self._fill_filters(tickets, catalog)
        self.stack.setCurrentWidget(self.table if tickets else self.empty)
        self._apply_filter()
        if chosen is not None:
            self.select_ticket(chosen)
        self.countChanged.emit(sum(1 for t in tickets if t.has_pending))

    def _fill_filters(self, tickets: list[TicketSummary], catalog: Catalog) -> None:
        lists = catalog.tickets
        companies = {t.company_id: t.company for t in tickets if t.company_id is not None}
        for combo, options, label in (
            (self.status, lists.get("status", {}), "All statuses"),
            (self.priority, lists.get("priority", {}), "All priorities"),
            (self.company, companies, "All companies"),
        ):
            fill_combo(combo, options, combo_value(combo), none_text=label)

    def _apply_filter(self) -> None:
        self.proxy.set_criteria(
            text=self.search.text(),
            status=combo_value(self.status),
            priority=combo_value(self.priority),
            company=combo_value(self.company),
        )
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count.setText(f"{shown} of {total} tickets" if shown != total else f"{total} tickets")

    # -- selection -------------------------------------------------------------------------
    def select_ticket(self, ticket_id: int) -> bool:
        row = self.model.row_of(ticket_id)
        if row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            return False
        self.table.selectRow(index.row())
        self.table.scrollTo(index)
        return True

    def open_ticket(self, ticket_id: int) -> None:
        """Select the ticket in the list, or show it on its own when the list hides it."""
        if not self.select_ticket(ticket_id):
            self.panel.show_ticket(ticket_id)

    def _selection_changed(self, selected: QItemSelection, _: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        ticket = self.model.ticket_at(self.proxy.mapToSource(rows[0]).row())
        if ticket.id != self.panel.ticket_id:
            self.panel.show_ticket(ticket.id)
