"""The main window's left column: the app's name, the page list with counts, and a card saying
how syncing is going with the "Sync now" button."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from agent.api.types import AgentStatus
from ui import icons, style, wording

NAV_QSS = f"""
#NavButton {{ border: none; border-radius: 7px; background: transparent; text-align: left;
    padding: 0px; min-height: 34px; }}
#NavButton:hover {{ background: #E6E9EE; }}
#NavButton:checked {{ background: {style.SURFACE}; border: 1px solid {style.BORDER}; }}
#NavTitle {{ font-size: 13px; color: #374151; }}
#NavTitle[current="true"] {{ color: {style.TEXT}; font-weight: 600; }}
#NavCount {{ border-radius: 9px; padding: 0px 7px; font-size: 11px; font-weight: 600;
    background: #E5E7EB; color: #374151; }}
#NavCount[tone="alert"] {{ background: #FEE2E2; color: #991B1B; }}
"""


class NavButton(QPushButton):
    """One page in the list: icon, title and a count pill (hidden at zero)."""

    def __init__(self, page_id: str, title: str, icon_name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.page_id = page_id
        self.icon_name = icon_name
        self.setObjectName("NavButton")
        self.setCheckable(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAccessibleName(title)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 10, 6)
        row.setSpacing(10)
        self.icon_label = QLabel()
        self.icon_label.setFixedSize(QSize(18, 18))
        self.title = QLabel(title, objectName="NavTitle")
        self.count = QLabel(objectName="NavCount")
        self.count.hide()
        for label in (self.icon_label, self.title, self.count):
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        row.addWidget(self.icon_label)
        row.addWidget(self.title, 1)
        row.addWidget(self.count)
        self.toggled.connect(self._paint_state)
        self._paint_state(False)

    def _paint_state(self, checked: bool) -> None:
        color = style.ACCENT if checked else "#4B5563"
        self.icon_label.setPixmap(
            icons.pixmap(self.icon_name, 18, color, 0.0, icons.device_pixel_ratio())
        )
        self.title.setProperty("current", checked)
        self.title.style().unpolish(self.title)
        self.title.style().polish(self.title)

    def set_count(self, n: int | None, alert: bool = False) -> None:
        if not n:
            self.count.hide()
            return
        self.count.setText(str(n) if n < 10_000 else f"{n // 1000}k")
        self.count.setProperty("tone", "alert" if alert else "")
        self.count.style().unpolish(self.count)
        self.count.style().polish(self.count)
        self.count.show()


class StateCard(QFrame):
    """Where syncing stands, in a sentence, with "Sync now"."""

    syncNow = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StateCard")
        box = QVBoxLayout(self)
        box.setContentsMargins(12, 12, 12, 12)
        box.setSpacing(8)
        head = QHBoxLayout()
        head.setSpacing(10)
        self.icon = QLabel()
        self.icon.setFixedSize(28, 28)
        words = QVBoxLayout()
        words.setSpacing(1)
        self.title = QLabel("Starting…", objectName="StateTitle")
        self.title.setWordWrap(True)
        self.detail = QLabel("", objectName="StateDetail")
        self.detail.setWordWrap(True)
        words.addWidget(self.title)
        words.addWidget(self.detail)
        head.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        head.addLayout(words, 1)
        box.addLayout(head)
        self.sync_button = QPushButton(icons.icon("sync", "#FFFFFF"), "  Sync now")
        self.sync_button.setProperty("primary", True)
        self.sync_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.sync_button.clicked.connect(self.syncNow)
        box.addWidget(self.sync_button)
        self.set_state_icon("syncing")

    def set_state_icon(self, state: str, frame: int = 0) -> None:
        angle = (frame % icons.SPIN_FRAMES) * 180.0 / icons.SPIN_FRAMES if state == "syncing" else 0
        self.icon.setPixmap(
            icons.pixmap(f"state-{state}", 28, None, angle, icons.device_pixel_ratio())
        )

    def show_status(self, status: AgentStatus, now: float | None = None) -> None:
        self.set_state_icon(status.state.value)
        self.title.setText(wording.STATE_TITLES[status.state])
        self.detail.setText(wording.last_synced(status, now))
        self.sync_button.setEnabled(status.signed_in and not status.work_offline)


class Sidebar(QWidget):
    pageChosen = Signal(str)
    settingsRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Sidebar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.setStyleSheet(NAV_QSS)
        self.setFixedWidth(232)
        box = QVBoxLayout(self)
        box.setContentsMargins(14, 16, 14, 14)
        box.setSpacing(4)
        brand = QHBoxLayout()
        brand.setSpacing(10)
        logo = QLabel()
        logo.setPixmap(icons.pixmap("app", 30, None, 0.0, icons.device_pixel_ratio()))
        names = QVBoxLayout()
        names.setSpacing(0)
        names.addWidget(QLabel("Field Sync", objectName="AppTitle"))
        names.addWidget(QLabel("for Autotask", objectName="AppSubtitle"))
        brand.addWidget(logo)
        brand.addLayout(names, 1)
        box.addLayout(brand)
        self.demo_badge = QLabel("DEMO TENANT", objectName="DemoBadge")
        self.demo_badge.setToolTip(
            "You are connected to the built-in demo tenant: a simulated dispatcher edits tickets "
            "too, so you can go offline, change a ticket, come back and meet a real conflict."
        )
        self.demo_badge.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.demo_badge.hide()
        box.addSpacing(4)
        box.addWidget(self.demo_badge)
        box.addSpacing(12)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[str, NavButton] = {}
        self._nav = QVBoxLayout()
        self._nav.setSpacing(2)
        box.addLayout(self._nav)
        box.addStretch(1)
        self.card = StateCard()
        box.addWidget(self.card)
        self.settings_button = QPushButton(icons.icon("settings", "#4B5563"), "  Settings")
        self.settings_button.setProperty("flat", True)
        self.settings_button.setStyleSheet("color: #374151; text-align: left; padding-left: 6px;")
        self.settings_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.settings_button.clicked.connect(self.settingsRequested)
        box.addSpacing(4)
        box.addWidget(self.settings_button)

    def add_page(self, page_id: str, title: str, icon_name: str) -> NavButton:
        button = NavButton(page_id, title, icon_name)
        button.clicked.connect(lambda: self.pageChosen.emit(page_id))
        self.group.addButton(button)
        self.buttons[page_id] = button
        self._nav.addWidget(button)
        return button

    def select(self, page_id: str) -> None:
        button = self.buttons.get(page_id)
        if button is not None:
            button.setChecked(True)
