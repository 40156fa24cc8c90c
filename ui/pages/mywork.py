"""My work: the technician's tickets from the local store, searchable and filterable, with a
ticket's page beside the list, below it, or in its place on a narrow window. Nothing here needs
the network."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import QItemSelection, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
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
    COLUMNS,
    COMPANY,
    DUE,
    NUMBER,
    PRIORITY,
    STATUS,
    TITLE,
    TicketFilter,
    TicketTableModel,
)
from ui.pages.columns import ColumnFitter
from ui.pages.common import PAGE_QSS, EmptyState, PageHeader, list_table, name_clear_button
from ui.pages.flow import FlowLayout
from ui.pages.forms import combo_value, fill_combo
from ui.pages.ticket import Catalog, TicketPanel, load_catalog
from ui.service import AgentService

# Where the ticket's page goes, by the size of this page (logical pixels).
SIDE, BELOW, SINGLE = "side", "below", "single"
SIDE_MIN_WIDTH = 940  # the list (about 500) beside the ticket's page (about 400)
BELOW_MIN_HEIGHT = 760  # the header and filters, the list (about 220) above the ticket's page
# Columns that give way when the list is narrow, least important first: the company is on the
# ticket's page and in the search, the priority in its filter; the due date plans the day; the
# status says what is left to do.
HIDE_ORDER = (COMPANY, PRIORITY, DUE, STATUS)
WIDTHS = {COMPANY: 150, STATUS: 140, PRIORITY: 80, DUE: 150}
SEARCH_CHARS = 24  # the search box is never narrower than this many characters
FILTER_CHARS = 14  # nor a filter's choice list ("All priorities", "All companies")


class MyWorkPage(QWidget):
    page_id = "mywork"
    countChanged = Signal(int)  # tickets with changes waiting to be sent
    # The window loads it once when it is built, so its badge is right before the first visit
    # (and it follows the queue from then on).
    counts_before_shown = True

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
        self.filters = QWidget()  # the list's search and filters: hidden with the list
        self.filters.setLayout(self._build_filters())
        outer.addWidget(self.filters)
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
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.mode = SIDE
        self.sizes: dict[str, list[int]] = {SIDE: [600, 420], BELOW: [260, 420]}
        self.splitter.splitterMoved.connect(self._splitter_moved)
        outer.addWidget(self.splitter, 1)
        self.panel.changed.connect(self.refresh)
        self.panel.backRequested.connect(self.show_list)
        self.panel.stayed.connect(self._stayed)
        service.queueChanged.connect(self._on_queue_changed)
        service.conflictsChanged.connect(self._on_queue_changed)
        self._refresh_soon = QTimer(self, singleShot=True, interval=300)
        self._refresh_soon.timeout.connect(self.refresh)
        self._loaded_once = False

    def _build_filters(self) -> FlowLayout:
        """The search and the filters, wrapping onto a second row on a narrow page (a laptop at
        150 %) rather than squeezing the search to a letter or cutting a filter's words."""
        row = FlowLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self.search = QLineEdit(placeholderText="Search by title, number or company")
        self.search.setAccessibleName("Search tickets")
        self.search.setClearButtonEnabled(True)
        name_clear_button(self.search)
        # Room for a few words, and the whole hint where the row has it.
        self.search.setMinimumWidth(self.search.fontMetrics().horizontalAdvance("x" * SEARCH_CHARS))
        self.status = QComboBox()
        self.status.setAccessibleName("Filter by status")
        self.priority = QComboBox()
        self.priority.setAccessibleName("Filter by priority")
        self.company = QComboBox()
        self.company.setAccessibleName("Filter by company")
        for combo, text in (
            (self.status, "All statuses"),
            (self.priority, "All priorities"),
            (self.company, "All companies"),
        ):
            combo.addItem(text, None)
            # As wide as "All companies" and the like; a long company name elides.
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(FILTER_CHARS)
            combo.currentIndexChanged.connect(self._apply_filter)
        self.search.textChanged.connect(self._apply_filter)
        self.count = QLabel(objectName="muted")
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row.add_widget(self.search, 2)
        row.add_widget(self.status)
        row.add_widget(self.priority)
        row.add_widget(self.company)
        row.add_widget(self.count, 1)
        return row

    def _build_table(self) -> QTableView:
        table = list_table(self.proxy, stretch=TITLE, widths=WIDTHS, row_height=30)
        table.setSortingEnabled(True)
        table.sortByColumn(DUE, Qt.SortOrder.AscendingOrder)
        table.selectionModel().selectionChanged.connect(self._selection_changed)
        table.clicked.connect(self._row_clicked)
        table.activated.connect(self._row_clicked)  # Enter, or a double click
        self.columns = ColumnFitter(
            table, main=TITLE, compact=NUMBER, widths=WIDTHS, hide_order=HIDE_ORDER
        )
        return table

    # -- where the ticket's page goes -------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._arrange()

    def mode_for(self, width: int, height: int) -> str:
        if width >= SIDE_MIN_WIDTH:
            return SIDE
        return BELOW if height >= BELOW_MIN_HEIGHT else SINGLE

    def _arrange(self) -> None:
        """The ticket's page beside the list on a wide page, below it on a tall one, else one at
        a time (with a way back to the list)."""
        mode = self.mode_for(self.width(), self.height())
        opened = self.panel.ticket_id is not None
        if mode != self.mode:
            self.mode = mode
            if mode in self.sizes:
                vertical = mode == BELOW
                self.splitter.setOrientation(
                    Qt.Orientation.Vertical if vertical else Qt.Orientation.Horizontal
                )
        single = mode == SINGLE
        list_shown = not (single and opened and self._panel_chosen)
        self.panel.set_back_visible(single)
        for part in (self.stack, self.header, self.filters):
            part.setVisible(list_shown)
        # Until a ticket is chosen the list has the whole width.
        self.panel.setVisible(opened and (not single or self._panel_chosen))
        if mode in self.sizes and self.stack.isVisible() and self.panel.isVisible():
            self.splitter.setSizes(self.sizes[mode])

    _panel_chosen = False  # on a narrow page: the ticket's page shows instead of the list

    def show_list(self) -> None:
        self._panel_chosen = False
        self._arrange()
        self.table.setFocus()

    def open_panel(self) -> None:
        self._panel_chosen = True
        self._arrange()

    def _row_clicked(self, index: QModelIndex) -> None:
        if index.isValid() and self.mode == SINGLE:
            self.open_panel()

    def _splitter_moved(self) -> None:
        if self.mode in self.sizes and self.stack.isVisible() and self.panel.isVisible():
            self.sizes[self.mode] = self.splitter.sizes()

    # -- remembering the layout ------------------------------------------------------------
    def layout_state(self) -> dict[str, Any]:
        return {"splitter": dict(self.sizes), "columns": self.columns.state(COLUMNS)}

    def restore_layout(self, saved: dict[str, Any]) -> None:
        sizes = saved.get("splitter")
        if isinstance(sizes, dict):
            for mode in self.sizes:
                got = sizes.get(mode)
                if isinstance(got, list) and len(got) == 2 and all(usable(n) for n in got):
                    self.sizes[mode] = got
        self.columns.restore(COLUMNS, saved.get("columns"))
        self.mode = ""  # lay out afresh with what was restored
        self._arrange()

    # -- the page contract -----------------------------------------------------------------
    def activate(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        async def fetch() -> tuple[list[TicketSummary], Catalog]:
            return await asyncio.gather(self.service.agent.my_tickets(), load_catalog(self.service))

        self.service.run(fetch(), lambda got: self._loaded(*got))

    def _on_queue_changed(self) -> None:
        # Scheduled once, not pushed back by every change of a sync (see the Queue page).
        if (self.isVisible() or self._loaded_once) and not self._refresh_soon.isActive():
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
            self._select(chosen)
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
        """Choose the ticket and show its page (in place of the list on a narrow page)."""
        if not self._select(ticket_id):
            return False
        self.open_panel()
        return True

    def _select(self, ticket_id: int) -> bool:
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

    def _stayed(self) -> None:
        """The ticket shown kept its unsaved typing: the list shows it chosen again (once the
        click that chose another row is done with)."""
        QTimer.singleShot(0, self, self._reselect)

    def _reselect(self) -> None:
        if self.panel.ticket_id is not None:
            self._select(self.panel.ticket_id)

    def _selection_changed(self, selected: QItemSelection, _: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        ticket = self.model.ticket_at(self.proxy.mapToSource(rows[0]).row())
        if ticket.id != self.panel.ticket_id:
            self.panel.show_ticket(ticket.id)
            self._arrange()


def usable(size: object) -> bool:
    return isinstance(size, int) and 0 < size < 10_000
