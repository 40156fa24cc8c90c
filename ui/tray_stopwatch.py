"""The stopwatch's part of the tray: the running timer with its elapsed time, Stop, and stopped
timers waiting to be logged. The elapsed time is the agent's clock against the stored start."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from agent.api.types import AgentEvent
from agent.visit import TimerDraft, TimerState, duration_text
from ui import icons
from ui.service import AgentService

TICK_MS = 1000  # the elapsed time in the tooltip and the menu, while a timer runs


class TrayStopwatch(QObject):
    """Adds its entries to the tray's menu where it is built; `changed` when its line changed."""

    changed = Signal()
    ticketRequested = Signal(int)  # the ticket of the timer, or of a stopped one

    def __init__(self, service: AgentService, menu: QMenu, parent: QObject) -> None:
        super().__init__(parent)
        self.service = service
        self.state: TimerState | None = None
        self.separator = menu.addSeparator()
        self.running_action = menu.addAction(icons.icon("open", "#374151"), "")
        self.running_action.setToolTip("Open the ticket the timer runs on")
        self.running_action.triggered.connect(lambda: self._open(self.running_action))
        self.stop_action = menu.addAction(icons.icon("pause", "#374151"), "Stop timer")
        self.stop_action.setToolTip(
            "Stops the timer; its time waits on the ticket's page for you to log it"
        )
        self.stop_action.triggered.connect(self.stop)
        self.drafts_action = menu.addAction(icons.icon("open", "#374151"), "")
        self.drafts_action.triggered.connect(lambda: self._open(self.drafts_action))
        self.tick = QTimer(self)
        self.tick.setInterval(TICK_MS)
        self.tick.timeout.connect(self._show)
        service.event.connect(self._on_event)
        self._show()

    def refresh(self) -> None:
        self.service.run(self.service.agent.timer(), self._got)

    def _on_event(self, event: AgentEvent) -> None:
        if event.kind == "timer_changed":
            self.refresh()

    def _got(self, state: TimerState) -> None:
        self.state = state
        self._show()

    def now(self) -> float:
        """The agent's clock: the elapsed time shown is the one the agent will log."""
        return self.service.agent.clock.now().timestamp()

    def text(self) -> str:
        """The running timer in one line ("" when none runs)."""
        running = self.state.running if self.state is not None else None
        if running is None:
            return ""
        where = running.ticket_number or f"ticket {running.ticket_id}"
        now = self.now()
        if now < running.started_at:
            return f"Timer on {where}: the computer's clock was set back before its start"
        return f"Timer on {where}: {duration_text(running.elapsed(now))}"

    def _show(self) -> None:
        running = self.state.running if self.state is not None else None
        drafts: tuple[TimerDraft, ...] = self.state.drafts if self.state is not None else ()
        self.running_action.setVisible(running is not None)
        self.stop_action.setVisible(running is not None)
        self.drafts_action.setVisible(bool(drafts))
        self.separator.setVisible(running is not None or bool(drafts))
        if running is not None:
            self.running_action.setText(self.text())
            self.running_action.setData(running.ticket_id)
            if not self.tick.isActive():
                self.tick.start()
        else:
            self.tick.stop()  # nothing to count: no refreshes while idle
        if drafts:
            first = drafts[0]
            where = first.ticket_number or f"ticket {first.ticket_id}"
            waiting = (
                "A stopped timer waits"
                if len(drafts) == 1
                else f"{len(drafts)} stopped timers wait"
            )
            self.drafts_action.setText(f"{waiting} to be logged ({where})…")
            self.drafts_action.setData(first.ticket_id)
        self.changed.emit()

    def stop(self) -> None:
        """Stop the running timer and show its ticket, where its time waits to be logged."""
        self.service.run(
            self.service.agent.stop_timer(), lambda d: self.ticketRequested.emit(d.ticket_id)
        )

    def _open(self, action: QAction) -> None:
        ticket_id = action.data()
        if isinstance(ticket_id, int):
            self.ticketRequested.emit(ticket_id)
