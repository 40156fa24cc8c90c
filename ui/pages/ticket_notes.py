"""The Notes tab of a ticket's page: the notes so far and a form to add one (offline too)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from agent.api.types import TicketDetail
from agent.api.validation import EditRejected
from ui.models.look import dot_icon, local_text, parse_iso
from ui.pages.common import show_error
from ui.pages.forms import Form, FormField, combo_value, fill_combo
from ui.shortcuts import tab_moves_focus

if TYPE_CHECKING:
    from ui.pages.ticket import Catalog, TicketPanel

NOTE_ROLE = Qt.ItemDataRole.UserRole + 1


class NotesTab(QScrollArea):
    """Scrolls rather than squeezes its form when the ticket's page is short."""

    captured = Signal()

    def __init__(self, panel: TicketPanel) -> None:
        super().__init__()
        self.panel = panel
        self.detail: TicketDetail | None = None
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.body = QWidget()
        box = QVBoxLayout(self.body)
        box.setContentsMargins(4, 12, 4, 4)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.setMinimumHeight(120)
        self.empty = QLabel("No notes on this ticket yet.", objectName="muted")
        box.addWidget(self.list, 1)
        box.addWidget(self.empty)
        box.addWidget(QLabel("Add a note", objectName="sectionTitle"))
        self.form = Form()
        self.title = QLineEdit(placeholderText="Optional")
        self.title.setAccessibleName("Note title")
        self.description = QPlainTextEdit(placeholderText="What was done, what was found…")
        self.description.setAccessibleName("Note text")
        tab_moves_focus(self.description)
        self.description.setFixedHeight(90)
        self.note_type = QComboBox()
        self.note_type.setAccessibleName("Note type")
        self.publish = QComboBox()
        self.publish.setAccessibleName("Visible to")
        self.form.add(FormField("Title", self.title, names=("title",)))
        self.form.add(FormField("Note", self.description, names=("description",)))
        self.form.add(FormField("Type", self.note_type, names=("noteType",)))
        self.form.add(FormField("Visible to", self.publish, names=("publish",)))
        box.addWidget(self.form)
        self.general_error = QLabel(objectName="fieldError")
        self.general_error.setVisible(False)
        box.addWidget(self.general_error)
        row = QHBoxLayout()
        self.result = QLabel(objectName="muted")
        self._drafts: dict[int, tuple[str, str]] = {}  # notes half typed, by ticket
        self.add = QPushButton("Add note", objectName="primary")
        row.addWidget(self.result, 1)
        row.addWidget(self.add)
        box.addLayout(row)
        self.add.clicked.connect(self.submit)
        self.setWidget(self.body)

    def show_detail(self, detail: TicketDetail, catalog: Catalog) -> None:
        if self.detail is None or self.detail.id != detail.id:
            self._switch_drafts(self.detail.id if self.detail else None, detail.id)
        self.detail = detail
        self.list.clear()
        types = catalog.notes.get("noteType", {})
        for note in reversed(detail.notes):  # newest first
            when = parse_iso(note.created)
            kind = types.get(note.note_type or -1, "")
            head = " · ".join(
                x
                for x in (
                    note.title or "(no title)",
                    kind,
                    local_text(when) if when else "",
                    "waiting to be sent" if note.pending else "",
                )
                if x
            )
            item = QListWidgetItem(f"{head}\n{note.description[:400]}")
            item.setIcon(dot_icon("pending" if note.pending else "ok"))
            item.setToolTip(
                "Added on this laptop; waiting to be sent to Autotask."
                if note.pending
                else "In Autotask."
            )
            item.setData(NOTE_ROLE, note.key)
            self.list.addItem(item)
        self.empty.setVisible(not detail.notes)
        self.list.setVisible(bool(detail.notes))
        keep_type, keep_publish = combo_value(self.note_type), combo_value(self.publish)
        fill_combo(self.note_type, types, keep_type)
        fill_combo(self.publish, catalog.notes.get("publish", {}), keep_publish)

    def _switch_drafts(self, leaving: int | None, coming: int) -> None:
        """A note half typed for one ticket stays with it (kept until the technician comes back
        to it); the next ticket shows its own draft, or none, and no message about another."""
        drafts = self._drafts
        typed = (self.title.text(), self.description.toPlainText())
        if leaving is not None and any(typed):
            drafts[leaving] = typed
        title, text = drafts.pop(coming, ("", ""))
        self.title.setText(title)
        self.description.setPlainText(text)
        self.result.clear()
        self.form.clear_problems()
        show_error(self.general_error, None)

    def _showing(self, ticket_id: int) -> bool:
        return self.detail is not None and self.detail.id == ticket_id

    def submit(self) -> None:
        if self.detail is None:
            return
        ticket_id = self.detail.id
        service = self.panel.service
        fields: dict[str, Any] = {
            "title": self.title.text().strip() or None,
            "note_type": combo_value(self.note_type),
            "publish": combo_value(self.publish),
        }
        self.add.setEnabled(False)
        service.run(
            service.agent.add_note(
                self.detail.id, self.description.toPlainText().strip(), **fields
            ),
            lambda _: self._added(ticket_id),
            lambda exc: self._refused(ticket_id, exc),
        )

    def _added(self, ticket_id: int) -> None:
        self.add.setEnabled(True)
        if not self._showing(ticket_id):
            self.captured.emit()
            return  # the list of that ticket shows the note as waiting to be sent
        self.form.clear_problems()
        show_error(self.general_error, None)
        self.title.clear()
        self.description.clear()
        self.result.setText("Note saved on this laptop; it is sent to Autotask when it can be.")
        self.captured.emit()

    def _refused(self, ticket_id: int, exc: BaseException) -> None:
        self.add.setEnabled(True)
        if not self._showing(ticket_id):
            show_error(self.general_error, f"Your note for ticket {ticket_id} was not saved: {exc}")
            return
        if isinstance(exc, EditRejected):
            rest = self.form.show_problems(list(exc.problems))
            show_error(self.general_error, "\n".join(rest) or None)
            self.result.setText("Not saved: correct the fields marked in red.")
        else:
            show_error(self.general_error, f"Not saved: {exc}")
