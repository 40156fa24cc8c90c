"""Reduced soaks in every test run: faults and crashes lose nothing and duplicate nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.soak.adversarial import identical_creates, late_apply, queued_for_days
from tests.soak.adversarial_disk import damaged_database, disk_full
from tests.soak.crash_soak import run_crash_soak
from tests.soak.fault_soak import run_fault_soak

# Every kind of visit edit is in both soaks: none may pass by not being typed.
VISIT_KINDS = {
    "checklist",
    "service_call",
    "charge_create",
    "charge_edit",
    "charge_delete",
    "stopwatch",
    "attachment",
}


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_under_faults_every_edit_is_applied_exactly_once(tmp_path: Path) -> None:
    result = await run_fault_soak(tmp_path, ops=400, seed=3, tickets=300)
    assert (result["lost"], result["duplicates"], result["mismatched"]) == (0, 0, 0), result
    # ... and every pending mark belongs to a live change, Autotask's values kept or not.
    assert result["integrity"] == "ok" and result["audit_ok"]
    assert set(result["visits"]["typed"]) == VISIT_KINDS, result["visits"]
    assert result["kept_theirs"] > 0, result


@pytest.mark.slow
@pytest.mark.socket
@pytest.mark.timeout(900)  # a kill mid-send makes the drain wait out the create's horizon
def test_killed_agents_lose_nothing_and_send_nothing_twice(tmp_path: Path) -> None:
    result = run_crash_soak(tmp_path, ops=200, kills=4, seed=5, kill_window=(0.15, 0.9))
    assert (result["lost"], result["duplicates"], result["mismatched"]) == (0, 0, 0), result
    assert result["integrity"] == "ok"
    assert result["kills"] >= 1
    assert set(result["visits"]["typed"]) == VISIT_KINDS, result["visits"]


# The adversarial scenarios, each at its smallest. Counted from the simulator's records.
# A wrong final count raises Miscounted; a scenario whose fault did not fire (or that broke)
# fails the test with its own error.
class Miscounted(AssertionError):
    """The server does not hold what the technician typed, exactly once."""


def _clean(result: dict[str, Any]) -> None:
    assert "error" not in result, result
    assert result["integrity"] == "ok", result
    if (result["lost"], result["duplicates"], result["mismatched"], result["pending"]) != (
        0,
        0,
        0,
        0,
    ):
        raise Miscounted(str(result))


async def test_identical_creates_with_a_lost_answer_are_each_on_the_server_once(
    tmp_path: Path,
) -> None:
    result = await identical_creates(tmp_path)
    assert [c["faults_fired"] for c in result["cases"].values()] == [2, 2]
    _clean(result)


@pytest.mark.socket
async def test_a_create_applied_after_the_deadline_is_on_the_server_once(tmp_path: Path) -> None:
    result = await late_apply(tmp_path)
    assert result["held_by_server"] == result["applied_late"] == 2
    _clean(result)


async def test_a_note_queued_eight_days_with_a_lost_answer_is_on_the_server_once(
    tmp_path: Path,
) -> None:
    result = await queued_for_days(tmp_path)
    assert result["faults_fired"] == 2
    _clean(result)


async def test_a_full_disk_refuses_captures_clearly_and_loses_nothing_it_accepted(
    tmp_path: Path,
) -> None:
    result = await disk_full(tmp_path)
    assert result["refused_while_capturing"] >= 1
    assert set(result["examples"]["refused"]) == {"DiskFullError"}
    assert result["landed_unrecorded"] >= 1  # the disk filled between a create and its answer
    _clean(result)


async def test_unsent_work_in_a_damaged_database_is_salvaged_and_sent_once(
    tmp_path: Path,
) -> None:
    result = await damaged_database(tmp_path)
    assert result["moved_aside"] and result["unsent_in_kept_file"] == result["typed"]
    _clean(result)
