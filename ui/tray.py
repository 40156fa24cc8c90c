"""The tray icon: the sync state at a glance (turning arrows while syncing), a tooltip with the
numbers that matter, the menu that controls syncing, and the desktop notifications."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from agent.api.types import Activity, AgentStatus, SyncState
from agent.settings import Settings
from ui import icons, wording
from ui.notifications import Notifier
from ui.service import AgentService
from ui.tray_stopwatch import TrayStopwatch

SPIN_INTERVAL_MS = 90
BALLOON_MS = 8000
CLICK_TARGETS = {"conflict": "conflicts", "attention": "queue"}
RECENT = 5
RECENT_ICONS = {"sent": "sync", "conflict": "conflicts", "failed": "conflicts"}
# The menu itself says how the two ways of not syncing differ.
PAUSE_TEXT = "Pause syncing (until resumed or restarted)"
RESUME_TEXT = "Resume syncing"
PAUSE_TIP = (
    "Stops sending and fetching for now; Field Sync still watches the connection and resumes "
    "at the next start."
)
OFFLINE_TEXT = "Work offline (no contact with Autotask, kept after restart)"
OFFLINE_TIP = (
    "Field Sync does not contact Autotask at all, even after a restart, until you go online: "
    "your changes are kept on this laptop and sent then."
)


class Tray(QObject):
    """Owns the QSystemTrayIcon and its menu; every menu action goes through the service."""

    openRequested = Signal(str)  # page id to show, "" for the current one
    settingsRequested = Signal()
    signInRequested = Signal()
    demoTourRequested = Signal()
    ticketRequested = Signal(int)  # a ticket of "Recent activity" to open
    quitRequested = Signal()

    def __init__(
        self,
        service: AgentService,
        notifier: Notifier | None = None,
        *,
        now: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.now = now
        self.status: AgentStatus | None = None
        self.state = SyncState.SYNCING
        self.frame = 0
        self._manual_sync = False
        self._last_kind = ""
        self.icon = QSystemTrayIcon(self)
        self.icon.setIcon(icons.tray_icon(self.state))
        self.icon.setToolTip(wording.tooltip(None))
        self.menu = self._build_menu()
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        self.icon.messageClicked.connect(self._on_message_clicked)
        self.notifier = notifier or Notifier()
        self.notifier.sink = self._show_message
        self._spinner = QTimer(self)
        self._spinner.setInterval(SPIN_INTERVAL_MS)
        self._spinner.timeout.connect(self._next_frame)
        service.statusChanged.connect(self.show_status)
        service.syncStarted.connect(self._sync_started)
        service.syncFinished.connect(self._sync_finished)
        service.notify.connect(self.notifier.post)
        service.settingsChanged.connect(self._settings_changed)
        for signal in (service.queueChanged, service.conflictsChanged, service.syncFinished):
            signal.connect(self.refresh_recent)
        self.stopwatch.changed.connect(self._show_tooltip)
        self.stopwatch.ticketRequested.connect(self.ticketRequested)
        self.stopwatch.refresh()

    # -- menu -------------------------------------------------------------------------------
    def _build_menu(self) -> QMenu:
        menu = QMenu()
        self.header_action = menu.addAction("Field Sync: starting…")
        self.header_action.setEnabled(False)
        self.detail_action = menu.addAction("")
        self.detail_action.setEnabled(False)
        self.demo_action = menu.addAction(
            icons.icon("demo", "#5B21B6"), "Demo tenant: take the tour…"
        )
        self.demo_action.triggered.connect(self.demoTourRequested)
        self.demo_action.setVisible(False)
        self.stopwatch = TrayStopwatch(self.service, menu, self)
        menu.addSeparator()
        self.open_action = menu.addAction(icons.icon("open", "#374151"), "Open Field Sync")
        bold = QFont(self.open_action.font())
        bold.setBold(True)
        self.open_action.setFont(bold)
        self.open_action.triggered.connect(lambda: self.openRequested.emit(""))
        self.sync_action = menu.addAction(icons.icon("sync", "#374151"), "Sync now")
        self.sync_action.triggered.connect(self.sync_now)
        self.pause_action = menu.addAction(icons.icon("pause", "#374151"), PAUSE_TEXT)
        self.pause_action.triggered.connect(self.toggle_pause)
        self.pause_action.setToolTip(PAUSE_TIP)
        self.offline_action = QAction(OFFLINE_TEXT, menu)
        self.offline_action.setToolTip(OFFLINE_TIP)
        self.offline_action.setCheckable(True)
        self.offline_action.triggered.connect(self.set_work_offline)
        menu.addAction(self.offline_action)
        self.conflicts_action = menu.addAction(icons.icon("conflicts", "#374151"), "Conflicts (0)")
        self.conflicts_action.triggered.connect(lambda: self.openRequested.emit("conflicts"))
        menu.setToolTipsVisible(True)
        self.recent_separator = menu.addSeparator()
        self.recent_header = menu.addAction("Recent activity")
        self.recent_header.setEnabled(False)
        self.recent_actions: list[QAction] = []
        for _ in range(RECENT):
            action = menu.addAction("")
            action.setVisible(False)
            action.triggered.connect(lambda _c=False, a=action: self._open_recent(a))
            self.recent_actions.append(action)
        self._show_recent([])
        menu.addSeparator()
        self.sign_in_action = menu.addAction(icons.icon("key", "#374151"), "Sign in…")
        self.sign_in_action.triggered.connect(self.signInRequested)
        self.sign_in_action.setVisible(False)
        self.settings_action = menu.addAction(icons.icon("settings", "#374151"), "Settings…")
        self.settings_action.triggered.connect(self.settingsRequested)
        self.quit_action = menu.addAction(icons.icon("quit", "#374151"), "Quit Field Sync")
        self.quit_action.triggered.connect(self.quitRequested)
        return menu

    # -- recent activity ------------------------------------------------------------------------
    def refresh_recent(self, *_: object) -> None:
        self.service.run(self.service.agent.recent_activity(RECENT), self._show_recent)

    def _show_recent(self, items: list[Activity]) -> None:
        self.recent = list(items)[:RECENT]
        shown = bool(self.recent)
        self.recent_separator.setVisible(shown)
        self.recent_header.setVisible(shown)
        for n, action in enumerate(self.recent_actions):
            item = self.recent[n] if n < len(self.recent) else None
            action.setVisible(item is not None)
            if item is not None:
                when = wording.ago(item.at, self.now())
                action.setText(f"{wording.cut(item.text, 60)} · {when}")
                action.setToolTip(item.text)
                action.setData(item.ticket_id)
                action.setIcon(icons.icon(RECENT_ICONS.get(item.kind, "open"), "#374151"))

    def _open_recent(self, action: QAction) -> None:
        ticket_id = action.data()
        if isinstance(ticket_id, int):
            self.ticketRequested.emit(ticket_id)

    def _show_tooltip(self) -> None:
        self.icon.setToolTip(self.tooltip())

    def tooltip(self) -> str:
        """The state's lines (`wording.tooltip`), and the running timer's."""
        text = wording.tooltip(self.status, self.now())
        timer = self.stopwatch.text()
        return f"{text}\n{timer}" if timer else text

    # -- actions (all through the facade) -----------------------------------------------------
    def sync_now(self) -> None:
        self.service.sync_now()

    def toggle_pause(self) -> None:
        if self.status is not None and self.status.paused:
            self.service.agent.resume()
        else:
            self.service.agent.pause()

    def set_work_offline(self, offline: bool) -> None:
        self.service.run(self.service.agent.set_work_offline(offline))

    # -- state --------------------------------------------------------------------------------
    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def show_status(self, status: AgentStatus) -> None:
        self.status = status
        self.state = status.state
        self.icon.setToolTip(self.tooltip())
        title = wording.STATE_TITLES[status.state]
        self.header_action.setText(f"Field Sync: {title}")
        self.detail_action.setText(wording.last_synced(status, self.now()))
        self.demo_action.setVisible(status.demo)
        self.pause_action.setText(RESUME_TEXT if status.paused else PAUSE_TEXT)
        self.pause_action.setIcon(icons.icon("resume" if status.paused else "pause", "#374151"))
        self.offline_action.setChecked(status.work_offline)
        self.sync_action.setEnabled(status.signed_in and not status.work_offline)
        self.pause_action.setEnabled(status.signed_in)
        self.conflicts_action.setText(f"Conflicts ({status.conflicts})")
        self.sign_in_action.setVisible(status.state is SyncState.ERROR)
        if status.state is not SyncState.ATTENTION:
            self.notifier.forget("attention")
        self._update_spinner()

    def _update_spinner(self) -> None:
        spinning = self.state is SyncState.SYNCING or (
            self._manual_sync and self.state in (SyncState.SYNCED, SyncState.SYNCING)
        )
        if spinning and not self._spinner.isActive():
            self._spinner.start()
        elif not spinning:
            self._spinner.stop()
            self.frame = 0
        shown = SyncState.SYNCING if spinning else self.state
        self.icon.setIcon(icons.tray_icon(shown, self.frame, self.pending))

    @property
    def pending(self) -> int:
        """The count the icon's badge shows: changes still to send."""
        return self.status.pending if self.status is not None else 0

    def _next_frame(self) -> None:
        self.frame = (self.frame + 1) % icons.SPIN_FRAMES
        self.icon.setIcon(icons.tray_icon(SyncState.SYNCING, self.frame, self.pending))

    @property
    def spinning(self) -> bool:
        return self._spinner.isActive()

    def _sync_started(self) -> None:
        self._manual_sync = True
        self._update_spinner()

    def _sync_finished(self, report: dict[str, object]) -> None:
        self._manual_sync = False
        self._update_spinner()

    def _settings_changed(self, settings: Settings) -> None:
        self.notifier.enabled = settings.notifications

    # -- notifications and clicks ---------------------------------------------------------------
    def _show_message(self, kind: str, title: str, message: str) -> None:
        self._last_kind = kind
        level = (
            QSystemTrayIcon.MessageIcon.Critical
            if kind == "credentials"
            else QSystemTrayIcon.MessageIcon.Warning
            if kind in ("conflict", "attention")
            else QSystemTrayIcon.MessageIcon.Information
        )
        self.icon.showMessage(title, message, level, BALLOON_MS)

    def _on_message_clicked(self) -> None:
        if self._last_kind == "credentials":
            self.signInRequested.emit()
        else:
            self.openRequested.emit(CLICK_TARGETS.get(self._last_kind, ""))

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.openRequested.emit("")
