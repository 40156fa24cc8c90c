"""The Checklist tab of a ticket's page: the ticket's checklist items from the cache, ticked and
unticked offline (each change pending until sent), with who completed each and when, as the
server says after a sync."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout

from agent.visit.schedule import ChecklistLine
from ui.models.look import local_text, parse_iso
from ui.pages.common import show_error
from ui.pages.forms import ScrollingTab

if TYPE_CHECKING:
    from ui.pages.ticket import TicketPanel

ITEM_ROLE = Qt.ItemDataRole.UserRole + 1


def line_text(line: ChecklistLine) -> str:
    text = ("! " if line.important else "") + line.name
    if line.conflict_id is not None:
        return text + "  — conflict: see Conflicts"
    if line.pending:
        return text + "  — waiting to be sent"
    if line.done and line.completed_at:
        when = parse_iso(line.completed_at)
        stamp = local_text(when) if when is not None else line.completed_at
        return text + f"  — done by {line.completed_by or 'someone'}, {stamp}"
    return text


class ChecklistTab(ScrollingTab):
    captured = Signal()

    def __init__(self, panel: TicketPanel) -> None:
        super().__init__()
        self.panel = panel
        self.ticket_id: int | None = None
        self.lines: list[ChecklistLine] = []
        box = QVBoxLayout(self.body)
        box.setContentsMargins(4, 12, 4, 4)
        self.list = QListWidget()
        self.list.setAccessibleName("Checklist")
        self.list.setWordWrap(True)  # who completed an item and when wrap, never scroll
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setMinimumHeight(120)  # a few items, however short the page
        self.list.itemChanged.connect(self._ticked)
        self.empty = QLabel("This ticket has no checklist.", objectName="muted")
        self.error = QLabel(objectName="fieldError")
        self.error.setWordWrap(True)
        self.error.setVisible(False)
        box.addWidget(self.list, 1)
        box.addWidget(self.empty)
        box.addWidget(self.error)
        self._filling = False

    def show_ticket(self, ticket_id: int) -> None:
        self.ticket_id = ticket_id
        service = self.panel.service
        service.run(service.agent.checklist(ticket_id), lambda got: self._show(ticket_id, got))

    def _show(self, ticket_id: int, lines: list[ChecklistLine]) -> None:
        if ticket_id != self.ticket_id:
            return
        self.lines = lines
        self._filling = True
        try:
            self.list.clear()
            for line in lines:
                item = QListWidgetItem(line_text(line))
                item.setData(ITEM_ROLE, line.id)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if line.done else Qt.CheckState.Unchecked)
                self.list.addItem(item)
        finally:
            self._filling = False
        self.empty.setVisible(not lines)
        done = sum(1 for line in lines if line.done)
        self.panel.tabs.setTabText(
            self.panel.tabs.indexOf(self), f"Checklist ({done}/{len(lines)})"
        )

    def _ticked(self, item: QListWidgetItem) -> None:
        if self._filling or self.ticket_id is None:
            return
        ticket_id, item_id = self.ticket_id, int(item.data(ITEM_ROLE))
        done = item.checkState() == Qt.CheckState.Checked
        show_error(self.error, None)
        service = self.panel.service

        def failed(exc: BaseException) -> None:
            show_error(self.error, str(exc))
            self.show_ticket(ticket_id)  # back to what is stored

        service.run(
            service.agent.set_checklist_item(ticket_id, item_id, done),
            lambda _: self.captured.emit(),  # the page reloads, this tab with it
            failed,
        )
