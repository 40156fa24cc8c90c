"""Agent processes of one tenant draining at once through the real Redis: judged only on what
the server saw (its records, its request ledger, the requests on the wire), never on rates or
durations, so a busy machine makes the run slower but not wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.soak.fleet import FleetPlan, problems, run_fleet


@pytest.mark.socket
@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_agent_processes_keep_the_share_and_an_open_breaker_stops_them_all(
    tmp_path: Path,
) -> None:
    plan = FleetPlan(agents=3, notes=8, others=2000, redis="shared", trip=True, deadline_s=150)
    result = await run_fleet(plan, tmp_path)
    assert problems(result) == [], result
    assert result["edits"] == 3 * 8 + 14 + 2
    assert result["requests_draining"] > 0
    # the breaker was opened by real failures on the server before the others started
    assert result["trip_failures"] >= 1
    assert all(f == 0 for f in result["fallbacks"]), result
