"""The window opens the profile as every other path does: a profile signed in through a custom
directory syncs through that directory, never Autotask's own (which this test cannot reach)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from agent.api.facade import Agent
from agent.credentials import ApiSecretBundle
from agent.profile import open_profile
from agent.simulator import (
    DEMO_INTEGRATION_CODE,
    DEMO_SECRET,
    DEMO_USERNAME,
    Simulator,
    serve_in_thread,
)
from tests.ui.conftest import Loop
from ui import app as ui_app


@pytest.fixture
def only_this_computer(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names other than this computer's do not resolve; yields those that were asked for."""
    real = socket.getaddrinfo
    refused: list[str] = []

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("127.0.0.1", "localhost", "::1"):
            refused.append(name)
            raise socket.gaierror(socket.EAI_NONAME, "no internet in tests")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    return refused


def test_the_window_syncs_through_the_profiles_directory(
    qloop: Loop, tmp_path: Path, only_this_computer: list[str]
) -> None:
    sim = Simulator(seed="window-directory", tickets=6, threshold=10_000_000)
    sim.limits.latency_enabled = False
    data = tmp_path / "data"
    seen: dict[str, Any] = {}
    with serve_in_thread(sim) as base:
        directory = base + "/ATServicesRest/"
        profile = open_profile(data, "default")
        try:  # as the sign-in dialog leaves a profile that uses a custom directory
            profile.settings_repo.save(
                api_directory_url=directory, technician_resource_id=sim.technician_resource_id
            )
            profile.vault.record_directory(directory)
            profile.credentials.save(
                ApiSecretBundle(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE)
            )
        finally:
            profile.close()

        desktop = ui_app.Desktop(QApplication.instance(), str(data), "default", False)  # type: ignore[arg-type]

        async def start(agent: Agent) -> None:  # the window's first round, then quit
            seen["directory"] = agent.directory_url()
            seen["report"] = await agent.sync_now()
            seen["tickets"] = len(await agent.my_tickets())
            desktop.quit()

        desktop._start = start  # type: ignore[method-assign]
        assert qloop.run(asyncio.wait_for(desktop.run(), 30)) == 0
    assert seen["directory"] == directory
    report = seen["report"]
    assert report is not None and report.error is None, report
    assert seen["tickets"] > 0
    assert only_this_computer == []  # Autotask's own directory was never looked up
