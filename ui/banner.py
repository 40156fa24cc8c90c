"""A one-line notice across the top of the window (offline, paused, needs attention, no tray)
with the one action that resolves it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from ui import icons, style

ICONS = {
    "info": "info",
    "offline": "offline",
    "paused": "pause",
    "attention": "warning",
    "error": "error",
}


class Banner(QFrame):
    """Shown with `show_notice(kind, text, action)`; `actionTriggered` carries the action id."""

    actionTriggered = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Banner")
        self.kind = ""
        self.action_id = ""
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 9, 10, 9)
        row.setSpacing(10)
        self.icon = QLabel()
        self.icon.setFixedSize(18, 18)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.button = QPushButton()
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.button.clicked.connect(lambda: self.actionTriggered.emit(self.action_id))
        row.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.text, 1)
        row.addWidget(self.button)
        self.hide()

    def show_notice(self, kind: str, text: str, action_id: str = "", action_text: str = "") -> None:
        bg, border, fg = style.BANNERS[kind]
        self.kind, self.action_id = kind, action_id
        self.setStyleSheet(
            f"#Banner {{ background: {bg}; border: 1px solid {border}; border-radius: 8px; }}"
            f"#Banner QLabel {{ color: {fg}; background: transparent; border: none; }}"
            f"#Banner QPushButton {{ background: white; border: 1px solid {border}; color: {fg};"
            " font-weight: 600; padding: 4px 12px; border-radius: 6px; }"
        )
        self.icon.setPixmap(icons.pixmap(ICONS[kind], 18, fg, 0.0, icons.device_pixel_ratio()))
        self.text.setText(text)
        self.button.setText(action_text)
        self.button.setVisible(bool(action_id))
        self.show()

    def clear(self) -> None:
        self.kind = self.action_id = ""
        self.hide()


Notice = tuple[str, str, str, str]  # kind, text, action id, action label


def notice_for(status: object) -> Notice | None:
    """The banner a status calls for, if any (most urgent first)."""
    from agent.api.types import AgentStatus

    assert isinstance(status, AgentStatus)
    if not status.signed_in:
        return ("error", "Field Sync is not signed in to Autotask.", "sign_in", "Sign in…")
    if status.state.value == "error":
        return ("error", status.reason, "sign_in", "Sign in again…")
    if status.paused:
        return (
            "paused",
            "Syncing is paused. Your changes are kept and sent when you resume.",
            "resume",
            "Resume",
        )
    if status.work_offline:
        return (
            "offline",
            "You are working offline. Changes are saved on this computer and sent when you go "
            "back online.",
            "go_online",
            "Go online",
        )
    if status.connection_problem:  # reached, but refused: the certificate is not trusted
        return ("offline", status.connection_problem, "retry", "Try now")
    if not status.online:
        return (
            "offline",
            "Autotask cannot be reached. Your changes are kept and sent when the connection "
            "returns.",
            "retry",
            "Try now",
        )
    if status.conflicts:
        n = status.conflicts
        text = (
            f"{n} field{'s' if n != 1 else ''} changed both here and in Autotask. "
            "Choose which value to keep."
        )
        return ("attention", text, "conflicts", "Review conflicts")
    if status.needs_attention:
        n = status.needs_attention
        text = (
            f"{n} change{'s' if n != 1 else ''} could not be sent and "
            f"need{'s' if n == 1 else ''} your attention."
        )
        return ("attention", text, "queue", "Open queue")
    return None
