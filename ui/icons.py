"""Icons drawn from the SVG files in resources/icons, crisp at any device pixel ratio.

Each icon is rendered with QSvgRenderer straight into a pixmap of the physical size (logical size
times the screen's device pixel ratio) instead of scaling a bitmap, so the tray and sidebar stay
sharp on high-DPI screens. Line icons use `currentColor`, replaced here so one file serves every
theme colour. The syncing tray icon turns: its arrows are re-rendered at a series of angles.
"""

from __future__ import annotations

import functools
import re

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QGuiApplication, QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from agent.api.types import SyncState
from ui.resources import icon_file

TRAY_SIZES = (16, 20, 22, 24, 32, 48, 64)
SPIN_FRAMES = 12  # the arrows have two-fold symmetry: 12 frames turn them half a circle
_ROTATE = re.compile(r"rotate\(0 ")


def state_icon_name(state: SyncState | str) -> str:
    return f"state-{SyncState(state).value}"


@functools.lru_cache(maxsize=64)
def svg_text(name: str) -> str:
    path = icon_file(name)
    if not path.exists():
        path = icon_file("info")
    return path.read_text(encoding="utf-8")


def _svg(name: str, color: str | None, angle: float) -> bytes:
    text = svg_text(name)
    if color is not None:
        text = text.replace("currentColor", color)
    if angle:
        text = _ROTATE.sub(f"rotate({angle:.2f} ", text, count=1)
    return text.encode("utf-8")


def device_pixel_ratio() -> float:
    app = QGuiApplication.instance()
    screen = QGuiApplication.primaryScreen() if app is not None else None
    return float(screen.devicePixelRatio()) if screen is not None else 1.0


@functools.lru_cache(maxsize=512)
def pixmap(
    name: str, size: int, color: str | None = None, angle: float = 0.0, dpr: float = 1.0
) -> QPixmap:
    """`name` rendered to a `size`×`size` logical pixmap at device pixel ratio `dpr`."""
    physical = max(1, round(size * dpr))
    image = QPixmap(physical, physical)
    image.fill(Qt.GlobalColor.transparent)
    renderer = QSvgRenderer(QByteArray(_svg(name, color, angle)))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, physical, physical))
    painter.end()
    image.setDevicePixelRatio(dpr)
    return image


def icon(name: str, color: str | None = None, sizes: tuple[int, ...] = (16, 20, 24, 32)) -> QIcon:
    """A QIcon holding `name` at several sizes for the current screen's pixel ratio."""
    dpr = device_pixel_ratio()
    result = QIcon()
    for size in sizes:
        result.addPixmap(pixmap(name, size, color, 0.0, dpr))
    return result


def tray_icon(state: SyncState | str, frame: int = 0, pending: int = 0) -> QIcon:
    """The tray icon of `state`; `frame` turns the syncing arrows (0..SPIN_FRAMES-1); a
    `pending` count above zero is shown as a badge in the corner ("99+" beyond 99)."""
    name = state_icon_name(state)
    angle = (frame % SPIN_FRAMES) * (180.0 / SPIN_FRAMES) if name == "state-syncing" else 0.0
    dpr = device_pixel_ratio()
    result = QIcon()
    for size in TRAY_SIZES:
        image = pixmap(name, size, None, angle, dpr)
        if pending > 0:
            image = image.copy()  # the rendered icon is cached: draw on a copy
            _badge(image, "99+" if pending > 99 else str(pending))
        result.addPixmap(image)
    return result


def _badge(image: QPixmap, text: str) -> None:
    """A count in a small rounded label at the lower right of `image`."""
    side = image.width() / image.devicePixelRatio()  # logical pixels, as the painter draws
    height = max(8, int(side * 0.5))
    font = QFont()
    font.setBold(True)
    font.setPixelSize(max(6, int(height * 0.8)))
    width = min(side, max(height, QFontMetrics(font).horizontalAdvance(text) + height // 2))
    box = QRectF(side - width, side - height, width, height)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#1d4ed8"))
    painter.drawRoundedRect(box, height / 2, height / 2)
    painter.setPen(QColor("white"))
    painter.setFont(font)
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
    painter.end()


def app_icon() -> QIcon:
    return icon("app", sizes=(16, 24, 32, 48, 64, 128, 256))
