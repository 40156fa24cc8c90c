"""The settings dialog: offline work, sync interval, notifications, start at login, quota share,
the fleet's Redis address (an administrator's setting, shown when set or on request) and
durability, plus signing out (optionally wiping local data). A setting the administrator's
policy sets is shown locked, saying so. The demo tenant is started with --demo, not here."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from agent.settings import Settings, redis_url_problem
from ui import icons, style
from ui.autostart import Autostart, set_enabled
from ui.dialogs.fit import body_above_buttons, fit_dialog, keep_on_screen
from ui.service import AgentService

DURABILITY = (("normal", "Fast (safe after a crash of the app)"), ("full", "Safest (slower)"))
# The settings a policy can lock that this dialog shows, by the attribute of their control.
LOCKABLE = {"sync_interval_s": "interval", "quota_share": "quota_share", "redis_url": "redis_url"}
LOCKED_NOTE = "Set by your administrator"


class SignOutDialog(QDialog):
    """Asks before signing out, and whether to remove this computer's copy of the data too."""

    def __init__(self, unsent: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign out")
        box = QVBoxLayout(self)
        box.setContentsMargins(22, 20, 22, 16)
        box.setSpacing(12)
        box.addWidget(QLabel("Sign out of Autotask?", objectName="DialogTitle"))
        text = QLabel(
            "Field Sync stops syncing and forgets the API credentials on this computer."
            + (
                f" {unsent} change(s) have not been sent yet; they stay queued unless you "
                "remove the local data."
                if unsent
                else ""
            ),
            objectName="DialogLead",
        )
        text.setWordWrap(True)
        box.addWidget(text)
        self.wipe = QCheckBox("Also remove local data (cached tickets, queued changes, history)")
        box.addWidget(self.wipe)
        row = QHBoxLayout()
        row.addStretch(1)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        self.confirm = QPushButton("Sign out")
        self.confirm.setProperty("primary", True)
        self.confirm.clicked.connect(self.accept)
        row.addWidget(cancel)
        row.addWidget(self.confirm)
        box.addLayout(row)
        keep_on_screen(self)


class SettingsDialog(QDialog):
    signedOut = Signal(bool)  # wiped local data
    saved = Signal(object)  # Settings

    def __init__(
        self,
        service: AgentService,
        settings: Settings,
        autostart: Autostart | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.initial = settings
        self.autostart = autostart
        self.sign_out_dialog: SignOutDialog | None = None
        # setting -> where the administrator's policy set it (a file, the registry, ...)
        self.locked = {
            name: origin for name, (_, origin) in service.agent.policy.locked_settings.items()
        }
        self.lock_notes: dict[str, QLabel] = {}
        self.setWindowTitle("Field Sync settings")
        self.setWindowIcon(icons.app_icon())
        self.setMinimumWidth(560)
        outer, self.scroll, box = body_above_buttons(self, margins=(22, 20, 22, 16), spacing=12)
        box.addWidget(QLabel("Settings", objectName="DialogTitle"))

        general = self._group(box, "Syncing")
        self.work_offline = QCheckBox("Work offline (keep changes here, send them later)")
        self.interval = QSpinBox(suffix=" s", minimum=10, maximum=3600, singleStep=10)
        self.interval.setFixedWidth(110)
        self.notifications = QCheckBox("Show desktop notifications")
        self.start_at_login = QCheckBox("Start Field Sync when I log in")
        general.addRow(self.work_offline)
        general.addRow("Sync every", self._lockable("sync_interval_s", self.interval))
        general.addRow(self.notifications)
        general.addRow(self.start_at_login)

        link = self._group(box, "Autotask and fleet")
        self.quota_share = QDoubleSpinBox(suffix=" %", minimum=5, maximum=100, decimals=0)
        self.quota_share.setFixedWidth(110)
        self.quota_share.setToolTip(
            "The share Field Sync uses of what your tenant's other integrations leave of its"
            " hourly API limit. A tenth of the limit is always kept in reserve, so even several"
            " computers at 100 % leave the tenant open."
        )
        self.redis_url = QLineEdit(placeholderText="rediss://server:6380/0 (empty: none)")
        self.redis_url.setAccessibleName("Fleet Redis URL")
        self.redis_url.setToolTip(
            "Your team's agents share the hourly request budget and their circuit breakers "
            "through this Redis server (its password is kept in the keyring)."
        )
        link.addRow("Share of hourly limit", self._lockable("quota_share", self.quota_share))
        # An administrator's setting: shown when one was set (by policy or the command line), or
        # behind the switch below; a technician never needs it.
        self.advanced = QCheckBox("Show administrator settings")
        link.addRow(self.advanced)
        self.redis_row = self._lockable("redis_url", self.redis_url)
        link.addRow("Fleet Redis URL", self.redis_row)
        self._link = link
        self.advanced.toggled.connect(self._show_advanced)

        storage = self._group(box, "Storage")
        self.durability = QComboBox()
        self.durability.setAccessibleName("Durability")
        for value, label in DURABILITY:
            self.durability.addItem(label, value)
        storage.addRow("Durability", self.durability)

        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {style.DANGER};")
        self.error.hide()
        box.addWidget(self.error)
        box.addStretch(1)

        buttons = QHBoxLayout()
        self.sign_out_button = QPushButton(icons.icon("signout", style.DANGER), "  Sign out…")
        self.sign_out_button.setProperty("danger", True)
        self.sign_out_button.clicked.connect(self.ask_sign_out)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        self.save_button = QPushButton("Save")
        self.save_button.setProperty("primary", True)
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        buttons.addWidget(self.sign_out_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        outer.addLayout(buttons)
        self.redis_url.textChanged.connect(self._check_redis)
        self.load(settings)
        keep_on_screen(self)

    def _lockable(self, name: str, control: QWidget) -> QWidget:
        """`control` in a row of its own, locked with a note when the policy sets `name`."""
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        line.setSpacing(10)
        line.addWidget(control, 1 if isinstance(control, QLineEdit) else 0)
        origin = self.locked.get(name)
        if origin is not None:
            tip = f"{LOCKED_NOTE} ({origin}); it cannot be changed here."
            control.setEnabled(False)
            control.setToolTip(tip)
            note = QLabel(LOCKED_NOTE, objectName="FieldHelp")
            note.setToolTip(tip)
            note.setAccessibleName(f"{name}: {LOCKED_NOTE.lower()}")
            line.addWidget(note)
            self.lock_notes[name] = note
        if not isinstance(control, QLineEdit):
            line.addStretch(1)
        return row

    @staticmethod
    def _group(box: QVBoxLayout, title: str) -> QFormLayout:
        group = QGroupBox(title)
        form = QFormLayout(group)
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(8)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        box.addWidget(group)
        return form

    def load(self, s: Settings) -> None:
        self.work_offline.setChecked(s.work_offline)
        self.interval.setValue(s.sync_interval_s)
        self.notifications.setChecked(s.notifications)
        self.start_at_login.setChecked(s.start_at_login)
        self.quota_share.setValue(round(s.quota_share * 100))
        self.redis_url.setText(s.redis_url or "")
        self.advanced.setChecked(bool(s.redis_url))
        self._show_advanced(self.advanced.isChecked())
        self.durability.setCurrentIndex(max(0, self.durability.findData(s.durability)))

    def _show_advanced(self, shown: bool) -> None:
        self._link.setRowVisible(self.redis_row, shown)
        if self.isVisible():  # taller now: as tall as the screen lets it be, else it scrolls
            self.scroll.updateGeometry()  # its hint is the body's, a row longer now
            fit_dialog(self, wanted=self.size())
            self.scroll.ensureWidgetVisible(self.redis_url)

    def values(self) -> dict[str, Any]:
        return {
            "work_offline": self.work_offline.isChecked(),
            "sync_interval_s": self.interval.value(),
            "notifications": self.notifications.isChecked(),
            "start_at_login": self.start_at_login.isChecked(),
            "quota_share": round(self.quota_share.value() / 100, 2),
            "redis_url": self.redis_url.text().strip() or None,
            "durability": str(self.durability.currentData()),
        }

    def changes(self) -> dict[str, Any]:
        """What the technician changed; never a setting the policy sets."""
        return {
            k: v
            for k, v in self.values().items()
            if k not in self.locked and getattr(self.initial, k) != v
        }

    def _check_redis(self) -> bool:
        problem = redis_url_problem(self.redis_url.text().strip())
        self.redis_url.setProperty("invalid", problem is not None)
        self.redis_url.style().unpolish(self.redis_url)
        self.redis_url.style().polish(self.redis_url)
        self.save_button.setEnabled(problem is None)
        self._show_error(problem)
        return problem is None

    def _show_error(self, text: str | None) -> None:
        self.error.setText(text or "")
        self.error.setVisible(bool(text))

    # -- saving ---------------------------------------------------------------------------
    def save(self) -> None:
        if not self._check_redis():
            return
        changes = self.changes()
        if not changes:
            self.accept()
            return
        self.save_button.setEnabled(False)
        self.service.update_settings(changes, self._saved, self._refused)

    def _saved(self, settings: Settings) -> None:
        self.initial = settings
        if self.autostart is not None and self.autostart.is_enabled() != settings.start_at_login:
            autostart = self.autostart
            self.service.run(
                asyncio.to_thread(set_enabled, autostart, settings.start_at_login),
                lambda _: self._finish(settings),
                lambda exc: self._refused(exc, "Start at login could not be changed: "),
            )
            return
        self._finish(settings)

    def _finish(self, settings: Settings) -> None:
        self.save_button.setEnabled(True)
        self.saved.emit(settings)
        self.accept()

    def _refused(self, exc: BaseException, prefix: str = "") -> None:
        self.save_button.setEnabled(True)
        self._show_error(prefix + str(exc))

    # -- signing out --------------------------------------------------------------------------
    def ask_sign_out(self) -> None:
        status = self.service.last_status
        unsent = (status.pending + status.needs_attention) if status else 0
        dialog = SignOutDialog(unsent, self)
        self.sign_out_dialog = dialog
        dialog.accepted.connect(lambda: self.sign_out(dialog.wipe.isChecked()))
        dialog.open()

    def sign_out(self, wipe: bool) -> None:
        self.sign_out_button.setEnabled(False)
        self.service.run(
            self.service.agent.sign_out(wipe_local_data=wipe),
            lambda _: self._signed_out(wipe),
            self._refused,
        )

    def _signed_out(self, wipe: bool) -> None:
        self.signedOut.emit(wipe)
        self.accept()
