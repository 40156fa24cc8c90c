"""Opens the real main window on a screen of a chosen size and scale (the offscreen platform
with a screen configuration, QT_SCALE_FACTOR for the scaling) and prints what a technician would
see as JSON: the window's frame against the screen, My work's columns, the ticket page's place,
whether the Log-time form can be reached and whether any page's controls are squeezed. Run as a
child process by test_layout_sizes.py, since a screen's size and scale are fixed when Qt starts.

    python -m tests.ui.layout_probe --memory window.ini --data DIR [--arrange JSON]
        [--sizes] [--remember JSON] [--reopen]

--arrange: move, resize and drag at once, then quit (no ticket opened).
--sizes: also lay the window out at 1180x760 (the size the window once opened at) and at a
  tall narrow 1100x1000 (the ticket's page below the list).
--remember: after the rest, open a ticket, move, resize and drag as JSON says, then quit (the
  window keeps its layout).
--reopen: only open the window as it was left and open a ticket (what came back).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory", required=True, help="the window's layout file")
    parser.add_argument("--data", required=True, help="a fresh data folder")
    parser.add_argument("--arrange", default="", help="JSON: move, resize and drag, then quit")
    parser.add_argument("--sizes", action="store_true", help="also at 1180x760 and 1100x1000")
    parser.add_argument("--remember", default="", help="JSON: arrange with a ticket open, quit")
    parser.add_argument("--reopen", action="store_true", help="open as left, with a ticket")
    args = parser.parse_args(argv)
    steps = {
        "arrange": json.loads(args.arrange or "{}"),
        "remember": json.loads(args.remember or "{}"),
        "sizes": args.sizes,
        "reopen": args.reopen,
    }

    import keyring

    from tests.keyring_backend import MemoryKeyring
    from ui.app import make_application
    from ui.loop import new_event_loop

    keyring.set_keyring(MemoryKeyring())  # a child has no keyring of its own
    app = make_application()  # the program's style and fonts
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    try:
        result = loop.run_until_complete(probe(Path(args.memory), Path(args.data), steps))
    finally:
        loop.close()
    print(json.dumps(result))
    return 0


async def until(predicate: Any, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the window did not reach the state in time")
        await asyncio.sleep(0.01)


async def probe(memory_path: Path, data: Path, steps: dict[str, Any]) -> dict[str, Any]:
    from agent.api.facade import Agent
    from agent.clock import FakeClock
    from agent.simulator import Simulator
    from tests.e2e.conftest import options
    from ui.mainwindow import MainWindow
    from ui.service import AgentService
    from ui.window_state import WindowMemory

    clock = FakeClock()
    sim = Simulator(seed="ui-layout", tickets=60, clock=clock)
    sim.limits.latency_enabled = False
    agent = await Agent.open(options(sim, clock, data))
    service = AgentService(agent)
    try:
        report = await agent.sync_now()
        assert report is not None and report.error is None, report
        window = MainWindow(service, tray_available=False, memory=WindowMemory(memory_path))
        window.bring_forward("mywork")
        page: Any = window.pages["mywork"]
        await until(lambda: page.model.rowCount() > 0)
        await asyncio.sleep(0.05)
        opened = {**window_facts(window), **splitter_and_columns(page)}
        ticket = (await agent.my_tickets())[0]
        if steps["arrange"]:
            await do_arrange(window, page, steps["arrange"])
            arranged = {**window_facts(window), **splitter_and_columns(page)}
            window.hide()  # as quitting does: the layout is kept
            return {"opened": opened, "arranged": arranged, "layout": page.layout_state()}
        if steps["reopen"]:
            await open_ticket(page, ticket.id)
            reopened = {**window_facts(window), **splitter_and_columns(page)}
            window.hide()
            return {"opened": opened, "with_ticket": reopened, "layout": page.layout_state()}
        fill(window)  # as large as the screen lets it be, as a maximised window is
        await asyncio.sleep(0.05)
        statuses = (await agent.picklists("Tickets"))["status"]
        changed = next(s for s in statuses if s != ticket.status)
        # Waiting to be sent: the rows' labels carry a "pending" chip, as after a change offline.
        await agent.update_ticket(ticket.id, status=changed, description="Checked on site.")
        await open_ticket(page, ticket.id)
        facts = {
            "opened": opened,
            "filled": window_facts(window),
            "mode": getattr(page, "mode", "side"),
            "with_ticket": list_facts(page),
            "log_time": log_time_facts(window, page),
            "squeezed": await squeezed_controls(window),
            "layout": page.layout_state(),
        }
        window.show_page("mywork")
        getattr(page, "show_list", lambda: None)()
        await asyncio.sleep(0.05)
        facts["list_alone"] = list_facts(page)
        if steps["sizes"]:
            facts["sizes"] = {}
            for name, (width, height) in (("1180x760", (1180, 760)), ("1100x1000", (1100, 1000))):
                window.resize(width, height)
                await asyncio.sleep(0.05)
                await open_ticket(page, ticket.id)
                facts["sizes"][name] = {
                    "window": [window.width(), window.height()],
                    "mode": page.mode,
                    "with_ticket": list_facts(page),
                    "panel": placed(page.panel, window),
                    "list": placed(page.table, window),
                }
        if steps["remember"]:
            await open_ticket(page, ticket.id)
            await do_arrange(window, page, steps["remember"])
            facts["arranged"] = {**window_facts(window), **splitter_and_columns(page)}
            facts["layout"] = page.layout_state()
        window.hide()  # as quitting does: the layout is kept
        return facts
    finally:
        await service.shutdown()
        await agent.close()


async def open_ticket(page: Any, ticket_id: int) -> None:
    """As a click on its row does (on a narrow page the ticket then takes the list's place)."""
    page.select_ticket(ticket_id)
    if getattr(page, "mode", "side") == "single":
        page.open_panel()
    await until(lambda: page.panel.detail is not None and page.panel.detail.id == ticket_id)
    await asyncio.sleep(0.05)


def placed(widget: Any, window: Any) -> list[int] | None:
    """The widget's rectangle in the window, None when it is not shown wholly inside it."""
    from PySide6.QtCore import QPoint

    if not inside_window(widget, window):
        return None
    at = widget.mapTo(window, QPoint(0, 0))
    return [at.x(), at.y(), widget.width(), widget.height()]


async def squeezed_controls(window: Any) -> dict[str, list[str]]:
    """Per page, the shown buttons, boxes and lists narrower than they need to be to be read
    ("S…" for a search box): each at least its minimum size hint, a text box at least 80 px."""
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractSpinBox,
        QComboBox,
        QLineEdit,
        QTabBar,
    )

    out: dict[str, list[str]] = {}
    for page_id in list(window.pages):
        window.show_page(page_id)
        await asyncio.sleep(0.05)
        page = window.pages[page_id]
        bad = []
        for kind in (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit):
            for w in page.findChildren(kind):
                if not w.isVisible() or w.window() is not window:
                    continue
                if isinstance(w.parent(), QTabBar | QAbstractSpinBox | QComboBox):
                    continue  # a part of another control (a tab bar's arrows, a box's text)
                need = w.minimumSizeHint().width()
                if isinstance(w, QLineEdit) and not w.isReadOnly():
                    need = max(need, 80)
                if w.width() < need:
                    text = w.text() if hasattr(w, "text") else ""
                    name = w.accessibleName() or text or w.objectName()
                    bad.append(f"{type(w).__name__} {name}: {w.width()} < {need}")
        out[page_id] = bad
    return out


def fill(window: Any) -> None:
    area = window.screen().availableGeometry()
    frame, inner = window.frameGeometry(), window.geometry()
    window.resize(
        area.width() - (frame.width() - inner.width()),
        area.height() - (frame.height() - inner.height()),
    )
    window.move(area.topLeft())


async def do_arrange(window: Any, page: Any, arrange: dict[str, Any]) -> None:
    from ui.models.tickets_model import COLUMNS

    if "geometry" in arrange:
        x, y, w, h = arrange["geometry"]
        window.resize(w, h)
        window.move(x, y)
        await asyncio.sleep(0.05)
    if "splitter" in arrange:
        page.splitter.setSizes(arrange["splitter"])
        page.splitter.splitterMoved.emit(arrange["splitter"][0], 1)
    head = page.table.horizontalHeader()
    for name, width in arrange.get("columns", {}).items():
        head.resizeSection(COLUMNS.index(name), width)  # as a drag on the header does
    await asyncio.sleep(0.05)


def splitter_and_columns(page: Any) -> dict[str, Any]:
    from ui.models.tickets_model import COLUMNS

    head = page.table.horizontalHeader()
    return {
        "splitter": page.splitter.sizes(),
        "columns": {
            name: head.sectionSize(c)
            for c, name in enumerate(COLUMNS)
            if not head.isSectionHidden(c)
        },
    }


def rect(r: Any) -> list[int]:
    return [r.x(), r.y(), r.width(), r.height()]


def window_facts(window: Any) -> dict[str, Any]:
    screen = window.screen()
    return {
        "frame": rect(window.frameGeometry()),
        "geometry": rect(window.geometry()),
        "available": rect(screen.availableGeometry()),
        "scale": screen.devicePixelRatio(),
    }


def inside_window(widget: Any, window: Any) -> bool:
    """The widget is shown and wholly inside the window's client area."""
    if not widget.isVisible():
        return False
    from PySide6.QtCore import QPoint, QRect

    top_left = widget.mapTo(window, QPoint(0, 0))
    return QRect(0, 0, window.width(), window.height()).contains(QRect(top_left, widget.size()))


def list_facts(page: Any) -> dict[str, Any] | None:
    from ui.models.tickets_model import COLUMNS, TITLE

    table = page.table
    if not table.isVisible():
        return None
    head = table.horizontalHeader()
    view = table.viewport().width()
    columns = {}
    for c, name in enumerate(COLUMNS):
        if head.isSectionHidden(c):
            continue
        x = head.sectionViewportPosition(c)
        columns[name] = [x, head.sectionSize(c)]
    return {
        "viewport": view,
        "title": head.sectionSize(TITLE),
        "columns": columns,
        "inside_window": inside_window(table, table.window()),
        "horizontal_scroll": table.horizontalScrollBar().maximum(),
    }


def log_time_facts(window: Any, page: Any) -> dict[str, Any]:
    """Each of the Log-time form's controls, scrolled to: inside the scroll area's viewport,
    no smaller than it needs to be, and the viewport itself inside the window."""
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtWidgets import QApplication, QScrollArea

    panel = page.panel
    sideways = {}
    for name in ("details", "notes", "time"):
        tab = getattr(panel, name)
        panel.tabs.setCurrentWidget(tab)
        QApplication.processEvents()
        bar = tab.horizontalScrollBar() if isinstance(tab, QScrollArea) else None
        sideways[name] = bar.maximum() if bar is not None else 0
    time_tab = panel.time
    panel.tabs.setCurrentWidget(time_tab)
    window.repaint()
    area = time_tab if isinstance(time_tab, QScrollArea) else None
    facts: dict[str, Any] = {
        "panel_inside_window": inside_window(panel, window),
        "scroll_area": area is not None,
        "sideways_scroll": sideways,
        "controls": {},
    }
    controls = {
        "date": time_tab.day,
        "from": time_tab.start,
        "to": time_tab.end,
        "hours": time_tab.hours,
        "role": time_tab.role,
        "summary": time_tab.summary,
        "cancel": time_tab.cancel,
        "save": time_tab.save,
    }
    for name, widget in controls.items():
        if not widget.isVisibleTo(time_tab):
            continue  # Cancel shows only while an entry is being edited
        if area is not None:  # scrolled to, as the technician would
            at = widget.mapTo(area.widget(), QPoint(0, 0))
            half_w, half_h = widget.width() // 2, widget.height() // 2
            area.ensureVisible(at.x() + half_w, at.y() + half_h, half_w + 1, half_h + 1)
            viewport = area.viewport()
        else:
            viewport = time_tab
        top_left = widget.mapTo(viewport, QPoint(0, 0))
        seen = QRect(0, 0, viewport.width(), viewport.height()).contains(
            QRect(top_left, widget.size())
        )
        hint = widget.minimumSizeHint()
        facts["controls"][name] = {
            "in_view": seen and inside_window(viewport, window),
            "squeezed": widget.width() < hint.width() or widget.height() < hint.height(),
        }
    return facts


if __name__ == "__main__":
    raise SystemExit(main())
