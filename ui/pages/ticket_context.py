"""The "Contacts & devices" tab of a ticket's page: the company's contacts with phone and e-mail
(the ticket's own contact first) and its devices with serial number and location, from the
cache, so they are at hand offline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from agent.visit.context import TicketContext
from ui.pages.forms import ScrollingTab

if TYPE_CHECKING:
    from ui.pages.ticket import TicketPanel

CONTACT_COLUMNS = ["Name", "Title", "Phone", "Mobile", "E-mail"]
DEVICE_COLUMNS = ["Device", "Serial number", "Location", "Product"]


def _table(columns: list[str], name: str, stretch: int) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setAccessibleName(name)
    table.setHorizontalHeaderLabels(columns)
    table.verticalHeader().setVisible(False)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    # Read-only, but selectable so a phone number or an address can be copied.
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    table.setMinimumHeight(110)  # the headings and a few rows, however short the page
    return table


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            table.setItem(r, c, QTableWidgetItem(text))


class ContextTab(ScrollingTab):
    def __init__(self, panel: TicketPanel) -> None:
        super().__init__()
        self.panel = panel
        self.ticket_id: int | None = None
        self.context: TicketContext | None = None
        box = QVBoxLayout(self.body)
        box.setContentsMargins(4, 12, 4, 4)
        self.company = QLabel(objectName="muted")
        self.company.setWordWrap(True)
        box.addWidget(self.company)
        box.addWidget(QLabel("Contacts"))
        self.contacts = _table(CONTACT_COLUMNS, "Contacts", 4)
        box.addWidget(self.contacts, 1)
        box.addWidget(QLabel("Devices"))
        self.devices = _table(DEVICE_COLUMNS, "Devices", 0)
        box.addWidget(self.devices, 1)

    def show_ticket(self, ticket_id: int) -> None:
        self.ticket_id = ticket_id
        service = self.panel.service
        service.run(service.agent.ticket_context(ticket_id), lambda got: self._show(ticket_id, got))

    def _show(self, ticket_id: int, ctx: TicketContext | None) -> None:
        if ticket_id != self.ticket_id:
            return
        self.context = ctx
        if ctx is None or ctx.company_id is None:
            self.company.setText("This ticket names no company.")
            _fill(self.contacts, [])
            _fill(self.devices, [])
            return
        about = " · ".join(x for x in (ctx.company, ctx.address, ctx.phone) if x)
        self.company.setText(about)
        _fill(
            self.contacts,
            [
                [
                    c.name + (" (on the ticket)" if c.ticket_contact else ""),
                    c.title,
                    c.phone,
                    c.mobile,
                    c.email,
                ]
                for c in ctx.contacts
            ],
        )
        _fill(self.devices, [[d.name, d.serial, d.location, d.product] for d in ctx.devices])
