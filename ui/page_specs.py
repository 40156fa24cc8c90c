"""Which pages the main window holds: `ui.pages` when it is there (imported all at once, or page
by page when the window defers the pages it does not show first), placeholders when it is not.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ui import style

PageSpec = tuple[str, str, type[QWidget]]
PageEntry = tuple[str, str, str, Callable[[], type[QWidget]]]  # title, icon, id, class loader
DEFAULT_PAGES = (
    ("Today", "today"),
    ("My work", "mywork"),
    ("Queue", "queue"),
    ("Conflicts", "conflicts"),
    ("Health", "health"),
    ("Audit", "audit"),
)


def available_pages() -> Sequence[PageSpec] | None:
    """`ui.pages.PAGES`, or None while the pages package is missing."""
    try:
        from ui.pages import PAGES
    except ImportError:
        return None
    return PAGES


def page_entries(specs: Sequence[PageSpec] | None, lazy: bool) -> list[PageEntry] | None:
    """The pages to add; with `lazy` and no `specs`, without importing the page modules yet."""
    if specs is None and lazy:
        try:
            from ui.pages import ORDER, page_class
        except ImportError:
            return None
        return [(title, pid, pid, functools.partial(page_class, pid)) for title, pid in ORDER]
    specs = specs if specs is not None else available_pages()
    if specs is None:
        return None
    return [
        (title, icon, str(getattr(cls, "page_id", icon)), lambda c=cls: c)
        for title, icon, cls in specs
    ]


class PlaceholderPage(QWidget):
    """Stands in for a page that is not available in this build."""

    def __init__(self, page_id: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page_id = page_id
        box = QVBoxLayout(self)
        label = QLabel(f"{title}\n\nThis page is not available in this build.")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setStyleSheet(f"color: {style.MUTED}; font-size: 14px;")
        box.addWidget(label)

    def activate(self) -> None:
        pass


__all__ = [
    "DEFAULT_PAGES",
    "PageEntry",
    "PageSpec",
    "PlaceholderPage",
    "available_pages",
    "page_entries",
]
