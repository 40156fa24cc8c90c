"""The desktop program: one QApplication and one qasync loop shared by Qt and the agent, one
instance per data folder and profile, the tray, the main window and the dialogs, and a clean
shutdown on Quit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QSystemTrayIcon

from agent.api.facade import Agent, AgentOptions
from agent.api.types import AgentStatus
from agent.security.encryption import Protection
from agent.settings import Settings
from ui import heap, icons, style
from ui.loop import new_event_loop
from ui.mainwindow import MainWindow
from ui.notifications import Notifier
from ui.service import AgentService
from ui.single_instance import SingleInstance, ask_running_instance, server_name
from ui.tray import Tray
from ui.window_state import FILE_NAME as WINDOW_FILE
from ui.window_state import WindowMemory

log = logging.getLogger(__name__)
READY_FILE_ENV = "FIELD_SYNC_READY_FILE"  # benchmarks: where to note the moment the tray showed

DEMO_TOUR = (
    "<b>You are on the demo tenant.</b> It is a simulated Autotask with a dispatcher who edits "
    "tickets every few seconds, so everything Field Sync does can be tried safely.<br><br>"
    "1. In the tray menu (or the banner), choose <b>Work offline</b>.<br>"
    "2. Open <b>My work</b> and change a ticket's status, priority or description.<br>"
    "3. Choose <b>Go online</b>: your change is sent.<br>"
    "4. When the dispatcher changed the same field meanwhile, <b>Conflicts</b> shows both "
    "values side by side; pick one (nothing is lost: the other stays in the audit trail)."
)


class Desktop:
    """Everything the running program holds: agent, service, tray, window and dialogs."""

    def __init__(
        self,
        app: QApplication,
        data_dir: str | None,
        profile: str,
        demo: bool,
        allow_unencrypted: bool = False,
    ) -> None:
        self.app = app
        self.data_dir = data_dir
        self.profile = profile
        self.demo = demo
        self.allow_unencrypted = allow_unencrypted  # --allow-unencrypted: see AgentOptions
        self.quit_requested = asyncio.Event()
        self.agent: Agent | None = None
        self.service: AgentService | None = None
        self.window: MainWindow | None = None
        self.tray: Tray | None = None
        self.instance: SingleInstance | None = None
        self.dialogs: list[QDialog] = []
        self.startup_error: QMessageBox | None = None  # shown when the profile cannot be opened
        self.keyring_dialog: QDialog | None = None  # shown when no keyring can be used

    # -- start ---------------------------------------------------------------------------
    async def run(self) -> int:
        self.instance = SingleInstance(server_name(self.data_dir, self.profile))
        self.instance.activated.connect(lambda: self.show_window())
        self.instance.listen()
        collector = heap.GuiThreadCollector(parent=self.app)  # before any worker thread runs
        collector.start()
        try:
            try:
                if self.demo:
                    self.agent = await Agent.open_demo(self.data_dir)
                else:
                    self.agent = await self._open_profile()
                    if self.agent is None:  # no keyring, and the technician chose to quit
                        self.instance.close()
                        return 2
            except _cannot_start_errors() as exc:  # e.g. a full disk: said in the window
                log.error("Field Sync cannot start: %s", exc)
                await self.show_startup_error(str(exc))
                self.instance.close()
                return 2
            try:
                await self._start(self.agent)
                heap.freeze_startup_objects()  # what startup made stays: later ones skip it
                await self.quit_requested.wait()
            finally:
                await self._shutdown()
        finally:
            collector.stop()  # also when the profile could not be opened
        return 0

    async def _open_profile(self) -> Agent | None:
        """Open the profile; without a usable keyring, say so in a window and continue only on
        the technician's explicit choice to keep this run's data unencrypted (never silently).
        None when the technician quits."""
        options = AgentOptions(
            data_dir=self.data_dir, profile=self.profile, allow_unencrypted=self.allow_unencrypted
        )
        agent = await Agent.open(options)
        if agent.encryption.protection is not Protection.NO_KEYRING:
            return agent
        await agent.close()
        log.warning("no usable system keyring: asking whether to continue unencrypted")
        if not await self.ask_about_keyring():
            return None
        self.allow_unencrypted = options.allow_unencrypted = True
        log.warning("continuing without encryption for this run, as the user chose")
        return await Agent.open(options)

    async def ask_about_keyring(self) -> bool:
        """Show the keyring window until answered (or Quit); True to continue unencrypted."""
        from ui.keyring_dialog import KeyringDialog

        dialog = self.keyring_dialog = KeyringDialog()
        answered = asyncio.Event()
        dialog.finished.connect(lambda _result: answered.set())
        dialog.show()
        waiters = [
            asyncio.ensure_future(answered.wait()),
            asyncio.ensure_future(self.quit_requested.wait()),
        ]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            chosen = answered.is_set() and dialog.chose_unencrypted
            dialog.hide()
            dialog.deleteLater()
            self.keyring_dialog = None
        return chosen

    async def _start(self, agent: Agent) -> None:
        service = self.service = AgentService(agent)
        tray_available = QSystemTrayIcon.isSystemTrayAvailable()
        if tray_available:  # the tray first: it is what says Field Sync is running
            tray = self.tray = Tray(service, Notifier())
            tray.openRequested.connect(self.show_window)
            tray.settingsRequested.connect(self.open_settings)
            tray.signInRequested.connect(self.open_sign_in)
            tray.demoTourRequested.connect(self.open_demo_tour)
            tray.ticketRequested.connect(self.open_ticket)
            tray.quitRequested.connect(self.quit)
            tray.show()
            _note_ready()
        status = await agent.status()
        service.last_status = status
        service.statusChanged.emit(status)
        # The first page now; the others are built one per loop turn once the window shows.
        memory = WindowMemory(agent.profile_dir / WINDOW_FILE)
        window = self.window = MainWindow(
            service, tray_available=tray_available, defer_pages=True, memory=memory
        )
        window.quitRequested.connect(self.quit)
        window.settingsRequested.connect(self.open_settings)
        window.signInRequested.connect(self.open_sign_in)
        service.load_settings()
        service.run(asyncio.to_thread(self.follow_start_at_login, agent), on_error=_logged)
        self.show_window()
        if not tray_available:
            _note_ready()
        if status.signed_in:
            agent.start()
        else:
            self.open_sign_in()
        if status.demo and agent.demo_tour_due():  # once per demo profile; the tray offers more
            self.open_demo_tour()
        if self.tray is not None:
            self.tray.refresh_recent()

    def follow_start_at_login(self, agent: Agent) -> bool:
        """Make the login entry match `start_at_login` (set from the command line, or by the
        Settings window of another run): the setting is what decides. True when it changed."""
        from ui import autostart

        removed = autostart.remove_stale_entries()
        if removed:
            log.info("start-at-login entries of a removed installation deleted: %s", removed)
        wanted = agent.settings.start_at_login
        entry = autostart.for_platform(profile=self.profile)
        if entry.is_enabled() == wanted:
            return False
        autostart.set_enabled(entry, wanted)
        log.info("start at login %s, as the settings say", "on" if wanted else "off")
        return True

    async def show_startup_error(self, message: str) -> None:
        """Say why the profile cannot be opened (one line naming the condition and what to do),
        until the technician closes the message or quits."""
        box = self.startup_error = QMessageBox(
            QMessageBox.Icon.Critical, "Field Sync cannot start", message
        )
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        closed = asyncio.Event()
        box.finished.connect(lambda _result: closed.set())
        box.show()
        waiters = [
            asyncio.ensure_future(closed.wait()),
            asyncio.ensure_future(self.quit_requested.wait()),
        ]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            box.hide()
            box.deleteLater()
            self.startup_error = None

    # -- windows and dialogs ---------------------------------------------------------------------
    def show_window(self, page_id: str = "") -> None:
        if self.window is not None:
            self.window.bring_forward(page_id or None)

    def open_ticket(self, ticket_id: int) -> None:
        if self.window is not None:
            self.window.bring_forward()
            self.window.open_ticket(ticket_id)

    def _keep(self, dialog: QDialog) -> None:
        """Hold a reference to a non-modal dialog until it is closed."""
        self.dialogs.append(dialog)
        dialog.finished.connect(lambda _result: self._drop(dialog))

    def _drop(self, dialog: QDialog) -> None:
        if dialog in self.dialogs:
            self.dialogs.remove(dialog)
        dialog.deleteLater()

    def open_sign_in(self) -> None:
        from ui.signin import SignInDialog  # only when asked for: not on the way to the tray

        assert self.service is not None
        for dialog in self.dialogs:
            if isinstance(dialog, SignInDialog):
                dialog.raise_()
                dialog.activateWindow()
                return
        dialog = SignInDialog(self.service, parent=self.window)
        dialog.signedIn.connect(self._signed_in)
        self._keep(dialog)
        dialog.open()

    def _signed_in(self) -> None:
        assert self.agent is not None and self.service is not None
        self.agent.start()
        self.service.refresh_status()
        self.service.sync_now()

    def open_settings(self) -> None:
        from ui.settings_dialog import SettingsDialog

        service = self.service
        assert service is not None
        for dialog in self.dialogs:
            if isinstance(dialog, SettingsDialog):
                dialog.raise_()
                return
        service.run(asyncio.to_thread(lambda: service.agent.settings), self._show_settings_dialog)

    def _show_settings_dialog(self, settings: Settings) -> None:
        from ui import autostart
        from ui.settings_dialog import SettingsDialog

        assert self.service is not None
        self.service.settings = settings
        dialog = SettingsDialog(
            self.service, settings, autostart.for_platform(profile=self.profile), self.window
        )
        dialog.signedOut.connect(lambda _wiped: self.open_sign_in())
        self._keep(dialog)
        dialog.open()

    def open_demo_tour(self) -> None:
        box = QMessageBox(self.window)
        box.setWindowTitle("Field Sync demo")
        box.setIconPixmap(icons.pixmap("app", 48, None, 0.0, icons.device_pixel_ratio()))
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(DEMO_TOUR)
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        box.setWindowModality(Qt.WindowModality.NonModal)
        self._keep(box)
        box.show()

    # -- stop -----------------------------------------------------------------------------------
    def quit(self) -> None:
        self.quit_requested.set()

    async def _shutdown(self) -> None:
        for dialog in list(self.dialogs):
            dialog.close()
        if self.tray is not None:
            self.tray.hide()
        if self.window is not None:
            self.window.tray_available = True  # hide, do not re-enter quit
            self.window.hide()
        if self.service is not None:
            await self.service.shutdown()
        if self.agent is not None:
            await self.agent.close()
        if self.instance is not None:
            self.instance.close()
        # Widgets go before the QApplication, or Python's exit may free them in the wrong order.
        for widget in (self.window, self.tray):
            if widget is not None:
                widget.deleteLater()
        self.window = self.tray = None
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _cannot_start_errors() -> tuple[type[Exception], ...]:
    """What keeps the profile from opening and is told to the technician in the window."""
    from agent.credentials import CredentialError
    from agent.paths import InvalidProfileName
    from agent.settings import SettingsError
    from agent.store.errors import StoreError
    from agent.store.migrations import MigrationError

    return (StoreError, MigrationError, CredentialError, SettingsError, InvalidProfileName)


def _note_ready() -> None:
    path = os.environ.get(READY_FILE_ENV)
    if path:
        Path(path).write_text(f"{time.time():.6f}\n", encoding="utf-8")


def _quit_on_signals(desktop: Desktop) -> None:
    """Ctrl-C and SIGTERM quit cleanly. Python runs signal handlers only between bytecodes, and
    Qt's loop runs in C, so a slow timer gives Python a moment to notice them."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: desktop.quit())
    timer = QTimer(desktop.app)
    timer.setInterval(500)
    timer.timeout.connect(lambda: None)
    timer.start()


def make_application() -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("Field Sync")
    app.setApplicationDisplayName("Field Sync for Autotask")
    app.setOrganizationName("FieldSync")
    app.setDesktopFileName("fieldsync")
    app.setQuitOnLastWindowClosed(False)  # the tray keeps running when the window is closed
    app.setWindowIcon(icons.app_icon())
    style.apply(app)
    return app


def _logged(exc: BaseException) -> None:
    log.warning("start at login could not be changed: %s", exc)


def run_app(
    data_dir: str | None, profile: str, demo: bool = False, allow_unencrypted: bool = False
) -> int:
    """Start the desktop program; returns the exit code (0 when another instance took over)."""
    app = make_application()
    if ask_running_instance(server_name(data_dir, profile)):
        print("Field Sync is already running; its window was brought forward.")
        return 0
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    desktop = Desktop(app, data_dir, profile, demo, allow_unencrypted)
    _quit_on_signals(desktop)
    try:
        return loop.run_until_complete(desktop.run())
    finally:
        loop.close()
        asyncio.set_event_loop(None)


__all__ = ["AgentStatus", "Desktop", "make_application", "run_app"]
