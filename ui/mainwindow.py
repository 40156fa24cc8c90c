"""The main window: pages in a sidebar, a banner for what needs doing, and a status bar with the
connection, the pacing mode, the last sync and the first download's progress.

Closing the window hides it to the tray when there is one; without a tray, closing quits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from agent.api.types import AgentStatus, SyncState
from ui import icons, style, wording
from ui.banner import Banner, notice_for
from ui.service import AgentService
from ui.sidebar import Sidebar

PageSpec = tuple[str, str, type[QWidget]]
DEFAULT_PAGES = (
    ("My work", "mywork"),
    ("Queue", "queue"),
    ("Conflicts", "conflicts"),
    ("Health", "health"),
    ("Audit", "audit"),
)
NO_TRAY_TEXT = (
    "This desktop has no system tray, so Field Sync lives in this window. Keep it open (or "
    "minimised) to keep syncing; closing it quits Field Sync."
)
DEMO_TEXT = (
    "Demo tenant: a simulated dispatcher edits tickets too. Try it: work offline, change a "
    "ticket's status in My work, then go online. If the dispatcher changed it as well, Field "
    "Sync asks which value to keep."
)
STAGE_WORDS = {"time entries": "time entries", "done": "finishing"}


def available_pages() -> Sequence[PageSpec] | None:
    """`ui.pages.PAGES`, or None while the pages package is missing."""
    try:
        from ui.pages import PAGES
    except ImportError:
        return None
    return PAGES


class PlaceholderPage(QWidget):
    """Stands in for a page that is not available in this build."""

    def __init__(self, page_id: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page_id = page_id
        box = QVBoxLayout(self)
        label = QLabel(f"{title}\n\nThis page is not available in this build.")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setStyleSheet(f"color: {style.MUTED}; font-size: 14px;")
        box.addWidget(label)

    def activate(self) -> None:
        pass


class MainWindow(QMainWindow):
    signInRequested = Signal()
    settingsRequested = Signal()
    quitRequested = Signal()

    def __init__(
        self,
        service: AgentService,
        *,
        tray_available: bool = True,
        pages: Sequence[PageSpec] | None = None,
        now: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.tray_available = tray_available
        self.now = now
        self.status: AgentStatus | None = None
        self.setWindowTitle("Field Sync for Autotask")
        self.setWindowIcon(icons.app_icon())
        self.resize(1180, 760)
        self.setMinimumSize(900, 560)

        central = QWidget()
        outer = QHBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.sidebar = Sidebar()
        outer.addWidget(self.sidebar)
        right = QVBoxLayout()
        right.setContentsMargins(20, 14, 20, 10)
        right.setSpacing(10)
        self.tray_banner = Banner()
        self.banner = Banner()
        self.demo_banner = Banner()
        self.stack = QStackedWidget()
        right.addWidget(self.demo_banner)
        right.addWidget(self.tray_banner)
        right.addWidget(self.banner)
        right.addWidget(self.stack, 1)
        outer.addLayout(right, 1)
        self.setCentralWidget(central)

        self.pages: dict[str, QWidget] = {}
        self._add_pages(pages if pages is not None else available_pages())
        self._build_status_bar()

        self.sidebar.pageChosen.connect(self.show_page)
        self.sidebar.settingsRequested.connect(self.settingsRequested)
        self.sidebar.card.syncNow.connect(self.sync_now)
        self.banner.actionTriggered.connect(self.on_banner_action)
        self.tray_banner.actionTriggered.connect(self.on_banner_action)
        self.demo_banner.actionTriggered.connect(self.on_banner_action)
        service.statusChanged.connect(self.show_status)
        service.progress.connect(self.show_progress)
        service.syncStarted.connect(self._sync_started)
        service.syncFinished.connect(self._sync_finished)
        if not tray_available:
            self.tray_banner.show_notice("info", NO_TRAY_TEXT)

        self._clock = QTimer(self)  # keeps "Last synced 2 min ago" true while nothing happens
        self._clock.setInterval(30_000)
        self._clock.timeout.connect(self._refresh_times)
        self._clock.start()
        if self.pages:
            self.show_page(next(iter(self.pages)))
        if service.last_status is not None:
            self.show_status(service.last_status)

    # -- building ---------------------------------------------------------------------------
    def _add_pages(self, specs: Sequence[PageSpec] | None) -> None:
        if specs is None:
            for title, page_id in DEFAULT_PAGES:
                self._add_page(page_id, title, page_id, PlaceholderPage(page_id, title))
            return
        for title, icon_name, page_class in specs:
            page = page_class(self.service)  # type: ignore[arg-type]
            page_id = str(getattr(page, "page_id", icon_name))
            self._add_page(page_id, title, icon_name, page)
            show_in_audit = getattr(page, "showInAudit", None)
            if show_in_audit is not None:
                show_in_audit.connect(self.show_in_audit)
            count_changed = getattr(page, "countChanged", None)
            if count_changed is not None and page_id not in ("queue", "conflicts", "audit"):
                count_changed.connect(
                    lambda n, pid=page_id: self.sidebar.buttons[pid].set_count(int(n))
                )

    def _add_page(self, page_id: str, title: str, icon_name: str, page: QWidget) -> None:
        self.pages[page_id] = page
        self.stack.addWidget(page)
        self.sidebar.add_page(page_id, title, icon_name)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setSizeGripEnabled(False)
        self.connection_dot = QLabel()
        self.connection_label = QLabel("Starting…", objectName="StatusText")
        self.mode_label = QLabel("", objectName="StatusText")
        self.progress_label = QLabel("", objectName="StatusText")
        self.progress_bar = QProgressBar()
        self.progress_bar.setFixedWidth(180)
        self.progress_bar.setTextVisible(False)
        self.last_sync_label = QLabel("", objectName="StatusText")
        left = QWidget()
        row = QHBoxLayout(left)
        row.setContentsMargins(10, 2, 0, 2)
        row.setSpacing(4)
        row.addWidget(self.connection_dot)
        row.addWidget(self.connection_label)
        sep = QLabel("·")
        sep.setStyleSheet(f"color: {style.MUTED};")
        row.addWidget(sep)
        row.addWidget(self.mode_label)
        row.addStretch(1)
        bar.addWidget(left, 1)
        bar.addPermanentWidget(self.progress_label)
        bar.addPermanentWidget(self.progress_bar)
        bar.addPermanentWidget(self.last_sync_label)
        self.progress_label.hide()
        self.progress_bar.hide()

    # -- navigation ---------------------------------------------------------------------------
    def show_page(self, page_id: str) -> None:
        page = self.pages.get(page_id)
        if page is None:
            return
        self.stack.setCurrentWidget(page)
        self.sidebar.select(page_id)
        activate = getattr(page, "activate", None)
        if activate is not None:
            activate()

    def show_in_audit(self, entity_type: str, entity_id: str) -> None:
        """Another page asked for the history of one record."""
        audit = self.pages.get("audit")
        self.show_page("audit")
        show_entity = getattr(audit, "show_entity", None)
        if show_entity is not None:
            show_entity(entity_type, entity_id)

    def current_page_id(self) -> str:
        return str(getattr(self.stack.currentWidget(), "page_id", ""))

    def bring_forward(self, page_id: str | None = None) -> None:
        """Show, un-minimise and raise the window (another launch or the tray asked for it)."""
        if page_id:
            self.show_page(page_id)
        self.setWindowState(
            (self.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive
        )
        self.show()
        self.raise_()
        self.activateWindow()

    # -- status -------------------------------------------------------------------------------
    def show_status(self, status: AgentStatus) -> None:
        self.status = status
        now = self.now()
        self.sidebar.card.show_status(status, now)
        self.sidebar.demo_badge.setVisible(status.demo)
        self.setWindowTitle("Field Sync for Autotask" + (" — Demo tenant" if status.demo else ""))
        for page_id, count, alert in (
            ("queue", status.pending + status.needs_attention, status.needs_attention > 0),
            ("conflicts", status.conflicts, True),
        ):
            if page_id in self.sidebar.buttons:
                self.sidebar.buttons[page_id].set_count(count, alert)
        color = style.STATE_COLORS[status.state]
        self.connection_dot.setText(f"<span style='color:{color}; font-size:14px'>●</span>")
        self.connection_label.setText(wording.connection(status))
        self.mode_label.setText(wording.mode(status))
        self.last_sync_label.setText(wording.last_synced(status, now))
        notice = notice_for(status)
        if status.demo and notice is None:  # the tour tip yields to anything more urgent
            self.demo_banner.show_notice("info", DEMO_TEXT, "go_offline", "Work offline")
        elif status.demo and status.work_offline:
            self.demo_banner.show_notice("info", DEMO_TEXT)
        else:
            self.demo_banner.clear()
        if notice is None:
            self.banner.clear()
        else:
            self.banner.show_notice(*notice)
        if status.first_sync_done and status.state is not SyncState.SYNCING:
            self._hide_progress()

    def _refresh_times(self) -> None:
        if self.status is not None:
            now = self.now()
            self.last_sync_label.setText(wording.last_synced(self.status, now))
            self.sidebar.card.detail.setText(wording.last_synced(self.status, now))

    def show_progress(self, stage: str, done: int, total: int) -> None:
        """The first download's progress (the agent reports stages of its first full sync)."""
        if total <= 0 or done >= total or stage == "done":
            self._hide_progress()
            return
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)
        self.progress_label.setText(
            f"Downloading your work: {STAGE_WORDS.get(stage, stage)} ({done + 1} of {total})"
        )
        self.progress_bar.show()
        self.progress_label.show()

    def _hide_progress(self) -> None:
        self.progress_bar.hide()
        self.progress_label.hide()

    def _sync_started(self) -> None:
        self.sidebar.card.sync_button.setEnabled(False)
        self.sidebar.card.sync_button.setText("  Syncing…")

    def _sync_finished(self, report: dict[str, object]) -> None:
        self.sidebar.card.sync_button.setText("  Sync now")
        self.sidebar.card.sync_button.setEnabled(
            self.status is None or (self.status.signed_in and not self.status.work_offline)
        )
        self._hide_progress()

    # -- actions --------------------------------------------------------------------------------
    def sync_now(self) -> None:
        self.service.sync_now()

    def on_banner_action(self, action: str) -> None:
        agent = self.service.agent
        if action == "sign_in":
            self.signInRequested.emit()
        elif action == "resume":
            agent.resume()
        elif action == "go_offline":
            self.service.run(agent.set_work_offline(True))
        elif action == "go_online":
            self.service.run(agent.set_work_offline(False))
        elif action == "retry":
            agent.network_changed()
            self.sync_now()
        elif action in self.pages:
            self.show_page(action)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.tray_available:
            event.ignore()
            self.hide()
        else:
            event.accept()
            self.quitRequested.emit()
