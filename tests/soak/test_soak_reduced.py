"""Reduced soaks in every test run: faults and crashes lose nothing and duplicate nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.soak.crash_soak import run_crash_soak
from tests.soak.fault_soak import run_fault_soak


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_under_faults_every_edit_is_applied_exactly_once(tmp_path: Path) -> None:
    result = await run_fault_soak(tmp_path, ops=400, seed=3, tickets=300)
    assert (result["lost"], result["duplicates"], result["mismatched"]) == (0, 0, 0), result
    assert result["integrity"] == "ok" and result["audit_ok"]


@pytest.mark.slow
@pytest.mark.socket
@pytest.mark.timeout(300)
def test_killed_agents_lose_nothing_and_send_nothing_twice(tmp_path: Path) -> None:
    result = run_crash_soak(tmp_path, ops=200, kills=4, seed=5, kill_window=(0.15, 0.9))
    assert (result["lost"], result["duplicates"], result["mismatched"]) == (0, 0, 0), result
    assert result["integrity"] == "ok"
    assert result["kills"] >= 1
