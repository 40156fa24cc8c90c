"""How a salvage is told: the facade, `status` (also in later runs), and the audit trail, whose
chain still verifies when salvaged events have a hole, and still catches tampering."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agent.cli import main
from agent.store import audit, audit_chain
from agent.store.models import AuditEvent
from tests.store.salvage_world import (
    leaf_rowids,
    new_world,
    profile_with_unsent_notes,
    scribble,
)


async def test_status_and_audit_verify_tell_the_salvage_in_a_later_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = new_world(tmp_path)
    ops = await profile_with_unsent_notes(world, 60)
    leaves = leaf_rowids(world.database, "outbox_op")
    hit = sorted(leaves)[1]
    lost = len(leaves[hit])
    scribble(world.database, [hit])
    agent = await world.open()
    try:
        recovery = agent.recovery
        assert recovery is not None
        assert (recovery.operations_recovered, recovery.operations_unreadable) == (
            len(ops) - lost,
            lost,
        )
        assert recovery.kept_as.startswith(str(world.database) + ".corrupt-")
    finally:
        await agent.close()

    data = str(world.data_dir)
    assert main(["--data-dir", data, "status", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert "recovery" not in info  # this run opened a healthy file
    assert f"{len(ops) - lost} unsent changes recovered, {lost} unreadable" in info["salvaged"]
    assert recovery.kept_as in info["salvaged"]
    assert info["operations"] == {"pending": len(ops) - lost}
    assert await asyncio.to_thread(main, ["--data-dir", data, "audit", "verify"]) == 0
    assert "audit chain ok" in capsys.readouterr().out


async def test_a_hole_in_the_salvaged_trail_is_recorded_and_the_chain_verifies(
    tmp_path: Path,
) -> None:
    world = new_world(tmp_path)
    await profile_with_unsent_notes(world)
    leaves = leaf_rowids(world.database, "audit_event")
    hit = sorted(leaves)[2]
    scribble(world.database, [hit])
    agent = await world.open()
    try:
        salvage = agent.profile.recovery.salvage
        assert salvage.audit_events.unreadable == len(leaves[hit])
        gaps = await agent.audit_events(action=audit.GAP)
        assert len(gaps) == 1 and gaps[0].detail["missing"] == len(leaves[hit])
        report = await agent.verify_audit()
        assert report.ok, report

        def tamper() -> None:  # a salvaged event changed afterwards is still caught
            first = AuditEvent.select().order_by(AuditEvent.id).first()
            agent.store.db.execute_sql("DROP TRIGGER audit_event_no_update")
            agent.store.db.execute_sql(
                "UPDATE audit_event SET action='edited' WHERE id=?", (first.id,)
            )

        agent.store.write(tamper)
        assert not (await agent.verify_audit()).ok
    finally:
        await agent.close()


def test_a_gap_event_admits_only_the_hole_it_names(tmp_path: Path) -> None:
    from agent.store import Store

    with Store(tmp_path / "a.sqlite3") as store:

        def build() -> None:
            audit.append("one", at=1.0)
            gap = audit.append(audit.GAP, at=2.0, detail={"resumes_after": "f" * 64})
            assert gap.hash

        store.write(build)
        rows = store.read(lambda: list(AuditEvent.select().order_by(AuditEvent.id)))
        follower = AuditEvent(
            id=3, at=3.0, action="two", detail="{}", values=None, prev_hash="e" * 64
        )
        follower.hash = audit_chain.digest("e" * 64, 3.0, "two", None, None, None, "{}")
        assert not audit.verify([*rows, follower]).ok  # resumes elsewhere than it says
        follower.prev_hash = "f" * 64
        follower.hash = audit_chain.digest("f" * 64, 3.0, "two", None, None, None, "{}")
        assert audit.verify([*rows, follower]).ok
