"""The Parts tab of a ticket's page: the parts used on the ticket (each pending until sent), and a
form to add one from the cached product list or by name, change it or delete it, offline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from agent.visit.context import ChargeLine, ProductInfo
from ui.pages.common import ask, show_error
from ui.pages.forms import COMBO_CHARS, ScrollingTab

if TYPE_CHECKING:
    from ui.pages.ticket import TicketPanel

COLUMNS = ["Part", "Quantity", "Unit price", "Amount", "Billable", ""]
KEY_ROLE = Qt.ItemDataRole.UserRole + 1
OTHER = "Other (type a name)"


def state_text(line: ChargeLine) -> str:
    if line.conflicts:
        return "conflict: see Conflicts"
    if line.deleted:
        return "deletion waiting to be sent"
    if line.pending:
        return "waiting to be sent"
    return ""


def money(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


class PartsTab(ScrollingTab):
    captured = Signal()

    def __init__(self, panel: TicketPanel) -> None:
        super().__init__()
        self.panel = panel
        self.ticket_id: int | None = None
        self.lines: list[ChargeLine] = []
        self.products: list[ProductInfo] = []
        self.editing: ChargeLine | None = None
        box = QVBoxLayout(self.body)
        box.setContentsMargins(4, 12, 4, 4)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("Parts used")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(100)
        self.table.itemSelectionChanged.connect(self._selected)
        box.addWidget(self.table, 1)
        self.empty = QLabel("No parts used on this ticket yet.", objectName="muted")
        box.addWidget(self.empty)

        form = QFormLayout()
        self.product = QComboBox()
        self.product.setAccessibleName("Product")
        # A long product name elides rather than widening the tab past the page.
        self.product.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.product.setMinimumContentsLength(COMBO_CHARS)
        self.product.currentIndexChanged.connect(self._product_chosen)
        self.name = QLineEdit()
        self.name.setAccessibleName("Part name")
        self.name.setMaxLength(100)
        self.name.setPlaceholderText("what was used")
        self.quantity = QDoubleSpinBox()
        self.quantity.setAccessibleName("Quantity")
        self.quantity.setRange(0.0, 1_000_000.0)
        self.quantity.setDecimals(2)
        self.quantity.setValue(1.0)
        self.price = QDoubleSpinBox()
        self.price.setAccessibleName("Unit price")
        self.price.setRange(0.0, 1_000_000_000.0)
        self.price.setDecimals(2)
        self.billable = QCheckBox("Billable to the customer")
        self.billable.setChecked(True)
        form.addRow("Product", self.product)
        form.addRow("Name", self.name)
        form.addRow("Quantity", self.quantity)
        form.addRow("Unit price", self.price)
        form.addRow("", self.billable)
        box.addLayout(form)

        actions = QHBoxLayout()
        self.error = QLabel(objectName="fieldError")
        self.error.setWordWrap(True)
        self.error.setVisible(False)
        actions.addWidget(self.error, 1)
        self.save_button = QPushButton("Add part")
        self.save_button.clicked.connect(self.submit)
        self.new_button = QPushButton("New part")
        self.new_button.clicked.connect(self._clear)
        self.delete_button = QPushButton("Delete", objectName="danger")
        self.delete_button.clicked.connect(self._delete)
        for b in (self.new_button, self.delete_button, self.save_button):
            actions.addWidget(b)
        box.addLayout(actions)
        self._clear()

    # -- loading ---------------------------------------------------------------------------
    def show_ticket(self, ticket_id: int) -> None:
        if ticket_id != self.ticket_id:
            self.ticket_id = ticket_id
            self._clear()
        agent = self.panel.service.agent

        async def fetch() -> tuple[list[ChargeLine], list[ProductInfo]]:
            return await agent.charges(ticket_id), await agent.products()

        self.panel.service.run(fetch(), lambda got: self._show(ticket_id, *got))

    def _show(self, ticket_id: int, lines: list[ChargeLine], products: list[ProductInfo]) -> None:
        if ticket_id != self.ticket_id:
            return
        self.lines = lines
        if products != self.products:
            self.products = products
            chosen = self.product.currentData()
            self.product.blockSignals(True)
            self.product.clear()
            self.product.addItem(OTHER, None)
            for p in products:
                label = p.name + (f" ({p.sku})" if p.sku else "")
                self.product.addItem(f"{label} — {money(p.unit_price)}", p.id)
            at = self.product.findData(chosen)
            self.product.setCurrentIndex(max(at, 0))
            self.product.blockSignals(False)
        self.table.setRowCount(len(lines))
        for row, line in enumerate(lines):
            cells = [
                line.name,
                f"{line.quantity:g}",
                money(line.unit_price),
                money(line.amount),
                "yes" if line.billable else "no",
                state_text(line),
            ]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(KEY_ROLE, line.key)
                if line.deleted:
                    font = item.font()
                    font.setStrikeOut(True)
                    item.setFont(font)
                self.table.setItem(row, col, item)
        self.empty.setVisible(not lines)
        live = [c for c in lines if not c.deleted]
        tabs = self.panel.tabs
        tabs.setTabText(tabs.indexOf(self), f"Parts ({len(live)})")
        if self.editing is not None:
            self.editing = next((c for c in lines if c.key == self.editing.key), None)
            if self.editing is None:
                self._clear()
        self._buttons()

    # -- the form --------------------------------------------------------------------------
    def _product_chosen(self) -> None:
        product_id = self.product.currentData()
        made = next((p for p in self.products if p.id == product_id), None)
        if made is not None:
            self.name.setText(made.name)
            if made.unit_price is not None:
                self.price.setValue(made.unit_price)
        self.name.setEnabled(made is None)

    def _selected(self) -> None:
        rows = {i.row() for i in self.table.selectedItems()}
        if len(rows) != 1:
            return
        line = self.lines[rows.pop()] if self.lines else None
        if line is None or line.deleted:
            self._clear()
            return
        self.editing = line
        self.product.blockSignals(True)
        self.product.setCurrentIndex(max(self.product.findData(line.product_id), 0))
        self.product.blockSignals(False)
        self.name.setText(line.name)
        self.name.setEnabled(line.product_id is None)
        self.quantity.setValue(line.quantity)
        self.price.setValue(line.unit_price or 0.0)
        self.billable.setChecked(line.billable)
        self._buttons()

    def _clear(self) -> None:
        self.editing = None
        self.table.clearSelection()
        self.product.setCurrentIndex(0)
        self.name.clear()
        self.name.setEnabled(True)
        self.quantity.setValue(1.0)
        self.price.setValue(0.0)
        self.billable.setChecked(True)
        show_error(self.error, None)
        self._buttons()

    def _buttons(self) -> None:
        self.save_button.setText("Save part" if self.editing is not None else "Add part")
        self.delete_button.setEnabled(self.editing is not None)
        self.new_button.setEnabled(self.editing is not None)

    def values(self) -> dict[str, Any]:
        """What the form says, as the charge's fields."""
        out: dict[str, Any] = {
            "unitQuantity": self.quantity.value(),
            "unitPrice": self.price.value(),
            "isBillableToCompany": self.billable.isChecked(),
        }
        product_id = self.product.currentData()
        if product_id is not None:
            out["productID"] = int(product_id)
        else:
            out["name"] = self.name.text()
        return out

    def submit(self) -> None:
        ticket_id = self.ticket_id
        if ticket_id is None:
            return
        agent = self.panel.service.agent
        v = self.values()
        if self.editing is not None:
            call = agent.update_charge(self.editing.key, **v)
        else:
            call = agent.add_charge(
                ticket_id,
                quantity=v["unitQuantity"],
                product_id=v.get("productID"),
                name=v.get("name"),
                unit_price=v["unitPrice"],
                billable=v["isBillableToCompany"],
            )
        show_error(self.error, None)
        self.panel.service.run(call, lambda _: self._done(), self._refused)

    def _delete(self) -> None:
        line = self.editing
        if line is None:
            return
        if not ask(self, "Delete part", f"Delete “{line.name}” from this ticket?", "Delete part"):
            return
        self.panel.service.run(
            self.panel.service.agent.delete_charge(line.key), lambda _: self._done(), self._refused
        )

    def _done(self) -> None:
        self._clear()
        self.captured.emit()  # the page reloads, this tab with it

    def _refused(self, exc: BaseException) -> None:
        show_error(self.error, str(exc))
