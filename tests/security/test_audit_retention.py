"""The audit retention in force is anchored outside the database: shortening it by editing the
settings table prunes nothing early, a period set through the program is audited and anchored
(and its ordinary pruning verifies), and a checkpoint that removed events younger than the
anchored period allows is reported by `audit verify` as pruned early. Fake clocks only."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path

from agent.api.facade import Agent
from agent.clock import FakeClock
from agent.profile import open_profile
from agent.security.retention import DAY, prune_audit
from agent.simulator import Simulator
from agent.store import audit
from agent.store.audit_verify import PRUNED_EARLY
from agent.store.models import AuditEvent
from tests.e2e.conftest import options

AGES = (400, 100, 40, 10)  # days before the retention run


@asynccontextmanager
async def agent_at(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Agent]:
    sim = Simulator(seed="audit-retention", tickets=3, clock=clock)
    agent = await Agent.open(options(sim, clock, tmp_path))
    try:
        yield agent
    finally:
        await agent.close()


async def fill(agent: Agent, run_at: float) -> None:
    def write() -> None:
        for age in AGES:
            audit.append("edited", at=run_at - age * DAY, entity_id=age, detail={"age": age})

    await agent.store.awrite(write)


async def kept_ages(agent: Agent) -> list[int]:
    def read() -> list[int]:
        rows = AuditEvent.select().where(AuditEvent.action == "edited")
        return sorted(int(e.entity_id) for e in rows)

    return await agent.store.aread(read)


def edit_the_table(tmp_path: Path, days: int) -> None:
    database = tmp_path / "profiles" / "default" / "agent.sqlite3"
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.execute(
            "INSERT OR REPLACE INTO setting VALUES ('audit_retention_days', ?)", (str(days),)
        )


async def test_a_period_shortened_in_the_database_prunes_nothing_early(tmp_path: Path) -> None:
    clock = FakeClock()
    run_at = clock.now().timestamp() + 31 * DAY
    async with agent_at(tmp_path, clock) as agent:
        await fill(agent, run_at)
    edit_the_table(tmp_path, 30)
    clock.advance(31 * DAY)
    async with agent_at(tmp_path, clock) as agent:  # opening runs retention too
        report = await agent.run_retention()
        assert report.audit_events == 0
        assert await kept_ages(agent) == sorted(AGES)
        assert (await agent.verify_audit()).ok


async def test_a_period_set_through_the_program_is_audited_anchored_and_verifies(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    run_at = clock.now().timestamp() + 31 * DAY
    async with agent_at(tmp_path, clock) as agent:
        await fill(agent, run_at)
        await agent.update_settings(audit_retention_days=30)
        (changed,) = await agent.audit_events(action="setting_changed")
        assert changed.detail["setting"] == "audit_retention_days"
        assert (changed.detail["before"], changed.detail["after"]) == (730, 30)
    edit_the_table(tmp_path, 3650)  # lengthened behind its back: the anchored 30 days hold
    clock.advance(31 * DAY)
    async with agent_at(tmp_path, clock) as agent:
        assert await kept_ages(agent) == [10]  # pruned as the program was told, at opening
        report = await agent.verify_audit()
        assert report.ok, report.summary


async def test_other_setting_changes_are_audited_once(tmp_path: Path) -> None:
    profile = open_profile(tmp_path, "default")
    try:
        profile.settings_repo.update(sync_interval_s=120)
        profile.settings_repo.update(sync_interval_s=120)  # no change: no event
        profile.settings_repo.update(redis_url="rediss://:s3cret-PW@r.example/0")
        events = profile.store.read(
            lambda: [
                audit.detail_of(e)
                for e in AuditEvent.select().where(AuditEvent.action == "setting_changed")
            ]
        )
        assert events == [
            {"setting": "sync_interval_s", "before": 60, "after": 120},
            {"setting": "redis_url", "before": None, "after": "rediss://r.example/0"},
        ]  # a password is never in the trail (it is kept in the keyring)
    finally:
        profile.close()


def test_audit_verify_reports_a_prune_earlier_than_the_anchored_period(tmp_path: Path) -> None:
    """What a run following the edited table (an older version) would have done: remove events
    40 and 100 days old under the anchored 730 days."""
    profile = open_profile(tmp_path, "default")
    try:
        now = FakeClock().now().timestamp()

        def write() -> None:
            for age in AGES:
                audit.append("edited", at=now - age * DAY, entity_id=age)

        profile.store.write(write)
        assert profile.store.write(lambda: prune_audit(now - 30 * DAY, now=now)) == 3
        assert profile.audit_chain is not None
        profile.audit_chain.flush()
        report = profile.store.read(audit.verify)
        assert not report.ok and report.kind == PRUNED_EARLY, report
        assert "730 days" in report.problem
    finally:
        profile.close()


def test_ordinary_pruning_under_the_anchored_period_verifies(tmp_path: Path) -> None:
    profile = open_profile(tmp_path, "default")
    try:
        now = FakeClock().now().timestamp()

        def write() -> None:
            for age in (800, 731, 100):
                audit.append("edited", at=now - age * DAY, entity_id=age)

        profile.store.write(write)
        assert profile.store.write(lambda: prune_audit(now - 730 * DAY, now=now)) == 2
        assert profile.audit_chain is not None
        profile.audit_chain.flush()
        report = profile.store.read(audit.verify)
        assert report.ok, report.summary
    finally:
        profile.close()
