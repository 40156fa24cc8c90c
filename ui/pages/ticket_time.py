"""The Time tab of a ticket's page: time entries, and a form to log, edit or delete them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, Qt, QTime, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from agent.api.types import TicketDetail, TimeEntryView
from agent.api.validation import EditRejected
from ui.models.look import dot_icon, parse_iso, to_iso
from ui.pages.common import ask, form_footer, show_error
from ui.pages.forms import Form, FormField, combo_value, fill_combo
from ui.shortcuts import DateEdit, TimeEdit, tab_moves_focus

if TYPE_CHECKING:
    from ui.pages.ticket import Catalog, TicketPanel

COLUMNS = ["Date", "From – to", "Hours", "Role", "Summary"]


class TimeTab(QScrollArea):
    """Scrolls rather than squeezes its form when the ticket's page is short."""

    captured = Signal()

    def __init__(self, panel: TicketPanel) -> None:
        super().__init__()
        self.panel = panel
        self.detail: TicketDetail | None = None
        self.catalog: Catalog | None = None
        self.editing: TimeEntryView | None = None
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.body = QWidget()
        box = QVBoxLayout(self.body)
        box.setContentsMargins(4, 12, 4, 4)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("Time entries")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(120)
        box.addWidget(self.table, 1)
        actions = QHBoxLayout()
        self.total = QLabel(objectName="muted")
        self.total.setWordWrap(True)  # a narrow page wraps it rather than scrolling sideways
        actions.addWidget(self.total, 1)
        self.new_button = QPushButton("Log time…")
        self.edit_button = QPushButton("Edit")
        self.delete_button = QPushButton("Delete", objectName="danger")
        for b in (self.new_button, self.edit_button, self.delete_button):
            actions.addWidget(b)
        box.addLayout(actions)
        self.editor = self._build_editor()
        box.addWidget(self.editor)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _: self.start_edit())
        self.new_button.clicked.connect(self.start_new)
        self.edit_button.clicked.connect(self.start_edit)
        self.delete_button.clicked.connect(self.delete_selected)
        self._selection_changed()
        self.setWidget(self.body)

    def _build_editor(self) -> QFrame:
        frame = QFrame(objectName="card")
        box = QVBoxLayout(frame)
        box.setContentsMargins(12, 10, 12, 10)
        self.editor_title = QLabel("Log time", objectName="sectionTitle")
        box.addWidget(self.editor_title)
        self.form = Form()
        self.day = DateEdit(calendarPopup=True, displayFormat="d MMM yyyy")
        self.day.setAccessibleName("Date worked")
        span = QWidget()  # in lines, so that a narrow ticket page needs no sideways scrolling
        row = QGridLayout(span)
        row.setContentsMargins(0, 0, 0, 0)
        self.by_span = QRadioButton("From")
        self.by_hours = QRadioButton("Hours")
        group = QButtonGroup(span)
        group.addButton(self.by_span)
        group.addButton(self.by_hours)
        self.start = TimeEdit(displayFormat="HH:mm")
        self.start.setAccessibleName("Start time")
        self.end = TimeEdit(displayFormat="HH:mm")
        self.end.setAccessibleName("End time")
        self.hours = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=99.0, singleStep=0.25)
        self.hours.setAccessibleName("Hours")
        to = QLabel("to")
        to.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.by_span, 0, 0)
        row.addWidget(self.start, 0, 1)
        row.addWidget(to, 1, 0)
        row.addWidget(self.end, 1, 1)
        row.addWidget(self.by_hours, 2, 0)
        row.addWidget(self.hours, 2, 1)
        row.setColumnStretch(2, 1)
        self.role = QComboBox()
        self.role.setAccessibleName("Role")
        self.summary = QPlainTextEdit(placeholderText="What you did (the customer may see this)")
        self.summary.setAccessibleName("Summary")
        tab_moves_focus(self.summary)
        self.summary.setFixedHeight(70)
        self.form.add(FormField("Date", self.day, names=("dateWorked",)))
        self.form.add(
            FormField("Time", span, names=("startDateTime", "endDateTime", "hoursWorked"))
        )
        self.form.add(FormField("Role", self.role, names=("roleID", "resourceID")))
        self.form.add(FormField("Summary", self.summary, names=("summaryNotes",)))
        box.addWidget(self.form)
        self.general_error, self.result, self.cancel, self.save = form_footer(
            box, "Cancel", "Save time"
        )
        self.by_span.toggled.connect(self._mode_changed)
        self.cancel.clicked.connect(self.start_new)
        self.save.clicked.connect(self.submit)
        return frame

    # -- showing ---------------------------------------------------------------------------
    def show_detail(self, detail: TicketDetail, catalog: Catalog) -> None:
        """Show `detail`'s time entries. The form starts afresh only for another ticket or when
        the entry being edited is gone: a refresh (after a sync, or a note added) never takes
        away what the technician is typing, nor the messages next to it."""
        another_ticket = self.detail is None or self.detail.id != detail.id
        if another_ticket:
            self.result.clear()  # a message about another ticket is not about this one
        self.detail, self.catalog = detail, catalog
        roles = catalog.time.get("roleID", {})
        self.table.setRowCount(0)
        hours = 0.0
        for entry in reversed(detail.time_entries):
            r = self.table.rowCount()
            self.table.insertRow(r)
            cells = [
                day_text(entry.date_worked),
                span_text(entry),
                f"{entry_hours(entry):.2f}",
                roles.get(entry.role_id or -1, ""),
                entry.summary or "",
            ]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, entry)
                item.setToolTip(entry_tip(entry))
                if entry.deleted:
                    font = item.font()
                    font.setStrikeOut(True)
                    item.setFont(font)
                    item.setForeground(Qt.GlobalColor.gray)
                elif entry.pending:
                    font = item.font()
                    font.setItalic(True)
                    item.setFont(font)
                self.table.setItem(r, c, item)
            tone = "muted" if entry.deleted else "pending" if entry.pending else "ok"
            first = self.table.item(r, 0)
            assert first is not None
            first.setIcon(dot_icon(tone))
            if not entry.deleted:
                hours += entry_hours(entry)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.total.setText(f"{hours:.2f} h logged on this ticket")
        gone = False
        if self.editing is not None and not another_ticket:
            still = [t for t in detail.time_entries if t.key == self.editing.key]
            self.editing = still[0] if still and not still[0].deleted else None
            gone = self.editing is None
        if another_ticket or gone:
            self._reset_form()
        else:
            self._roles(combo_value(self.role))
        self._selection_changed()

    def selected(self) -> TimeEntryView | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        entry = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return entry if isinstance(entry, TimeEntryView) else None

    def _selection_changed(self) -> None:
        entry = self.selected()
        usable = entry is not None and not entry.deleted
        self.edit_button.setEnabled(usable)
        self.delete_button.setEnabled(usable)

    def _roles(self, current: Any) -> None:
        catalog = self.catalog
        if catalog is None:
            return
        labels = catalog.time.get("roleID", {})
        mine = catalog.resources.get(catalog.me or -1, ("", list(labels)))[1]
        fill_combo(self.role, {r: labels.get(r, f"Role {r}") for r in mine}, current)

    def _mode_changed(self) -> None:
        by_span = self.by_span.isChecked()
        self.start.setEnabled(by_span)
        self.end.setEnabled(by_span)
        self.hours.setEnabled(not by_span)

    def _reset_form(self) -> None:
        self.editing = None
        self.editor_title.setText("Log time")
        self.save.setText("Log time")
        self.cancel.setVisible(False)
        # The agent's clock, not the machine's: tests run on a fake one.
        now = self.panel.service.agent.clock.now().astimezone()
        self.day.setDate(QDate(now.year, now.month, now.day))
        self.end.setTime(QTime(now.hour, now.minute - now.minute % 15))
        self.start.setTime(self.end.time().addSecs(-3600))
        self.hours.setValue(1.0)
        self.by_span.setChecked(True)
        self._mode_changed()
        self.summary.clear()
        self._roles(combo_value(self.role))
        self.form.clear_problems()
        show_error(self.general_error, None)

    def start_new(self) -> None:
        self._reset_form()
        self.result.clear()
        self.summary.setFocus()

    def start_edit(self) -> None:
        entry = self.selected()
        if entry is None or entry.deleted:
            return
        self._reset_form()
        self.editing = entry
        self.editor_title.setText("Edit time entry")
        self.save.setText("Save changes")
        self.cancel.setVisible(True)
        worked = parse_iso(entry.date_worked)
        if worked is not None:
            self.day.setDate(QDate(worked.year, worked.month, worked.day))
        start, end = parse_iso(entry.start), parse_iso(entry.end)
        if start is not None and end is not None:
            self.by_span.setChecked(True)
            self.start.setTime(qtime(start))
            self.end.setTime(qtime(end))
        else:
            self.by_hours.setChecked(True)
        self.hours.setValue(entry_hours(entry))
        self._mode_changed()
        self._roles(entry.role_id)
        self.summary.setPlainText(entry.summary or "")
        self.result.clear()

    # -- capturing -------------------------------------------------------------------------
    def entry_fields(self) -> dict[str, Any]:
        """The form as wire fields (dates in UTC; start and end on the chosen day)."""
        d = self.day.date().toPython()
        assert isinstance(d, date)
        fields: dict[str, Any] = {
            "dateWorked": f"{d.isoformat()}T00:00:00Z",
            "summaryNotes": self.summary.toPlainText().strip(),
            "roleID": combo_value(self.role),
        }
        if self.by_span.isChecked():
            fields["startDateTime"] = to_iso(on_day(d, self.start.time()))
            fields["endDateTime"] = to_iso(on_day(d, self.end.time()))
        else:
            fields["hoursWorked"] = round(self.hours.value(), 2)
        return fields

    def submit(self) -> None:
        if self.detail is None:
            return
        service = self.panel.service
        fields = self.entry_fields()
        if self.editing is None:
            call = service.agent.log_time(ticketID=self.detail.id, **fields)
            done = "Time logged on this laptop; it is sent to Autotask when it can be."
        else:
            changes = changed_fields(self.editing, fields)
            if not changes:
                self.result.setText("Nothing changed.")
                return
            call = service.agent.update_time_entry(self.editing.key, **changes)
            done = "Change saved on this laptop; it is sent to Autotask when it can be."
        self.save.setEnabled(False)
        ticket_id = self.detail.id
        service.run(
            call, lambda _: self._saved(done, ticket_id), lambda e: self._refused(e, ticket_id)
        )

    def delete_selected(self) -> None:
        entry = self.selected()
        if entry is None or entry.deleted:
            return
        question = (
            f"Delete the time entry of {day_text(entry.date_worked)} "
            f"({entry_hours(entry):.2f} h: {entry.summary or 'no summary'})?"
        )
        if not ask(self, "Delete time entry", question, "Delete"):
            return
        service = self.panel.service
        service.run(
            service.agent.delete_time_entry(entry.key),
            lambda _: self._saved("Deletion saved; it is sent to Autotask when it can be."),
            self._refused,
        )

    def _saved(self, message: str, ticket_id: int | None = None) -> None:
        self.save.setEnabled(True)
        self.captured.emit()
        if ticket_id is not None and (self.detail is None or self.detail.id != ticket_id):
            return  # that ticket's list shows it as waiting to be sent
        self._reset_form()
        self.result.setText(message)

    def _refused(self, exc: BaseException, ticket_id: int | None = None) -> None:
        self.save.setEnabled(True)
        if ticket_id is not None and (self.detail is None or self.detail.id != ticket_id):
            show_error(self.general_error, f"Time for ticket {ticket_id} was not saved: {exc}")
            return
        if isinstance(exc, EditRejected):
            rest = self.form.show_problems(list(exc.problems))
            show_error(self.general_error, "\n".join(rest) or None)
            self.result.setText("Not saved: correct the fields marked in red.")
        else:
            show_error(self.general_error, f"Not saved: {exc}")


def changed_fields(entry: TimeEntryView, fields: dict[str, Any]) -> dict[str, Any]:
    before: dict[str, Any] = {
        "dateWorked": entry.date_worked,
        "summaryNotes": entry.summary or "",
        "roleID": entry.role_id,
        "startDateTime": entry.start,
        "endDateTime": entry.end,
        "hoursWorked": entry.hours,
    }
    out: dict[str, Any] = {}
    for name, new in fields.items():
        old = before.get(name)
        if name in ("dateWorked", "startDateTime", "endDateTime"):
            a, b = parse_iso(old), parse_iso(new)
            if a != b:
                out[name] = new
        elif name == "hoursWorked":
            if old is None or abs(float(old) - float(new)) > 1e-6:
                out[name] = new
        elif new != old:
            out[name] = new
    return out


def on_day(d: date, t: QTime) -> datetime:
    """A local wall-clock time on day `d`, as an aware datetime."""
    local = datetime.combine(d, time(t.hour(), t.minute()))
    return local.astimezone()


def qtime(when: datetime) -> QTime:
    local = when.astimezone()
    return QTime(local.hour, local.minute)


def day_text(iso: str | None) -> str:
    when = parse_iso(iso)
    return when.astimezone(UTC).strftime("%a %d %b %Y") if when else ""


def span_text(entry: TimeEntryView) -> str:
    start, end = parse_iso(entry.start), parse_iso(entry.end)
    if start is None or end is None:
        return "—"
    return f"{start.astimezone():%H:%M} – {end.astimezone():%H:%M}"


def entry_hours(entry: TimeEntryView) -> float:
    if entry.hours is not None:
        return float(entry.hours)
    start, end = parse_iso(entry.start), parse_iso(entry.end)
    return (end - start).total_seconds() / 3600 if start and end else 0.0


def entry_tip(entry: TimeEntryView) -> str:
    if entry.deleted:
        return "Deleted on this laptop; the deletion is sent to Autotask when it can be."
    if entry.pending:
        return "Logged or changed on this laptop; waiting to be sent to Autotask."
    return "In Autotask."
