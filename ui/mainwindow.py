"""The main window: pages in a sidebar, a banner for what needs doing, and a status bar with the
connection, the pacing mode, the last sync and the first download's progress.

Closing the window hides it to the tray when there is one; without a tray, closing quits.
The window opens where it was left, as large as it was (never larger than its screen), and the
pages' layouts (My work's splitter and columns) come back as they were.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QHideEvent, QShowEvent
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
from ui import icons, shortcuts, style, wording
from ui.banner import Banner, notice_for
from ui.page_specs import (
    DEFAULT_PAGES,
    PageEntry,
    PageSpec,
    PlaceholderPage,
    page_entries,
)
from ui.service import AgentService
from ui.sidebar import Sidebar
from ui.window_state import WindowMemory, fit_to_screen

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
DEFAULT_SIZE = (1280, 800)  # the first start's size, made smaller to fit a smaller screen
MINIMUM_SIZE = (640, 400)  # fits a 1280x720 screen at 150 % scaling (853x480)


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
        defer_pages: bool = False,
        memory: WindowMemory | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """`defer_pages`: build only the first page now and the others one per event-loop turn
        after the window shows (or when one is asked for first), so the window opens sooner.
        `memory`: where the window's size, position and pages' layouts are kept across
        restarts (none: the defaults every time)."""
        super().__init__(parent)
        self.memory = memory
        self._placed = False
        self.service = service
        self.tray_available = tray_available
        self.now = now
        self.status: AgentStatus | None = None
        self.setWindowTitle("Field Sync for Autotask")
        self.setWindowIcon(icons.app_icon())
        self.resize(*DEFAULT_SIZE)
        self.setMinimumSize(*MINIMUM_SIZE)

        central = QWidget()
        outer = QHBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.sidebar = Sidebar()
        outer.addWidget(self.sidebar)
        right = QVBoxLayout()  # the pages bring their own margins; the banners get these
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(0)
        notices = QVBoxLayout()
        notices.setContentsMargins(20, 10, 20, 0)
        notices.setSpacing(8)
        self.tray_banner = Banner()
        self.banner = Banner()
        self.demo_banner = Banner()
        self.recovery_banner = Banner()  # a damaged database was met: what was salvaged
        self.store_banner = Banner()  # the database's condition (disk full, read-only, ...)
        self.stack = QStackedWidget()
        for banner in (
            self.recovery_banner,
            self.store_banner,
            self.demo_banner,
            self.tray_banner,
            self.banner,
        ):
            notices.addWidget(banner)
        right.addLayout(notices)
        right.addWidget(self.stack, 1)
        outer.addLayout(right, 1)
        self.setCentralWidget(central)

        self.pages: dict[str, QWidget] = {}
        self._deferred: dict[str, Callable[[], type[QWidget]]] = {}
        self._add_pages(page_entries(pages, defer_pages), defer_pages)
        self._build_status_bar()

        self.sidebar.pageChosen.connect(self.show_page)
        self.sidebar.settingsRequested.connect(self.settingsRequested)
        self.sidebar.card.syncNow.connect(self.sync_now)
        self.banner.actionTriggered.connect(self.on_banner_action)
        self.tray_banner.actionTriggered.connect(self.on_banner_action)
        self.demo_banner.actionTriggered.connect(self.on_banner_action)
        self.recovery_banner.actionTriggered.connect(self.on_banner_action)
        recovery = service.agent.recovery
        self._recovery_text = recovery.message if recovery is not None else None
        if self._recovery_text is not None:
            text = self._recovery_text
            self.recovery_banner.show_notice("attention", text, "audit", "Open audit")
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
        self.shortcuts = shortcuts.install(self)

    # -- building ---------------------------------------------------------------------------
    def _add_pages(self, entries: list[PageEntry] | None, defer: bool) -> None:
        if entries is None:
            for title, page_id in DEFAULT_PAGES:
                self.sidebar.add_page(page_id, title, page_id)
                self._add_page(page_id, PlaceholderPage(page_id, title))
            return
        for n, (title, icon_name, page_id, load) in enumerate(entries):
            self.sidebar.add_page(page_id, title, icon_name)
            if defer and n > 0:
                self._deferred[page_id] = load
            else:
                self._build_page(page_id, load())
        if self._deferred:
            QTimer.singleShot(0, self._build_next_deferred)

    def _build_page(self, page_id: str, page_class: type[QWidget]) -> QWidget:
        page = page_class(self.service)  # type: ignore[arg-type]
        self._add_page(page_id, page)
        show_in_audit = getattr(page, "showInAudit", None)
        if show_in_audit is not None:
            show_in_audit.connect(self.show_in_audit)
        open_ticket = getattr(page, "openTicket", None)  # the Today page opens a call's ticket
        if open_ticket is not None:
            open_ticket.connect(self.open_ticket)
        count_changed = getattr(page, "countChanged", None)
        if count_changed is not None and page_id not in ("queue", "conflicts", "audit"):
            count_changed.connect(
                lambda n, pid=page_id: self.sidebar.buttons[pid].set_count(int(n))
            )
            if getattr(page, "counts_before_shown", False):
                page.refresh()  # type: ignore[attr-defined]  # its badge is right before a visit
        return page

    def _add_page(self, page_id: str, page: QWidget) -> None:
        self.pages[page_id] = page
        self.stack.addWidget(page)
        restore = getattr(page, "restore_layout", None)
        if restore is not None and self.memory is not None:
            restore(self.memory.page(page_id))

    def _page(self, page_id: str) -> QWidget | None:
        """The page, built now if it was still waiting its turn."""
        load = self._deferred.pop(page_id, None)
        if load is not None:
            return self._build_page(page_id, load())
        return self.pages.get(page_id)

    def _build_next_deferred(self) -> None:
        if self._deferred:
            self._page(next(iter(self._deferred)))
        if self._deferred:
            QTimer.singleShot(0, self._build_next_deferred)

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
        page = self._page(page_id)
        if page is None:
            return
        self.stack.setCurrentWidget(page)
        self.sidebar.select(page_id)
        activate = getattr(page, "activate", None)
        if activate is not None:
            activate()

    def show_in_audit(self, entity_type: str, entity_id: str) -> None:
        """Another page asked for the history of one record."""
        self.show_page("audit")
        audit = self.pages.get("audit")
        show_entity = getattr(audit, "show_entity", None)
        if show_entity is not None:
            show_entity(entity_type, entity_id)

    def open_ticket(self, ticket_id: int) -> None:
        """Show one ticket in My work (the tray's recent activity asked for it)."""
        self.show_page("mywork")
        open_ticket = getattr(self.pages.get("mywork"), "open_ticket", None)
        if open_ticket is not None:
            open_ticket(ticket_id)

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
        # The product's name last, as the desktop shows the program's name: once, not twice.
        self.setWindowTitle(("Demo tenant — " if status.demo else "") + "Field Sync for Autotask")
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
        if status.store_notice and status.store_notice != self._recovery_text:
            self.store_banner.show_notice("error", status.store_notice)
        else:
            self.store_banner.clear()
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
        """The first download's stages, and the changes a sync is sending ("Sending 12 of
        241"), in the status bar."""
        if total <= 0 or done >= total or stage in ("done", "send_done"):
            self._hide_progress()
            return
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)
        self.progress_label.setText(
            wording.sending(done, total)
            if stage == "send"
            else f"Downloading your work: {STAGE_WORDS.get(stage, stage)} ({done + 1} of {total})"
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
        elif action in self.pages or action in self._deferred:
            self.show_page(action)

    # -- size, position and layout across restarts ---------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        if not self._placed:
            self._placed = True
            self.place()
        super().showEvent(event)

    def place(self) -> None:
        """Where it was left (a screen since unplugged: back on one that is there), never
        larger than the screen's free area."""
        blob = self.memory.geometry() if self.memory is not None else None
        if blob is not None and not self.restoreGeometry(blob):
            self.resize(*DEFAULT_SIZE)
        fit_to_screen(self)
        QTimer.singleShot(0, lambda: fit_to_screen(self))  # again once the frame is known

    def remember(self) -> None:
        """Keep the window's geometry and each page's layout for the next start."""
        if self.memory is None or not self._placed:
            return
        self.memory.set_geometry(self.saveGeometry())
        for page_id, page in self.pages.items():
            layout_state = getattr(page, "layout_state", None)
            if layout_state is not None:
                self.memory.set_page(page_id, layout_state())
        self.memory.sync()

    def hideEvent(self, event: QHideEvent) -> None:
        self.remember()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.remember()
        if self.tray_available:
            event.ignore()
            self.hide()
        else:
            event.accept()
            self.quitRequested.emit()
