"""The window tells the technician what was salvaged from a damaged database, at once."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import options
from tests.store.salvage_world import capture_notes
from tests.ui.conftest import Loop
from ui.mainwindow import MainWindow
from ui.service import AgentService


def test_the_window_shows_what_was_salvaged(qloop: Loop, tmp_path: Path, qtbot) -> None:
    from agent.api.facade import Agent
    from agent.clock import FakeClock
    from agent.simulator import Simulator

    clock = FakeClock()
    sim = Simulator(seed="ui", tickets=30, clock=clock)
    sim.limits.latency_enabled = False
    agent = qloop.run(Agent.open(options(sim, clock, tmp_path)))
    try:
        qloop.run(agent.sync_now())
        qloop.run(capture_notes(agent, 5))
    finally:
        qloop.run(agent.close())
    database = tmp_path / "profiles" / "default" / "agent.sqlite3"
    raw = bytearray(database.read_bytes())
    raw[:100] = bytes(100)  # the header is gone
    database.write_bytes(bytes(raw))

    agent = qloop.run(Agent.open(options(sim, clock, tmp_path)))
    service = AgentService(agent)
    try:
        window = MainWindow(service)
        qtbot.addWidget(window)
        banner = window.recovery_banner
        assert not banner.isHidden() and banner.kind == "attention"
        assert "5 unsent changes recovered" in banner.text.text()
        assert ".corrupt-" in banner.text.text()
        banner.button.click()
        assert window.current_page_id() == "audit"
        qloop.settle(service)
    finally:
        qloop.run(service.shutdown())
        qloop.run(agent.close())


def test_no_banner_when_the_database_was_healthy(shell, qtbot) -> None:
    window = MainWindow(shell.service)
    qtbot.addWidget(window)
    assert window.recovery_banner.isHidden()
    shell.settle()
