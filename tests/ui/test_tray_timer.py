"""The running timer in the tray: its ticket and elapsed time in the tooltip and the menu, and a
Stop entry that stops it and shows the ticket where its time waits to be logged."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ui.conftest import Shell
from ui.tray import Tray


@pytest.fixture
def tray(shell: Shell) -> Iterator[Tray]:
    report = shell.loop.run(shell.agent.sync_now())
    assert report is not None and report.error is None
    tray = Tray(shell.service, now=lambda: shell.clock.now().timestamp())
    shell.settle()
    yield tray
    tray.hide()
    tray.deleteLater()


def first_ticket(shell: Shell) -> tuple[int, str]:
    ticket = shell.loop.run(shell.agent.my_tickets())[0]
    return ticket.id, ticket.number


def test_the_tooltip_and_menu_show_the_running_timer_with_its_elapsed_time(
    shell: Shell, tray: Tray
) -> None:
    assert "Timer" not in tray.icon.toolTip()
    assert (
        not tray.stopwatch.running_action.isVisible() and not tray.stopwatch.stop_action.isVisible()
    )
    tid, number = first_ticket(shell)
    shell.loop.run(shell.agent.start_timer(tid))
    shell.settle()
    assert tray.icon.toolTip().endswith(f"Timer on {number}: 0:00:00")
    assert tray.stopwatch.running_action.isVisible() and tray.stopwatch.stop_action.isVisible()
    assert tray.stopwatch.running_action.text() == f"Timer on {number}: 0:00:00"
    shell.clock.advance(3 * 3600 + 62)
    tray.stopwatch.tick.timeout.emit()  # the once-a-second refresh
    assert tray.icon.toolTip().endswith(f"Timer on {number}: 3:01:02")
    assert tray.stopwatch.running_action.text() == f"Timer on {number}: 3:01:02"
    opened: list[int] = []
    tray.ticketRequested.connect(opened.append)
    tray.stopwatch.running_action.trigger()
    assert opened == [tid]


def test_stop_in_the_menu_stops_the_timer_and_shows_its_ticket(shell: Shell, tray: Tray) -> None:
    tid, number = first_ticket(shell)
    shell.loop.run(shell.agent.start_timer(tid))
    shell.settle()
    opened: list[int] = []
    tray.ticketRequested.connect(opened.append)
    shell.clock.advance(1800)
    tray.stopwatch.stop_action.trigger()
    shell.settle()
    state = shell.loop.run(shell.agent.timer())
    assert state.running is None and [d.seconds for d in state.drafts] == [1800]
    assert opened == [tid]
    assert not tray.stopwatch.stop_action.isVisible()
    assert (
        tray.stopwatch.drafts_action.isVisible() and number in tray.stopwatch.drafts_action.text()
    )
    assert "Timer" not in tray.icon.toolTip()
    assert not tray.stopwatch.tick.isActive()  # nothing left to count: no idle refreshes


def test_a_timer_running_when_the_tray_starts_is_shown_at_once(shell: Shell) -> None:
    """After a restart the tray finds the running timer without waiting for a change."""
    shell.loop.run(shell.agent.sync_now())
    tid, number = first_ticket(shell)
    shell.loop.run(shell.agent.start_timer(tid))
    shell.clock.advance(60)
    tray = Tray(shell.service, now=lambda: shell.clock.now().timestamp())
    try:
        shell.settle()
        assert tray.icon.toolTip().endswith(f"Timer on {number}: 0:01:00")
    finally:
        tray.hide()
        tray.deleteLater()
