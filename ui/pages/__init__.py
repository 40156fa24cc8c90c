"""The pages of the main window, in sidebar order: `PAGES` = [(title, icon name, page class)].

`PAGES` is built on first access: the page modules import the dialogs, which share this
package's building blocks, so importing them all here eagerly would be circular.
`ORDER` names the same pages without importing them, and `page_class` imports one: the window
opens with its first page and builds the others after it shows.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ORDER", "PAGES", "page_class"]

# (title, page id = icon name, module, class)
_SPECS = (
    ("Today", "today", "ui.pages.today", "TodayPage"),
    ("My work", "mywork", "ui.pages.mywork", "MyWorkPage"),
    ("Queue", "queue", "ui.pages.queue", "QueuePage"),
    ("Conflicts", "conflicts", "ui.pages.conflicts", "ConflictsPage"),
    ("Health", "health", "ui.pages.health", "HealthPage"),
    ("Audit", "audit", "ui.pages.audit", "AuditPage"),
)
ORDER: tuple[tuple[str, str], ...] = tuple((title, page_id) for title, page_id, _, _ in _SPECS)


def page_class(page_id: str) -> type[Any]:
    """The class of one page, importing its module (KeyError for an unknown id)."""
    for _, pid, module, name in _SPECS:
        if pid == page_id:
            cls: type[Any] = getattr(importlib.import_module(module), name)
            return cls
    raise KeyError(page_id)


def _pages() -> list[tuple[str, str, type[Any]]]:
    return [(title, page_id, page_class(page_id)) for title, page_id in ORDER]


def __getattr__(name: str) -> Any:
    if name == "PAGES":
        pages = _pages()
        globals()["PAGES"] = pages
        return pages
    raise AttributeError(name)
