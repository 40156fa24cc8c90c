"""The pages of the main window, in sidebar order: `PAGES` = [(title, icon name, page class)].

`PAGES` is built on first access: the page modules import the dialogs, which share this
package's building blocks, so importing them all here eagerly would be circular.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PAGES"]


def _pages() -> list[tuple[str, str, type[Any]]]:
    from ui.pages.audit import AuditPage
    from ui.pages.conflicts import ConflictsPage
    from ui.pages.health import HealthPage
    from ui.pages.mywork import MyWorkPage
    from ui.pages.queue import QueuePage

    return [
        ("My work", "mywork", MyWorkPage),
        ("Queue", "queue", QueuePage),
        ("Conflicts", "conflicts", ConflictsPage),
        ("Health", "health", HealthPage),
        ("Audit", "audit", AuditPage),
    ]


def __getattr__(name: str) -> Any:
    if name == "PAGES":
        pages = _pages()
        globals()["PAGES"] = pages
        return pages
    raise AttributeError(name)
