"""Audit: the tamper-evident history of every change, with filters, each event's full details,
a chain check that says where it breaks, and a CSV export."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui.models.audit_model import (
    ACTION,
    ACTION_WORDS,
    OP,
    RECORD,
    SUMMARY,
    WHEN,
    AuditModel,
    detail_lines,
)
from ui.models.labels import ENTITY_LABELS
from ui.models.look import chip_style, local_text
from ui.pages.columns import ColumnFitter
from ui.pages.common import (
    PAGE_QSS,
    PageHeader,
    chip,
    list_table,
    name_clear_button,
    show_error,
)
from ui.pages.flow import FlowLayout
from ui.service import AgentService
from ui.shortcuts import DateEdit

TYPING_MS = 250


class AuditPage(QWidget):
    page_id = "audit"
    countChanged = Signal(int)  # unused by the sidebar; kept for a uniform page contract

    def __init__(self, service: AgentService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.setStyleSheet(PAGE_QSS)
        self.model = AuditModel(service)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(20, 16, 20, 16)
        outer.setSpacing(10)
        header = PageHeader(
            "Audit",
            "Everything that happened to your changes, in a chain that shows any tampering.",
        )
        self.verify_button = QPushButton("Verify chain")
        self.export_button = QPushButton("Export CSV…")
        header.add_action(self.verify_button)
        header.add_action(self.export_button)
        outer.addWidget(header)
        verdict_row = QHBoxLayout()
        self.verdict = chip("", "ok")
        self.verdict.setVisible(False)
        self.verdict_text = QLabel(objectName="muted")
        verdict_row.addWidget(self.verdict)
        verdict_row.addWidget(self.verdict_text, 1)
        outer.addLayout(verdict_row)
        outer.addWidget(self._build_filters())
        split = QSplitter(Qt.Orientation.Horizontal)
        self.table = self._build_table()
        self.table.setAccessibleName("Audit events")
        self.details = QPlainTextEdit(readOnly=True)
        self.details.setAccessibleName("Event details")
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.details.setFont(mono)
        self.details.setPlaceholderText("Select an event to see everything it recorded.")
        split.addWidget(self.table)
        split.addWidget(self.details)
        split.setStretchFactor(0, 3)  # the trail takes the room; the details pane a quarter
        split.setStretchFactor(1, 1)
        split.setSizes([900, 300])
        outer.addWidget(split, 1)
        self.message = QLabel(objectName="fieldError")
        self.message.setVisible(False)
        outer.addWidget(self.message)
        self.verify_button.clicked.connect(self.verify)
        self.export_button.clicked.connect(self._export_clicked)
        self.model.loaded.connect(self._loaded)

    def _build_filters(self) -> QWidget:
        """The filters in a row that wraps onto a second one on a narrow page (a laptop at
        150 %): each keeps its width, the date range and the search stay in one piece."""
        bar = QWidget()
        row = FlowLayout(bar)
        row.setContentsMargins(0, 0, 0, 0)
        self.filter_row = row
        self.entity = QComboBox()
        self.entity.setAccessibleName("Record type")
        self.entity.addItem("All records", None)
        for key, label in ENTITY_LABELS.items():
            self.entity.addItem(f"{label}s", key)
        self.entity_id = QLineEdit(placeholderText="Record id")
        self.entity_id.setAccessibleName("Record id")
        self.entity_id.setToolTip("A record's id, or a ticket's number (T20260607.0001)")
        chars = self.entity_id.fontMetrics().horizontalAdvance("Record id 00000")
        self.entity_id.setFixedWidth(chars + 16)  # the words "Record id", and an id typed
        self.action = QComboBox()
        self.action.setAccessibleName("Event type")
        self.action.addItem("All events", None)
        for key, label in ACTION_WORDS.items():
            self.action.addItem(label, key)
        self.ranged = QCheckBox("Between")
        self.since = DateEdit(calendarPopup=True, displayFormat="d MMM yyyy")
        self.since.setAccessibleName("From date")
        self.until = DateEdit(calendarPopup=True, displayFormat="d MMM yyyy")
        self.until.setAccessibleName("To date")
        self.text = QLineEdit(placeholderText="Search the details")
        hint = self.text.fontMetrics().horizontalAdvance("Search the details")
        self.text.setMinimumWidth(hint + 40)  # the hint whole, beside the clear button
        self.text.setAccessibleName("Search the details")
        self.text.setClearButtonEnabled(True)
        name_clear_button(self.text)
        self.count = QLabel(objectName="muted")
        self.count.setMinimumWidth(self.count.fontMetrics().horizontalAdvance("0,000+ events"))
        for w in (self.entity, self.entity_id, self.action):
            row.add_widget(w)
        row.add_widget(_group(self.ranged, self.since, QLabel("and"), self.until))
        row.add_widget(_group(self.text, self.count, stretch=self.text), stretch=1)
        self.entity.currentIndexChanged.connect(self.apply_filters)
        self.action.currentIndexChanged.connect(self.apply_filters)
        self.ranged.toggled.connect(self.apply_filters)
        self.since.dateChanged.connect(self._range_changed)
        self.until.dateChanged.connect(self._range_changed)
        # Typing filters as My work's search does (a short pause first: the trail can be long).
        self._typed = QTimer(self, singleShot=True, interval=TYPING_MS)
        self._typed.timeout.connect(self.apply_filters)
        self.entity_id.textChanged.connect(lambda _t: self._typed.start())
        self.text.textChanged.connect(lambda _t: self._typed.start())
        self.entity_id.returnPressed.connect(self.apply_filters)
        self.text.returnPressed.connect(self.apply_filters)
        return bar

    def _build_table(self) -> QTableView:
        widths = {WHEN: 160, ACTION: 170, RECORD: 130, OP: 80}
        table = list_table(self.model, stretch=SUMMARY, widths=widths)
        # The summary keeps its room on a laptop-sized page: the operation number gives way
        # first, then the record, then what happened (the details pane shows them all).
        self.columns = ColumnFitter(
            table, main=SUMMARY, widths=widths, hide_order=(OP, RECORD, ACTION)
        )
        table.selectionModel().currentRowChanged.connect(self._show_details)
        return table

    # -- the page contract -----------------------------------------------------------------
    def activate(self) -> None:
        today = self.service.agent.clock.now().astimezone().date()
        if not self.ranged.isChecked():
            self.since.blockSignals(True)
            self.until.blockSignals(True)
            self.since.setDate(QDate(today - timedelta(days=7)))
            self.until.setDate(QDate(today))
            self.since.blockSignals(False)
            self.until.blockSignals(False)
        self.apply_filters()

    def show_entity(self, entity_type: str, entity_id: str) -> None:
        """Filter to one record's history (the "Show in audit" of the conflict dialog)."""
        self.entity.blockSignals(True)
        self.entity.setCurrentIndex(max(self.entity.findData(entity_type), 0))
        self.entity.blockSignals(False)
        self.entity_id.setText(entity_id)
        self.apply_filters()

    def _range_changed(self) -> None:
        if self.ranged.isChecked():
            self.apply_filters()

    def filters(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "entity_type": self.entity.currentData(),
            "entity_id": self.entity_id.text().strip() or None,
            "action": self.action.currentData(),
            "text": self.text.text().strip() or None,
        }
        if self.ranged.isChecked():
            since, until = self.since.date().toPython(), self.until.date().toPython()
            out["since"] = datetime.combine(since, time.min).astimezone().timestamp()  # type: ignore[arg-type]
            out["until"] = datetime.combine(until, time.max).astimezone().timestamp()  # type: ignore[arg-type]
        return out

    def apply_filters(self) -> None:
        self._typed.stop()
        self.since.setEnabled(self.ranged.isChecked())
        self.until.setEnabled(self.ranged.isChecked())
        self.details.clear()
        self.model.set_filters(**self.filters())

    def _loaded(self) -> None:
        n = self.model.rowCount()
        more = "+" if self.model.canFetchMore() else ""
        self.count.setText(f"{n:,}{more} event{'s' if n != 1 else ''}")

    def _show_details(self, current: Any, _: Any) -> None:
        if not current.isValid():
            self.details.clear()
            return
        e = self.model.entry_at(current.row())
        rows = detail_lines(e)
        width = max(len(label) for label, _ in rows)
        self.details.setPlainText(
            "\n".join(f"{label + ':':<{width + 1}}  {text}" for label, text in rows)
        )

    # -- verify and export -----------------------------------------------------------------
    def verify(self) -> None:
        self.verify_button.setEnabled(False)
        self.service.run(self.service.agent.verify_audit(), self._verified, self._failed)

    def _verified(self, report: Any) -> None:
        self.verify_button.setEnabled(True)
        self.verdict.setVisible(True)
        if report.ok:
            self.verdict.setText("Chain intact")
            self.verdict.setStyleSheet(chip_style("ok"))
            how = (
                "with the profile's audit key and its anchor"
                if report.keyed and report.anchored
                else "; this profile keeps no audit key, so the trail is not anchored"
                if not report.keyed
                else "with the profile's audit key"
            )
            self.verdict_text.setText(
                f"All {report.checked:,} events check out {how} (verified "
                f"{local_text(self.service.agent.clock.now())})."
            )
        else:
            self.verdict.setText("Chain broken")
            self.verdict.setStyleSheet(chip_style("error"))
            self.verdict_text.setText(
                f"The chain is broken, {report.summary} ({report.checked:,} events checked)."
            )

    def _failed(self, exc: BaseException) -> None:
        self.verify_button.setEnabled(True)
        self.export_button.setEnabled(True)
        show_error(self.message, str(exc))

    def _export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the audit trail", str(Path.home() / "field-sync-audit.csv"), "CSV (*.csv)"
        )
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> None:
        """Write the events the filters show (all of them, not only the rows loaded yet)."""
        if self._typed.isActive():
            self.apply_filters()
        self.export_button.setEnabled(False)
        self.service.run(
            self.service.agent.export_audit(path, "csv", **self.filters()),
            lambda n: self._exported(path, n),
            self._failed,
        )

    def _exported(self, path: Path, count: int) -> None:
        self.export_button.setEnabled(True)
        self.verdict_text.setText(f"Exported {count:,} events to {path.name}.")


def _group(*widgets: QWidget, stretch: QWidget | None = None) -> QWidget:
    """Controls that read as one (a date range; the search and its count): kept on one row."""
    group = QWidget()
    line = QHBoxLayout(group)
    line.setContentsMargins(0, 0, 0, 0)
    line.setSpacing(8)
    for w in widgets:
        line.addWidget(w, 1 if w is stretch else 0)
    return group
