"""A ticket's page: its fields to edit (status, priority, title, description, due, assignee),
its notes and its time entries; every change is captured locally, so all of it works offline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QDateTime, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from agent.api.types import TicketDetail
from agent.api.validation import EditRejected
from ui import wording
from ui.models.labels import field_label
from ui.models.look import chip_style, local_text, parse_iso, to_iso
from ui.models.people import technician_id
from ui.pages.common import chip, form_footer, show_error
from ui.pages.flow import FlowLayout, group
from ui.pages.forms import Form, FormField, combo_value, fill_combo
from ui.pages.ticket_checklist import ChecklistTab
from ui.pages.ticket_context import ContextTab
from ui.pages.ticket_files import FilesTab
from ui.pages.ticket_leave import Leave, ask_leave
from ui.pages.ticket_notes import NotesTab
from ui.pages.ticket_parts import PartsTab
from ui.pages.ticket_time import TimeTab
from ui.pages.ticket_timer import TimerBar
from ui.service import AgentService
from ui.shortcuts import DateTimeEdit, tab_moves_focus

NO_DUE = QDateTime.fromSecsSinceEpoch(0)


@dataclass(frozen=True)
class Catalog:
    """What the forms choose from: picklists by entity, resources with their roles, and me."""

    tickets: dict[str, dict[int, str]]
    notes: dict[str, dict[int, str]]
    time: dict[str, dict[int, str]]
    resources: dict[int, tuple[str, list[int]]]
    me: int | None


async def load_catalog(service: AgentService) -> Catalog:
    agent = service.agent
    tickets, notes, time, resources = await asyncio.gather(
        agent.picklists("Tickets"),
        agent.picklists("TicketNotes"),
        agent.picklists("TimeEntries"),
        agent.resources(),
    )
    return Catalog(tickets, notes, time, resources, technician_id(service))


class TicketPanel(QWidget):
    """The detail pane of My work for one ticket."""

    changed = Signal()  # something was captured: the list should refresh its markers
    backRequested = Signal()  # on a narrow page: show the list again
    stayed = Signal()  # another ticket was asked for, but this one's unsaved typing kept it

    def __init__(self, service: AgentService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.catalog: Catalog | None = None
        self.detail: TicketDetail | None = None
        self.ticket_id: int | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 12)
        outer.setSpacing(8)
        self.back = QPushButton("← Tickets")
        self.back.setToolTip("Back to the list of your tickets")
        self.back.setAccessibleName("Back to the list of tickets")
        self.back.setVisible(False)
        self.back.clicked.connect(self.backRequested)
        self.number = chip("", "muted")
        self.state_chip = chip("", "pending")
        self.deleted_chip = chip("Deleted in Autotask", "conflict")
        self.web_button = QPushButton("Open in Autotask")
        self.web_button.setToolTip("Open this ticket in Autotask's web application")
        self.web_button.clicked.connect(self.open_in_autotask)
        marks = group(
            self.back, self.number, self.state_chip, self.deleted_chip, trailing_stretch=True
        )
        # The web link on the right, or on a line of its own when narrow.
        self.head = QWidget()
        head = FlowLayout(self.head)
        head.setContentsMargins(0, 0, 0, 0)
        head.add_widget(marks, 1)
        head.add_widget(self.web_button)
        outer.addWidget(self.head)
        self.heading = QLabel(objectName="pageTitle")
        self.heading.setWordWrap(True)
        self.where = QLabel(objectName="muted")
        outer.addWidget(self.heading)
        # The stopwatch shares the company's line: the chips' line has no room for it on a
        # small screen at 150 %, and a line of its own would cost every ticket its height.
        where_row = QHBoxLayout()
        where_row.addWidget(self.where, 1)
        self.timer_bar = TimerBar(self)
        where_row.addWidget(self.timer_bar)
        outer.addLayout(where_row)
        self.tabs = QTabWidget()
        self.details = DetailsTab(self)
        self.notes = NotesTab(self)
        self.time = TimeTab(self)
        self.tabs.addTab(self.details, "Details")
        self.tabs.addTab(self.notes, "Notes")
        self.tabs.addTab(self.time, "Time")
        self.checklist = ChecklistTab(self)
        self.tabs.addTab(self.checklist, "Checklist")
        self.parts = PartsTab(self)
        self.tabs.addTab(self.parts, "Parts")
        self.context = ContextTab(self)
        self.tabs.addTab(self.context, "Contacts && devices")
        self.files = FilesTab(self)
        self.tabs.addTab(self.files, "Files")
        self.setAcceptDrops(True)  # a file dropped anywhere on the ticket is attached to it
        self.tabs.tabBar().setAccessibleName("Ticket sections")
        outer.addWidget(self.tabs, 1)
        for tab in (self.details, self.notes, self.time, self.checklist, self.parts, self.files):
            tab.captured.connect(self._captured)
        service.queueChanged.connect(self._server_news)
        service.statusChanged.connect(self._status_changed)
        self._show_header(None)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.files.take(event.mimeData()):
            event.acceptProposedAction()
            self.tabs.setCurrentWidget(self.files)

    def set_back_visible(self, visible: bool) -> None:
        """In place of the list (a narrow page): a way back, and no margins of its own."""
        self.back.setVisible(visible)
        margin = (0, 4, 0, 0) if visible else (16, 12, 16, 12)
        layout = self.layout()
        if layout is not None:
            layout.setContentsMargins(*margin)

    # -- loading ---------------------------------------------------------------------------
    def set_catalog(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def show_ticket(self, ticket_id: int | None) -> None:
        """Show the ticket; typing not saved on the one shown is first saved, discarded or kept
        (staying on it, `stayed`), as the technician chooses."""
        if ticket_id == self.ticket_id or not self.details.dirty():
            self._show_ticket(ticket_id)
            return
        changes = [field_label(n) for n in self.details.changes()]
        choice = ask_leave(self, self.number.text() or str(self.ticket_id), changes)
        if choice is Leave.DISCARD:
            self._show_ticket(ticket_id)
        elif choice is Leave.SAVE:  # the other ticket once saved; a refusal stays here
            self.details.submit(then=lambda: self._show_ticket(ticket_id), failed=self.stayed.emit)
        else:
            self.stayed.emit()

    def _show_ticket(self, ticket_id: int | None) -> None:
        self.ticket_id = ticket_id
        if ticket_id is None:
            self.detail = None
            self._show_header(None)
            return
        self.reload()

    def reload(self) -> None:
        ticket_id = self.ticket_id
        if ticket_id is None:
            return

        async def fetch() -> tuple[Catalog, TicketDetail | None]:
            catalog = self.catalog or await load_catalog(self.service)
            return catalog, await self.service.agent.ticket(ticket_id)

        self.service.run(fetch(), lambda got: self._loaded(ticket_id, *got))

    def _loaded(self, ticket_id: int, catalog: Catalog, detail: TicketDetail | None) -> None:
        if ticket_id != self.ticket_id:
            return  # the technician moved on to another ticket meanwhile
        self.catalog = catalog
        self.detail = detail
        self._show_header(detail)
        if detail is None:
            return
        shown = self.details.detail
        # A save still on its way counts too: refused (a full disk), its typing must still be
        # in the form to be saved again.
        holding = self.details.dirty() or self.details.saving()
        typing = shown is not None and shown.id == detail.id and holding
        if not (typing and self.details.changes(detail)):
            # Typing that the refreshed ticket does not hold yet stays as typed (it refreshes
            # once saved or reverted); once saved, the refresh shows it with its pending marks.
            # A form nobody typed in follows the ticket (a value Autotask's changed included).
            self.details.show_detail(detail, catalog)
        self.notes.show_detail(detail, catalog)
        self.time.show_detail(detail, catalog)
        self.checklist.show_ticket(detail.id)
        self.parts.show_ticket(detail.id)
        self.context.show_ticket(detail.id)
        self.files.show_ticket(detail.id)
        self.tabs.setTabText(1, f"Notes ({len(detail.notes)})")
        live = [t for t in detail.time_entries if not t.deleted]
        self.tabs.setTabText(2, f"Time ({len(live)})")

    def _show_header(self, detail: TicketDetail | None) -> None:
        self.tabs.setVisible(detail is not None)
        shown = detail.id if detail is not None else None
        if self.timer_bar.ticket_id != shown:
            self.timer_bar.set_ticket(shown)
        if detail is None:
            self.web_button.setVisible(False)
            self.number.setVisible(False)
            self.state_chip.setVisible(False)
            self.deleted_chip.setVisible(False)
            self.heading.setText("Choose a ticket")
            self.where.setText("Its details, notes and time entries appear here.")
            return
        f = detail.fields
        self.number.setText(str(f["ticketNumber"].value) if "ticketNumber" in f else "")
        self.number.setVisible(True)
        self.heading.setText(str(f["title"].value or "") if "title" in f else "")
        where = " · ".join(x for x in (detail.company, detail.contact) if x)
        self.where.setText(where)
        pending = [v.name for v in f.values() if v.pending]
        pending += [n.key for n in detail.notes if n.pending]
        pending += [t.key for t in detail.time_entries if t.pending]
        pending += ["part"] * detail.pending_parts + ["checklist"] * detail.pending_checklist
        pending += ["file"] * detail.pending_files
        conflicts = [v.name for v in f.values() if v.conflict_id is not None]
        if conflicts:
            self.state_chip.setText(f"{len(conflicts)} conflict(s)")
            self.state_chip.setStyleSheet(chip_style("conflict"))
        elif pending:
            self.state_chip.setText("Changes waiting to be sent")
            self.state_chip.setStyleSheet(chip_style("pending"))
        else:
            self.state_chip.setText("Synced")
            self.state_chip.setStyleSheet(chip_style("ok"))
        self.state_chip.setVisible(True)
        self.deleted_chip.setVisible(detail.deleted_on_server)
        self._show_web_link()

    def web_url(self) -> str | None:
        """The ticket in Autotask's web application: offered only while online."""
        if self.detail is None or not wording.can_send(self.service.last_status):
            return None
        return self.service.agent.ticket_web_url(self.detail.id)

    def _status_changed(self, _status: object) -> None:
        # A bound slot, not a lambda: Qt drops the connection when this page is deleted.
        self._show_web_link()

    def _show_web_link(self) -> None:
        self.web_button.setVisible(self.web_url() is not None)

    def open_in_autotask(self) -> None:
        url = self.web_url()
        if url is not None:
            QDesktopServices.openUrl(QUrl(url))

    def _captured(self) -> None:
        self.changed.emit()
        self.reload()

    def _server_news(self) -> None:
        """After a sync the pending marks may be gone; reload unless an edit is half-typed."""
        if self.ticket_id is not None and not self.details.dirty():
            self.reload()


class DetailsTab(QScrollArea):
    """The ticket's own fields; Save sends only what changed."""

    captured = Signal()

    def __init__(self, panel: TicketPanel) -> None:
        super().__init__()
        self.panel = panel
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        body = QWidget()
        box = QVBoxLayout(body)
        box.setContentsMargins(4, 12, 4, 4)
        self.form = Form()
        self.status = QComboBox()
        self.status.setAccessibleName("Status")
        self.priority = QComboBox()
        self.priority.setAccessibleName("Priority")
        self.title = QLineEdit()
        self.title.setAccessibleName("Title")
        self.description = QPlainTextEdit()
        self.description.setAccessibleName("Description")
        tab_moves_focus(self.description)
        self.description.setMinimumHeight(110)
        self.due = DateTimeEdit()  # Tab leaves it; the arrow keys walk its sections
        self.due.setAccessibleName("Due")
        self.due.setCalendarPopup(True)
        self.due.setDisplayFormat("d MMM yyyy  HH:mm")
        self.due.setMinimumDateTime(NO_DUE)
        self.due.setSpecialValueText("No due date")
        self.resource = QComboBox()
        self.resource.setAccessibleName("Assigned to")
        self.role = QComboBox()
        self.role.setAccessibleName("Assigned role")
        assignee = QWidget()
        pair = QVBoxLayout(assignee)  # one above the other: fits a narrow ticket page
        pair.setContentsMargins(0, 0, 0, 0)
        pair.setSpacing(4)
        pair.addWidget(self.resource)
        pair.addWidget(self.role)
        self.rows = {
            "status": self.form.add(FormField("Status", self.status, names=("status",))),
            "priority": self.form.add(FormField("Priority", self.priority, names=("priority",))),
            "title": self.form.add(FormField("Title", self.title, names=("title",))),
            "description": self.form.add(
                FormField("Description", self.description, names=("description",))
            ),
            "dueDateTime": self.form.add(FormField("Due", self.due, names=("dueDateTime",))),
            "assignee": self.form.add(
                FormField(
                    "Assigned to",
                    assignee,
                    names=("assignedResourceID", "assignedResourceRoleID"),
                )
            ),
        }
        box.addWidget(self.form)
        self.general_error, self.saved_note, self.revert, self.save = form_footer(
            box, "Revert", "Save"
        )
        box.addStretch(1)
        self.setWidget(body)
        self.resource.currentIndexChanged.connect(self._resource_changed)
        for signal in (
            self.status.currentIndexChanged,
            self.priority.currentIndexChanged,
            self.title.textChanged,
            self.description.textChanged,
            self.due.dateTimeChanged,
            self.role.currentIndexChanged,
        ):
            signal.connect(self._edited)
        self.save.clicked.connect(self.submit)
        self.revert.clicked.connect(self._revert)
        self._note_for: int | None = None  # the ticket `saved_note` speaks of
        self.detail: TicketDetail | None = None
        self.catalog: Catalog | None = None
        self._loading = False
        # The changes a save captures (or captured, until the ticket is shown again with them).
        self._in_flight: dict[str, Any] | None = None

    # -- showing ---------------------------------------------------------------------------
    def show_detail(self, detail: TicketDetail, catalog: Catalog) -> None:
        if detail.id != self._note_for:
            self._note(None, "")  # a message about another ticket is not about this one
        elif self.saved_note.text().startswith(SAVED) and not any(
            v.pending for v in detail.fields.values()
        ):
            self._note(None, "")  # what was saved here has been sent or settled since
        self._in_flight = None  # the ticket as it is now holds what was saved
        self.detail, self.catalog = detail, catalog
        self._loading = True
        f = detail.fields
        lists = catalog.tickets
        fill_combo(self.status, lists.get("status", {}), value(detail, "status"))
        fill_combo(self.priority, lists.get("priority", {}), value(detail, "priority"))
        self.title.setText(str(value(detail, "title") or ""))
        self.description.setPlainText(str(value(detail, "description") or ""))
        due = parse_iso(value(detail, "dueDateTime"))
        self.due.setDateTime(QDateTime.fromSecsSinceEpoch(int(due.timestamp())) if due else NO_DUE)
        people = {rid: name for rid, (name, _) in catalog.resources.items()}
        fill_combo(self.resource, people, value(detail, "assignedResourceID"), none_text="Nobody")
        self._fill_roles(value(detail, "assignedResourceRoleID"))
        for row in self.rows.values():
            names = row.names
            waiting = [n for n in names if n in f and f[n].pending]
            tip = "Changed on this laptop; waiting to be sent to Autotask." if waiting else ""
            if any(n in f and f[n].conflict_id is not None for n in names):
                tip = "Also changed in Autotask: resolve it on the Conflicts page."
            row.set_pending(bool(waiting), tip)
        self.form.clear_problems()
        show_error(self.general_error, None)
        self._loading = False
        self._edited()

    def _fill_roles(self, current: Any) -> None:
        catalog = self.catalog
        if catalog is None:
            return
        resource = combo_value(self.resource)
        labels = catalog.tickets.get("assignedResourceRoleID", {})
        allowed = catalog.resources.get(resource, ("", []))[1] if resource is not None else []
        options = {r: labels.get(r, f"Role {r}") for r in allowed}
        fill_combo(self.role, options, current if current in options else None, none_text="—")
        if current not in options and options:
            self.role.setCurrentIndex(1)
        self.role.setEnabled(resource is not None)

    def _resource_changed(self) -> None:
        if not self._loading:
            self._fill_roles(combo_value(self.role))
            self._edited()

    # -- editing ---------------------------------------------------------------------------
    def changes(self, against: TicketDetail | None = None) -> dict[str, Any]:
        """The fields the technician changed, in wire names and values (compared with the
        ticket shown, or with `against`)."""
        d = against or self.detail
        if d is None:
            return {}
        out: dict[str, Any] = {}
        for name, combo in (("status", self.status), ("priority", self.priority)):
            if combo_value(combo) != value(d, name):
                out[name] = combo_value(combo)
        if self.title.text() != (value(d, "title") or ""):
            out["title"] = self.title.text()
        if self.description.toPlainText() != (value(d, "description") or ""):
            out["description"] = self.description.toPlainText()
        due = parse_iso(value(d, "dueDateTime"))
        shown = self.due.dateTime()
        if shown != NO_DUE:
            old = int(due.timestamp()) // 60 if due else None
            if shown.toSecsSinceEpoch() // 60 != old:
                out["dueDateTime"] = to_iso(datetime.fromtimestamp(shown.toSecsSinceEpoch(), UTC))
        resource, role = combo_value(self.resource), combo_value(self.role)
        if resource != value(d, "assignedResourceID") or role != value(d, "assignedResourceRoleID"):
            out["assignedResourceID"] = resource
            out["assignedResourceRoleID"] = role
        return out

    def label_italic(self, row: str) -> bool:
        return self.rows[row].label.font().italic()

    def dirty(self) -> bool:
        """Typed and not saved: what is being saved right now does not count."""
        changes = self.changes()
        return bool(changes) and changes != self._in_flight

    def _edited(self) -> None:
        if self._loading:
            return
        dirty = self.dirty()
        self.save.setEnabled(dirty)
        self.revert.setEnabled(dirty)
        if dirty:
            names = ", ".join(field_label(n) for n in self.changes())
            self._note(self.detail.id if self.detail else None, f"Unsaved: {names}")
        elif self.saved_note.text().startswith(UNSAVED):
            self._note(None, "")

    def _note(self, ticket_id: int | None, text: str) -> None:
        self._note_for = ticket_id
        self.saved_note.setText(text)

    def saving(self) -> bool:
        """A save of this form is on its way (captured or refused soon)."""
        return self._in_flight is not None

    def _revert(self) -> None:
        if self.detail is not None and self.catalog is not None:
            self.show_detail(self.detail, self.catalog)

    def submit(
        self, then: Callable[[], None] | None = None, failed: Callable[[], None] | None = None
    ) -> None:
        """Capture what changed; `then` once captured, `failed` when refused."""
        d = self.detail
        changes = self.changes()
        if d is None or not changes:
            return
        self.save.setEnabled(False)
        self._in_flight = changes
        service = self.panel.service
        ticket_id = d.id

        def saved(_: object) -> None:
            self._saved(ticket_id, changes)  # kept as saved until the ticket is shown again
            if then is not None:
                then()

        def refused(exc: BaseException) -> None:
            if self._in_flight is changes:
                self._in_flight = None
            self._refused(ticket_id, exc)
            if failed is not None:
                failed()

        service.run(service.agent.update_ticket(ticket_id, **changes), saved, refused)

    def _showing(self, ticket_id: int) -> bool:
        return self.detail is not None and self.detail.id == ticket_id

    def _saved(self, ticket_id: int, changes: dict[str, Any]) -> None:
        self.captured.emit()
        if not self._showing(ticket_id):
            return  # the technician moved on: the ticket list shows it as pending
        self.form.clear_problems()
        show_error(self.general_error, None)
        names = ", ".join(field_label(n) for n in changes)
        self._note(
            ticket_id,
            f"{SAVED}({names}). It is sent to Autotask as soon as it can be.",
        )

    def _refused(self, ticket_id: int, exc: BaseException) -> None:
        if not self._showing(ticket_id):  # said here, naming the ticket it was for
            show_error(
                self.general_error, f"Your change to ticket {ticket_id} was not saved: {exc}"
            )
            return
        self.save.setEnabled(True)
        if isinstance(exc, EditRejected):
            rest = self.form.show_problems(list(exc.problems))
            show_error(self.general_error, "\n".join(rest) or None)
            self._note(ticket_id, "Not saved: correct the fields marked in red.")
        else:
            show_error(self.general_error, f"Not saved: {exc}")


UNSAVED = "Unsaved: "
SAVED = "Saved on this laptop "


def value(detail: TicketDetail, name: str) -> Any:
    f = detail.fields.get(name)
    return None if f is None else f.value


def when_text(iso: str | None) -> str:
    when = parse_iso(iso)
    return local_text(when) if when else ""
