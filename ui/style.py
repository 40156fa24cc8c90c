"""The look of the window: one palette of colours and the application style sheet built from it."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from agent.api.types import SyncState
from ui.resources import icon_file

ACCENT = "#2563EB"
ACCENT_DARK = "#1D4ED8"
TEXT = "#111827"
MUTED = "#6B7280"
BORDER = "#E5E7EB"
WINDOW = "#F7F8FA"
SURFACE = "#FFFFFF"
SIDEBAR = "#F1F3F6"
SUCCESS = "#16A34A"
WARNING = "#D97706"
DANGER = "#DC2626"
NEUTRAL = "#64748B"

STATE_COLORS: dict[SyncState, str] = {
    SyncState.SYNCED: SUCCESS,
    SyncState.SYNCING: ACCENT,
    SyncState.OFFLINE: "#6B7280",
    SyncState.PAUSED: NEUTRAL,
    SyncState.ATTENTION: WARNING,
    SyncState.ERROR: DANGER,
}

# Banner kinds -> (background, border, text colour).
BANNERS: dict[str, tuple[str, str, str]] = {
    "info": ("#EFF6FF", "#BFDBFE", "#1E3A8A"),
    "offline": ("#F3F4F6", "#D1D5DB", "#1F2937"),
    "paused": ("#F1F5F9", "#CBD5E1", "#1E293B"),
    "attention": ("#FFFBEB", "#FCD34D", "#78350F"),
    "error": ("#FEF2F2", "#FECACA", "#7F1D1D"),
}

_UP = icon_file("chevron-up").as_posix()
_DOWN = icon_file("chevron-down").as_posix()

STYLE_SHEET = f"""
QMainWindow, QDialog {{ background: {WINDOW}; }}
QWidget {{ color: {TEXT}; }}
QToolTip {{ background: {TEXT}; color: white; border: none; padding: 4px 6px; }}

#Sidebar {{ background: {SIDEBAR}; border-right: 1px solid {BORDER}; }}
#AppTitle {{ font-size: 15px; font-weight: 600; }}
#AppSubtitle {{ color: {MUTED}; font-size: 11px; }}
#DemoBadge {{ background: #EDE9FE; color: #5B21B6; border: 1px solid #DDD6FE;
    border-radius: 9px; padding: 1px 8px; font-size: 11px; font-weight: 600; }}
#PageList {{ background: transparent; border: none; outline: 0; }}
#PageList::item {{ border-radius: 6px; padding: 0px; margin: 1px 0px; }}
#StateCard {{ background: {SURFACE}; border: 1px solid {BORDER}; border-radius: 10px; }}
#StateTitle {{ font-weight: 600; }}
#StateDetail {{ color: {MUTED}; font-size: 11px; }}

QPushButton {{ background: {SURFACE}; border: 1px solid #D1D5DB; border-radius: 6px;
    padding: 5px 12px; min-height: 18px; }}
QPushButton:hover {{ background: #F3F4F6; }}
QPushButton:pressed {{ background: #E5E7EB; }}
QPushButton:disabled {{ color: #9CA3AF; background: #F9FAFB; }}
QPushButton[primary="true"] {{ background: {ACCENT}; color: white; border: 1px solid {ACCENT_DARK};
    font-weight: 600; }}
QPushButton[primary="true"]:hover {{ background: {ACCENT_DARK}; }}
QPushButton[primary="true"]:disabled {{ background: #93C5FD; border-color: #93C5FD; }}
QPushButton[danger="true"] {{ color: {DANGER}; }}
QPushButton[flat="true"] {{ border: none; background: transparent; color: {ACCENT};
    font-weight: 600; padding: 4px 8px; }}

QLineEdit, QSpinBox, QDoubleSpinBox, QComboBox {{ background: {SURFACE}; border: 1px solid #D1D5DB;
    border-radius: 6px; padding: 5px 8px; min-height: 18px; selection-background-color: {ACCENT}; }}
QLineEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus, QComboBox:focus {{
    border: 1px solid {ACCENT}; }}
QLineEdit[invalid="true"] {{ border: 1px solid {DANGER}; }}
QSpinBox, QDoubleSpinBox {{ padding-right: 22px; }}
QSpinBox::up-button, QDoubleSpinBox::up-button {{ subcontrol-origin: border;
    subcontrol-position: top right; width: 20px; border: none; border-left: 1px solid {BORDER};
    border-top-right-radius: 6px; background: #F9FAFB; }}
QSpinBox::down-button, QDoubleSpinBox::down-button {{ subcontrol-origin: border;
    subcontrol-position: bottom right; width: 20px; border: none; border-left: 1px solid {BORDER};
    border-bottom-right-radius: 6px; background: #F9FAFB; }}
QSpinBox::up-button:hover, QDoubleSpinBox::up-button:hover,
QSpinBox::down-button:hover, QDoubleSpinBox::down-button:hover {{ background: #EEF2F7; }}
QSpinBox::up-arrow, QDoubleSpinBox::up-arrow {{ image: url({_UP}); width: 9px; height: 9px; }}
QSpinBox::down-arrow, QDoubleSpinBox::down-arrow {{ image: url({_DOWN}); width: 9px;
    height: 9px; }}
QComboBox {{ padding-right: 26px; }}
QComboBox::drop-down {{ subcontrol-origin: padding; subcontrol-position: center right;
    width: 24px; border: none; background: transparent; }}
QComboBox::down-arrow {{ image: url({_DOWN}); width: 11px; height: 11px; }}
QComboBox QAbstractItemView {{ background: {SURFACE}; border: 1px solid {BORDER};
    selection-background-color: #EFF6FF; selection-color: {TEXT}; outline: 0; }}
QCheckBox {{ spacing: 8px; }}
QGroupBox {{ font-weight: 600; border: 1px solid {BORDER}; border-radius: 8px; margin-top: 14px;
    padding: 14px 12px 10px 12px; background: {SURFACE}; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; }}
#FieldHelp {{ color: {MUTED}; font-size: 11px; }}
#DialogTitle {{ font-size: 17px; font-weight: 600; }}
#DialogLead {{ color: {MUTED}; }}

QStatusBar {{ background: {SURFACE}; border-top: 1px solid {BORDER}; color: {MUTED}; }}
QStatusBar::item {{ border: none; }}
#StatusText {{ color: #374151; padding: 0 6px; }}
QProgressBar {{ border: 1px solid {BORDER}; border-radius: 5px; background: #EEF2F7;
    max-height: 10px; text-align: center; font-size: 1px; color: transparent; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 4px; }}

QMenu {{ background: {SURFACE}; border: 1px solid {BORDER}; padding: 5px; }}
QMenu::item {{ padding: 6px 22px 6px 10px; border-radius: 5px; }}
QMenu::item:selected {{ background: #EFF6FF; color: {TEXT}; }}
QMenu::item:disabled {{ color: {MUTED}; }}
QMenu::separator {{ height: 1px; background: {BORDER}; margin: 4px 6px; }}
"""


def apply(app: QApplication) -> None:
    """Give the application its font, palette and style sheet (Fusion: the same on every OS)."""
    app.setStyle("Fusion")
    font = QFont(app.font())
    if font.pointSizeF() < 9.5:
        font.setPointSizeF(9.5)
    app.setFont(font)
    palette = app.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor(WINDOW))
    palette.setColor(QPalette.ColorRole.Base, QColor(SURFACE))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#FFFFFF"))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(TEXT))
    palette.setColor(QPalette.ColorRole.Text, QColor(TEXT))
    app.setPalette(palette)
    app.setStyleSheet(STYLE_SHEET)
