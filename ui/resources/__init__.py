"""Where the window's files (the SVG icons) are: the repository's top-level `resources/` folder,
which the frozen program carries at the same relative place (packaging/fieldsync.spec)."""

from __future__ import annotations

import sys
from pathlib import Path


def _root() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen is not None:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


ROOT = _root()
ICONS = ROOT / "icons"


def icon_file(name: str) -> Path:
    """The SVG of icon `name` (it may not exist; callers fall back)."""
    return ICONS / f"{name}.svg"
