"""The window a start without a usable system keyring shows: what is wrong, what to do, and, only
if the technician asks for it, the explicit choice to keep this run's data unencrypted."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ui import icons
from ui.dialogs.fit import keep_on_screen

TITLE = "No system keyring"
LEAD = (
    "Field Sync keeps your Autotask credentials and the key that encrypts your tickets in the "
    "system keyring, and none can be used on this computer right now."
)
WHAT_TO_DO = (
    "<b>What to do:</b> unlock your keyring (or log in to the desktop session again), or install "
    "one (GNOME Keyring or KWallet on Linux), then start Field Sync again.<br><br>"
    "<b>Or, for this run only:</b> continue <b>without encryption</b>. Tickets and changes are "
    "then kept unencrypted in your user folder on this computer, readable by anyone who can read "
    "your files, and you will have to sign in each time."
)


class KeyringDialog(QDialog):
    """Quit (the default) or continue unencrypted for this run; Escape quits."""

    CONTINUE = 2  # the result when the technician chose to continue unencrypted

    def __init__(self, detail: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.setWindowIcon(icons.app_icon())
        self.setMinimumWidth(520)
        box = QVBoxLayout(self)
        box.setContentsMargins(22, 20, 22, 16)
        box.setSpacing(12)
        box.addWidget(QLabel("Field Sync cannot protect your data", objectName="DialogTitle"))
        self.lead = QLabel(LEAD + (f" ({detail})" if detail else ""), objectName="DialogLead")
        self.lead.setWordWrap(True)
        self.lead.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.lead)
        self.help = QLabel(WHAT_TO_DO)
        self.help.setTextFormat(Qt.TextFormat.RichText)
        self.help.setWordWrap(True)
        box.addWidget(self.help)
        row = QHBoxLayout()
        self.unencrypted_button = QPushButton("Continue without encryption for this run")
        self.unencrypted_button.clicked.connect(lambda: self.done(self.CONTINUE))
        self.quit_button = QPushButton("Quit")
        self.quit_button.setProperty("primary", True)
        self.quit_button.setDefault(True)
        self.quit_button.clicked.connect(self.reject)
        row.addWidget(self.unencrypted_button)
        row.addStretch(1)
        row.addWidget(self.quit_button)
        box.addLayout(row)
        keep_on_screen(self)

    @property
    def chose_unencrypted(self) -> bool:
        return self.result() == self.CONTINUE
