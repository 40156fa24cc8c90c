"""Files the window ships with (SVG icons, the style sheet), found next to this module."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent
ICONS = ROOT / "icons"


def icon_file(name: str) -> Path:
    """The SVG of icon `name` (it may not exist; callers fall back)."""
    return ICONS / f"{name}.svg"
