"""The tray: one icon, tooltip and menu per sync state, a turning icon while syncing, and menu
actions that really drive the agent."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtGui import QImage

from agent.api.types import AgentStatus, SyncState
from tests.ui.conftest import Shell
from ui import icons
from ui.tray import Tray

NOW = 1_800_000_000.0


def status(state: SyncState, **changes: object) -> AgentStatus:
    base = AgentStatus(
        state=state,
        mode="normal",
        online=state is not SyncState.OFFLINE,
        paused=state is SyncState.PAUSED,
        work_offline=False,
        pending=3,
        needs_attention=0,
        conflicts=2 if state is SyncState.ATTENTION else 0,
        last_sync_at=NOW - 120,
        last_error=None,
        signed_in=state is not SyncState.ERROR,
        demo=False,
        first_sync_done=True,
        reason="",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def image(icon_state: SyncState, frame: int = 0, pending: int = 3) -> QImage:
    return icons.tray_icon(icon_state, frame, pending).pixmap(32, 32).toImage()


@pytest.fixture
def tray(shell: Shell) -> Tray:
    tray = Tray(shell.service, now=lambda: NOW)
    yield tray
    tray.hide()
    tray.deleteLater()


@pytest.mark.parametrize("state", list(SyncState))
def test_tray_shows_each_state_with_its_icon_title_and_tooltip(tray: Tray, state: SyncState):
    tray.show_status(status(state))
    assert tray.state is state
    assert tray.icon.icon().pixmap(32, 32).toImage() == image(state, tray.frame)
    assert tray.header_action.text().startswith("Field Sync: ")
    tip = tray.icon.toolTip()
    assert "3 changes waiting" in tip
    assert "Last synced 2 min ago" in tip
    assert ("2 conflicts" in tip) == (state is SyncState.ATTENTION)
    assert tray.sign_in_action.isVisible() == (state is SyncState.ERROR)


def test_every_state_has_a_distinct_icon():
    images = [image(s, pending=0) for s in SyncState]
    assert all(a != b for i, a in enumerate(images) for b in images[i + 1 :])


def test_state_icons_are_rendered_at_the_device_pixel_ratio():
    sharp = icons.pixmap("state-synced", 16, None, 0.0, 2.0)
    assert sharp.devicePixelRatio() == 2.0
    assert (sharp.width(), sharp.height()) == (32, 32)


def test_syncing_icon_turns_while_syncing_and_stops_when_synced(tray: Tray, qtbot):
    tray.show_status(status(SyncState.SYNCING))
    assert tray.spinning
    first = tray.icon.icon().pixmap(32, 32).toImage()
    qtbot.waitUntil(lambda: tray.frame >= 2, timeout=2000)
    assert tray.icon.icon().pixmap(32, 32).toImage() != first
    tray.show_status(status(SyncState.SYNCED))
    assert not tray.spinning
    assert tray.icon.icon().pixmap(32, 32).toImage() == image(SyncState.SYNCED)


def test_menu_offers_resume_when_paused_and_ticks_work_offline(tray: Tray):
    tray.show_status(status(SyncState.PAUSED))
    assert tray.pause_action.text() == "Resume syncing"
    tray.show_status(status(SyncState.OFFLINE, work_offline=True, conflicts=4))
    assert tray.pause_action.text().startswith("Pause syncing")
    assert tray.offline_action.isChecked()
    assert not tray.sync_action.isEnabled()  # nothing is sent while working offline
    assert tray.conflicts_action.text() == "Conflicts (4)"


def test_menu_shows_the_demo_tour_only_on_the_demo_tenant(tray: Tray):
    tray.show_status(status(SyncState.SYNCED))
    assert not tray.demo_action.isVisible()
    tray.show_status(status(SyncState.SYNCED, demo=True))
    assert tray.demo_action.isVisible()
    assert "demo tenant" in tray.icon.toolTip()


def test_work_offline_and_pause_in_the_menu_drive_the_agent(shell: Shell, tray: Tray):
    tray.offline_action.trigger()  # checks it
    shell.settle()
    assert shell.status().state is SyncState.OFFLINE
    assert tray.state is SyncState.OFFLINE  # the agent's status event reached the tray
    tray.offline_action.trigger()
    shell.settle()
    tray.pause_action.trigger()
    shell.settle()
    assert shell.status().paused and tray.state is SyncState.PAUSED
    assert tray.pause_action.text() == "Resume syncing"
    tray.pause_action.trigger()
    shell.settle()
    assert not shell.status().paused


def test_sync_now_in_the_menu_runs_a_sync_round(shell: Shell, tray: Tray):
    assert shell.status().last_sync_at is None
    tray.sync_action.trigger()
    shell.settle()
    after = shell.status()
    assert after.last_sync_at is not None and after.first_sync_done
    assert "Last synced" in tray.icon.toolTip()


def test_menu_entries_open_the_window_and_quit(tray: Tray, qtbot):
    with qtbot.waitSignal(tray.openRequested) as opened:
        tray.conflicts_action.trigger()
    assert opened.args == ["conflicts"]
    with qtbot.waitSignal(tray.openRequested) as opened:
        tray.open_action.trigger()
    assert opened.args == [""]
    with qtbot.waitSignal(tray.quitRequested):
        tray.quit_action.trigger()
    with qtbot.waitSignal(tray.settingsRequested):
        tray.settings_action.trigger()


def test_tooltip_counts_a_change_made_offline(shell: Shell, tray: Tray):
    shell.loop.run(shell.agent.sync_now())
    shell.loop.run(shell.agent.set_work_offline(True))
    ticket = shell.loop.run(shell.agent.my_tickets())[0]
    shell.loop.run(shell.agent.update_ticket(ticket.id, title=ticket.title + " (on site)"))
    shell.settle()
    assert "1 change waiting" in tray.icon.toolTip()


def test_the_icon_carries_the_pending_count(tray: Tray):
    tray.show_status(status(SyncState.OFFLINE, pending=0))
    plain = tray.icon.icon().pixmap(32, 32).toImage()
    tray.show_status(status(SyncState.OFFLINE, pending=7))
    seven = tray.icon.icon().pixmap(32, 32).toImage()
    assert seven != plain and seven == image(SyncState.OFFLINE, pending=7)
    assert seven != image(SyncState.OFFLINE, pending=8)
    assert image(SyncState.OFFLINE, pending=0) == plain  # the cached icon was not painted on


def test_the_tooltip_says_how_far_a_sync_has_come(tray: Tray):
    tray.show_status(status(SyncState.SYNCING, pending=230, sending=(11, 241)))
    assert "Sending 12 of 241" in tray.icon.toolTip()
