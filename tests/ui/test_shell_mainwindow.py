"""The main window: pages with counts, the status bar, the first download's progress, banners
with their actions, hiding to the tray, and the window fallback when there is no tray."""

from __future__ import annotations

import dataclasses
import sys

import pytest
from PySide6.QtWidgets import QSystemTrayIcon

from agent.api.types import AgentStatus, SyncState
from tests.ui.conftest import Shell
from ui import app as ui_app
from ui.mainwindow import NO_TRAY_TEXT, MainWindow, PlaceholderPage
from ui.signin import SignInDialog

NOW = 1_800_000_000.0


def status(**changes: object) -> AgentStatus:
    base = AgentStatus(
        state=SyncState.SYNCED,
        mode="normal",
        online=True,
        paused=False,
        work_offline=False,
        pending=0,
        needs_attention=0,
        conflicts=0,
        last_sync_at=NOW - 125,
        last_error=None,
        signed_in=True,
        demo=False,
        first_sync_done=True,
        reason="Everything is synced.",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def window(shell: Shell, qtbot) -> MainWindow:
    window = MainWindow(shell.service, now=lambda: NOW)
    qtbot.addWidget(window)
    return window


def test_the_sidebar_lists_the_pages_and_shows_the_chosen_one(window: MainWindow):
    assert list(window.sidebar.buttons) == [
        "today",
        "mywork",
        "queue",
        "conflicts",
        "health",
        "audit",
    ]
    assert window.current_page_id() == "today"
    window.sidebar.buttons["audit"].click()
    assert window.current_page_id() == "audit"
    assert window.sidebar.buttons["audit"].isChecked()


def test_deferred_pages_are_built_after_the_first_or_when_asked_for(shell: Shell, qtbot):
    window = MainWindow(shell.service, defer_pages=True)
    qtbot.addWidget(window)
    pages = ["today", "mywork", "queue", "conflicts", "health", "audit"]
    assert list(window.sidebar.buttons) == pages
    assert list(window.pages) == ["today"] and window.current_page_id() == "today"
    window.sidebar.buttons["audit"].click()  # asked for before its turn: built now
    assert window.current_page_id() == "audit"
    shell.loop.until(lambda: len(window.pages) == 6)  # the rest, one per loop turn
    assert sorted(window.pages) == sorted(pages)
    window.on_banner_action("conflicts")
    assert window.current_page_id() == "conflicts"


def test_placeholders_stand_in_while_the_pages_are_missing(
    shell: Shell, qtbot, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(sys.modules, "ui.pages", None)  # importing it now raises ImportError
    window = MainWindow(shell.service)
    qtbot.addWidget(window)
    assert len(window.pages) == 6
    assert all(isinstance(p, PlaceholderPage) for p in window.pages.values())


def test_status_bar_shows_connection_mode_and_last_sync(window: MainWindow):
    window.show_status(status(mode="conserve"))
    assert window.connection_label.text() == "Connected"
    assert window.mode_label.text() == "Saving requests"
    assert window.last_sync_label.text() == "Last synced 2 min ago"
    window.show_status(status(state=SyncState.OFFLINE, work_offline=True, last_sync_at=None))
    assert window.connection_label.text() == "Working offline"
    assert window.last_sync_label.text() == "Not synced yet"


def test_sidebar_counts_follow_the_status(window: MainWindow):
    window.show_status(status(state=SyncState.ATTENTION, pending=7, needs_attention=2, conflicts=3))
    assert window.sidebar.buttons["queue"].count.text() == "9"
    assert window.sidebar.buttons["conflicts"].count.text() == "3"
    window.show_status(status())
    assert window.sidebar.buttons["conflicts"].count.isHidden()


@pytest.mark.parametrize(
    ("changes", "kind", "action"),
    [
        ({"state": SyncState.PAUSED, "paused": True}, "paused", "resume"),
        ({"state": SyncState.OFFLINE, "work_offline": True}, "offline", "go_online"),
        ({"state": SyncState.OFFLINE, "online": False}, "offline", "retry"),
        ({"state": SyncState.ATTENTION, "conflicts": 2}, "attention", "conflicts"),
        ({"state": SyncState.ATTENTION, "needs_attention": 1}, "attention", "queue"),
        ({"state": SyncState.ERROR, "signed_in": False}, "error", "sign_in"),
        ({}, "", ""),
    ],
)
def test_the_banner_says_what_needs_doing(window: MainWindow, changes, kind, action):
    window.show_status(status(**changes))
    assert window.banner.kind == kind and window.banner.action_id == action
    assert window.banner.isHidden() == (kind == "")


def test_banner_actions_drive_the_agent(shell: Shell, window: MainWindow):
    shell.loop.run(shell.agent.set_work_offline(True))
    shell.settle()
    assert window.banner.action_id == "go_online"
    window.banner.button.click()
    shell.settle()
    assert not shell.status().work_offline
    shell.agent.pause()
    shell.settle()
    assert window.banner.action_id == "resume"
    window.banner.button.click()
    shell.settle()
    assert not shell.status().paused
    window.show_status(status(state=SyncState.ATTENTION, conflicts=1))
    window.banner.button.click()
    assert window.current_page_id() == "conflicts"


def test_the_first_download_shows_progress_then_hides_it(shell: Shell, window: MainWindow):
    seen: list[tuple[str, bool]] = []
    shell.service.progress.connect(
        lambda stage, done, total: seen.append((stage, not window.progress_bar.isHidden()))
    )
    window.sync_now()
    shell.settle()
    assert ("tickets", True) in seen
    assert "Downloading your work" in window.progress_label.text()
    assert window.progress_bar.isHidden() and window.progress_label.isHidden()
    assert window.last_sync_label.text().startswith("Last synced")


def test_a_sync_says_how_many_it_is_sending_and_the_counts_move_live(
    shell: Shell, window: MainWindow
):
    shell.loop.run(shell.agent.sync_now())
    tickets = shell.loop.run(shell.agent.my_tickets())
    for n in range(6):
        shell.loop.run(
            shell.agent.add_note(tickets[0].id, f"n{n}", title="t", publish=1, note_type=1)
        )
    shell.settle()
    texts: list[str] = []
    announced: list[int] = []
    shell.service.progress.connect(lambda *_: texts.append(window.progress_label.text()))
    shell.service.queueChanged.connect(lambda: announced.append(1))
    shell.loop.run(shell.agent.sync_now())
    assert texts[:3] == ["Sending 2 of 6", "Sending 3 of 6", "Sending 4 of 6"]
    assert window.progress_label.isHidden()
    # Six operations left the queue within moments: the window re-read it once at once and
    # once for the rest (a few times a second at most), not six times.
    shell.settle()
    assert 1 <= len(announced) <= 2


def test_the_demo_tenant_is_unmistakable(window: MainWindow):
    window.show_status(status(demo=True))
    assert not window.sidebar.demo_badge.isHidden()
    assert window.demo_banner.action_id == "go_offline"
    assert "Demo tenant" in window.windowTitle()


def test_closing_hides_to_the_tray(window: MainWindow, qtbot):
    window.show()
    with qtbot.assertNotEmitted(window.quitRequested):
        window.close()
    assert not window.isVisible()


def test_without_a_tray_closing_quits(shell: Shell, qtbot):
    window = MainWindow(shell.service, tray_available=False)
    qtbot.addWidget(window)
    window.show()
    assert window.tray_banner.text.text() == NO_TRAY_TEXT
    with qtbot.waitSignal(window.quitRequested):
        window.close()


def test_no_tray_opens_the_window_and_says_so(
    signed_out_shell: Shell, qtbot, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: False))
    desktop = ui_app.Desktop(None, None, "t", False)  # type: ignore[arg-type]
    signed_out_shell.loop.run(desktop._start(signed_out_shell.agent))
    window = desktop.window
    assert window is not None and desktop.tray is None
    qtbot.addWidget(window)
    assert window.isVisible() and not window.tray_banner.isHidden()
    assert any(isinstance(d, SignInDialog) for d in desktop.dialogs)  # first run: sign in
    for dialog in list(desktop.dialogs):
        dialog.reject()
    signed_out_shell.loop.run(desktop.service.shutdown())  # type: ignore[union-attr]


def test_with_a_tray_the_icon_shows(
    signed_out_shell: Shell, qtbot, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    desktop = ui_app.Desktop(None, None, "t", False)  # type: ignore[arg-type]
    signed_out_shell.loop.run(desktop._start(signed_out_shell.agent))
    assert desktop.tray is not None and desktop.window is not None
    qtbot.addWidget(desktop.window)
    assert desktop.window.tray_banner.isHidden()
    assert desktop.tray.state is SyncState.ERROR  # not signed in yet
    desktop.tray.openRequested.emit("health")
    assert desktop.window.current_page_id() == "health"
    for dialog in list(desktop.dialogs):
        dialog.reject()
    desktop.tray.hide()
    signed_out_shell.loop.run(desktop.service.shutdown())  # type: ignore[union-attr]


def test_badges_queue_page_and_tray_follow_a_sync_while_it_runs(
    shell: Shell, window: MainWindow, monkeypatch
):
    """Each note Autotask accepts is seen at once (coalesced): the Queue badge, My work's
    badge, the Queue page's count, the status bar and the tray move while the sync still runs."""
    import asyncio

    from ui.tray import Tray

    shell.loop.run(shell.agent.sync_now())
    tray = Tray(shell.service, now=lambda: NOW)
    tickets = shell.loop.run(shell.agent.my_tickets())
    for n in range(6):
        shell.loop.run(
            shell.agent.add_note(tickets[0].id, f"n{n}", title="t", publish=1, note_type=1)
        )
    window.bring_forward("queue")
    queue = window.pages["queue"]
    shell.settle()
    queue_badge = window.sidebar.buttons["queue"].count
    mywork_badge = window.sidebar.buttons["mywork"].count
    shell.loop.until(lambda: queue_badge.text() == "6" and mywork_badge.text() == "1")
    # Autotask answers one note at a time, when the test says so.
    answers = asyncio.Semaphore(0)
    create = shell.agent.client.create

    async def one_at_a_time(*args, **kwargs):
        await answers.acquire()
        return await create(*args, **kwargs)

    monkeypatch.setattr(shell.agent.client, "create", one_at_a_time)
    sync = shell.loop.loop.create_task(shell.agent.sync_now())
    for _ in range(2):
        answers.release()
    shell.loop.until(lambda: queue_badge.text() == "4")
    assert not sync.done()  # still sending: what was shown came while it ran
    shell.loop.until(lambda: "4 operations" in queue.count.text())
    assert window.progress_label.text().startswith("Sending ")
    assert "Sending " in tray.icon.toolTip() and tray.pending == 4
    for _ in range(4):
        answers.release()
    shell.loop.run(sync)
    shell.loop.until(lambda: queue_badge.isHidden() and mywork_badge.isHidden())
    assert tray.pending == 0
    tray.hide()
    tray.deleteLater()
