"""The stopwatch on a ticket's page: Start/Stop with the elapsed time, and the dialog in which a
stopped timer becomes a time entry (or is discarded).

The elapsed time is read from the agent's clock against the start the agent stored, so what is
shown after a restart or a sleep of the laptop is the wall-clock time since the start."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDateTime, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)

from agent.api.types import AgentEvent
from agent.api.validation import EditRejected
from agent.visit import LONG_RUN_S, TimerDraft, TimerState, TimerView, duration_text
from ui.dialogs.fit import body_above_buttons, keep_on_screen
from ui.pages.common import ask, show_error
from ui.pages.forms import combo_value, fill_combo
from ui.shortcuts import DateTimeEdit, tab_moves_focus

if TYPE_CHECKING:
    from ui.pages.ticket import Catalog, TicketPanel

TICK_MS = 1000


def ticket_text(view: TimerView | TimerDraft) -> str:
    return view.ticket_number or f"ticket {view.ticket_id}"


class TimerBar(QWidget):
    """Start/Stop for the ticket shown, what runs elsewhere, and this ticket's stopped timers."""

    def __init__(self, panel: TicketPanel) -> None:
        super().__init__()
        self.panel = panel
        self.service = panel.service
        self.ticket_id: int | None = None
        self.state: TimerState | None = None
        self.dialog: DraftDialog | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(objectName="muted")
        self.label.setAccessibleName("Timer")
        self.button = QPushButton("Start timer")
        self.button.setAccessibleName("Start or stop the timer on this ticket")
        self.review = QPushButton("")
        self.review.setToolTip("A stopped timer of this ticket waits to be logged or discarded")
        row.addWidget(self.label)
        row.addWidget(self.button)
        row.addWidget(self.review)
        self._tick = QTimer(self, interval=TICK_MS)
        self._tick.timeout.connect(self._show)
        self.button.clicked.connect(self.toggle)
        self.review.clicked.connect(self.review_draft)
        self.service.event.connect(self._on_event)
        self._show()

    # -- state -----------------------------------------------------------------------------
    def now(self) -> float:
        """The agent's clock (a fake one in tests), never the machine's own."""
        return self.service.agent.clock.now().timestamp()

    def set_ticket(self, ticket_id: int | None) -> None:
        self.ticket_id = ticket_id
        self._show()
        if ticket_id is not None:
            self.refresh()

    def refresh(self) -> None:
        self.service.run(self.service.agent.timer(), self._got)

    def _on_event(self, event: AgentEvent) -> None:
        if event.kind == "timer_changed":
            self.refresh()

    def _got(self, state: TimerState) -> None:
        self.state = state
        self._show()

    @property
    def running(self) -> TimerView | None:
        return self.state.running if self.state is not None else None

    @property
    def mine(self) -> bool:
        running = self.running
        return running is not None and running.ticket_id == self.ticket_id

    def drafts(self) -> list[TimerDraft]:
        if self.state is None:
            return []
        return [d for d in self.state.drafts if d.ticket_id == self.ticket_id]

    def _elapsed(self, running: TimerView) -> str:
        """The time since the start, or that the clock now reads before it (set back)."""
        now = self.now()
        if now < running.started_at:
            return "the computer's clock was set back before its start"
        return duration_text(running.elapsed(now))

    def _show(self) -> None:
        running = self.running
        self.setVisible(self.ticket_id is not None)
        if running is not None and self.mine:
            self.button.setText("Stop timer")
            self.label.setText(f"Timer running: {self._elapsed(running)}")
        else:
            self.button.setText("Start timer")
            self.label.setText(
                ""
                if running is None
                else f"Timer on {ticket_text(running)}: {self._elapsed(running)}"
            )
        self.label.setVisible(bool(self.label.text()))
        drafts = self.drafts()
        self.review.setVisible(bool(drafts))
        if drafts and drafts[0].needs_end:
            self.review.setText("Log stopped timer (end not known)…")
        elif drafts:
            self.review.setText(f"Log stopped timer ({duration_text(drafts[0].seconds)})…")
        if running is not None and not self._tick.isActive():
            self._tick.start()
        elif running is None:
            self._tick.stop()

    # -- actions ---------------------------------------------------------------------------
    def toggle(self) -> None:
        ticket_id = self.ticket_id
        if ticket_id is None:
            return
        agent = self.service.agent
        if self.mine:
            self.service.run(agent.stop_timer(), self.open_draft, self._failed)
            return
        running = self.running
        switch = False
        if running is not None:
            question = (
                f"A timer is running on {ticket_text(running)} "
                f"({duration_text(running.elapsed(self.now()))}). Stop it and start one on this "
                "ticket? The stopped one waits for you to log it."
            )
            if not ask(self, "Switch the timer", question, "Stop it and start here"):
                return
            switch = True
        self.service.run(agent.start_timer(ticket_id, switch=switch), None, self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.label.setVisible(True)
        self.label.setText(f"Timer: {exc}")

    def review_draft(self) -> None:
        drafts = self.drafts()
        if drafts:
            self.open_draft(drafts[0])

    def open_draft(self, draft: TimerDraft) -> None:
        catalog = self.panel.catalog
        if self.dialog is not None:
            self.dialog.close()
        self.dialog = DraftDialog(self, draft, catalog)
        self.dialog.open()


class DraftDialog(QDialog):
    """A stopped timer as a time entry to confirm: start and end (correctable), role and work
    type (from the last entry logged), the summary; over ten hours it asks to confirm. A timer
    stopped while the clock read before its start (set back) ends at its start: the dialog says
    so, and logs it only once the end is set."""

    def __init__(self, bar: TimerBar, draft: TimerDraft, catalog: Catalog | None) -> None:
        super().__init__(bar)
        self.bar = bar
        self.draft = draft
        self.setWindowTitle("Log the timed work")
        outer, self.scroll, box = body_above_buttons(self)
        box.addWidget(
            QLabel(f"Timer on {ticket_text(draft)} {draft.ticket_title}".strip(), wordWrap=True)
        )
        form = QFormLayout()
        self.start = self._moment(draft.started_at, "Start")
        self.end = self._moment(draft.stopped_at, "End")
        self.duration = QLabel()
        self.role = QComboBox()
        self.role.setAccessibleName("Role")
        self.work_type = QComboBox()
        self.work_type.setAccessibleName("Work type")
        self.summary = QPlainTextEdit(placeholderText="What you did (the customer may see this)")
        self.summary.setAccessibleName("Summary")
        self.summary.setFixedHeight(70)
        tab_moves_focus(self.summary)
        for label, widget in (
            ("Start", self.start),
            ("End", self.end),
            ("Time", self.duration),
            ("Role", self.role),
            ("Work type", self.work_type),
            ("Summary", self.summary),
        ):
            form.addRow(label, widget)
        box.addLayout(form)
        self.end_note = QLabel(objectName="fieldError", wordWrap=True)
        self.end_note.setVisible(draft.needs_end)
        if draft.needs_end:
            read = QDateTime.fromSecsSinceEpoch(int(draft.started_at - (draft.clock_set_back or 0)))
            self.end_note.setText(
                "The computer's clock was set back while this timer ran: when it was stopped it "
                f"read {read.toString('d MMM yyyy  HH:mm:ss')}, before the start. The end is not "
                "known: set the end time to when you stopped working."
            )
        box.addWidget(self.end_note)
        self.long_note = QLabel(objectName="fieldError", wordWrap=True)
        self.confirm_long = QCheckBox("")
        box.addWidget(self.long_note)
        box.addWidget(self.confirm_long)
        self.error = QLabel(objectName="fieldError", wordWrap=True)
        self.error.setVisible(False)
        box.addWidget(self.error)
        box.addStretch(1)
        buttons = QHBoxLayout()
        self.discard_button = QPushButton("Discard…", objectName="danger")
        self.later = QPushButton("Later")
        self.log_button = QPushButton("Log time", objectName="primary")
        buttons.addWidget(self.discard_button)
        buttons.addStretch(1)
        buttons.addWidget(self.later)
        buttons.addWidget(self.log_button)
        outer.addLayout(buttons)
        keep_on_screen(self)
        self._fill(catalog)
        self.start.dateTimeChanged.connect(self._span_changed)
        self.end.dateTimeChanged.connect(self._span_changed)
        self.log_button.clicked.connect(self.log)
        self.discard_button.clicked.connect(self.discard)
        self.later.clicked.connect(self.reject)
        self._span_changed()
        self.summary.setFocus()

    @staticmethod
    def _moment(instant: float, name: str) -> QDateTimeEdit:
        edit = DateTimeEdit(QDateTime.fromSecsSinceEpoch(int(instant)))
        edit.setDisplayFormat("d MMM yyyy  HH:mm:ss")
        edit.setCalendarPopup(True)
        edit.setAccessibleName(name)
        return edit

    def _fill(self, catalog: Catalog | None) -> None:
        draft = self.draft
        labels = catalog.time.get("roleID", {}) if catalog is not None else {}
        mine = (
            catalog.resources.get(catalog.me or -1, ("", list(labels)))[1]
            if catalog is not None
            else []
        )
        fill_combo(self.role, {r: labels.get(r, f"Role {r}") for r in mine}, draft.role_id)
        codes = catalog.time.get("billingCodeID", {}) if catalog is not None else {}
        fill_combo(self.work_type, codes, draft.billing_code_id, none_text="—")

    def span(self) -> tuple[float, float]:
        return float(self.start.dateTime().toSecsSinceEpoch()), float(
            self.end.dateTime().toSecsSinceEpoch()
        )

    @property
    def long(self) -> bool:
        begin, finish = self.span()
        return finish - begin > LONG_RUN_S

    def _span_changed(self) -> None:
        begin, finish = self.span()
        self.duration.setText(duration_text(finish - begin))
        long = self.long
        self.long_note.setVisible(long)
        self.confirm_long.setVisible(long)
        if long:
            self.long_note.setText(
                f"This timer ran {duration_text(finish - begin)}, more than "
                f"{LONG_RUN_S // 3600} hours: was it left running? Check the end time."
            )
            self.confirm_long.setText(f"Yes, log all {duration_text(finish - begin)}")

    def entry(self) -> dict[str, Any]:
        """What `log_timer` is given: start and end only where corrected; the work type as
        chosen ("—" for none)."""
        begin, finish = self.span()
        entry: dict[str, Any] = {
            "summary": self.summary.toPlainText().strip(),
            "billing_code_id": combo_value(self.work_type),  # "—": none
            "confirm_long": self.long and self.confirm_long.isChecked(),
        }
        if self.role.count():  # no roles known here: the draft's stays
            entry["role_id"] = combo_value(self.role)
        if int(begin) != int(self.draft.started_at):
            entry["start"] = datetime.fromtimestamp(begin, UTC)
        if int(finish) != int(self.draft.stopped_at):
            entry["end"] = datetime.fromtimestamp(finish, UTC)
        return entry

    def log(self) -> None:
        if self.draft.needs_end and int(self.span()[1]) == int(self.draft.stopped_at):
            show_error(self.error, "Set the end time first: the clock was set back.")
            return
        if self.long and not self.confirm_long.isChecked():
            show_error(self.error, "Check the end time, or tick the box to log all of it.")
            return
        service = self.bar.service
        self.log_button.setEnabled(False)
        service.run(
            service.agent.log_timer(self.draft.id, **self.entry()), self._logged, self._refused
        )

    def _logged(self, _result: object) -> None:
        self.bar.panel.reload()
        self.accept()

    def _refused(self, exc: BaseException) -> None:
        self.log_button.setEnabled(True)
        if isinstance(exc, EditRejected):
            text = "\n".join(f"{p.field}: {p.message}" for p in exc.problems)
        else:
            text = str(exc)
        show_error(self.error, f"Not logged: {text}")

    def discard(self) -> None:
        question = (
            f"Discard the timer of {duration_text(self.draft.seconds)} on "
            f"{ticket_text(self.draft)}? Nothing is logged."
        )
        if not ask(self, "Discard the timer", question, "Discard"):
            return
        service = self.bar.service
        service.run(
            service.agent.discard_timer(self.draft.id), lambda _: self.accept(), self._refused
        )
