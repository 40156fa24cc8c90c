"""Retention removes only what is older than its period, keeps the audit chain verifiable and
gives the space (and the deleted contents) back."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.clock import FakeClock
from agent.profile import Profile, open_profile
from agent.queue import SQLiteBackend
from agent.security.retention import DAY, RetentionService, prune_audit
from agent.store import audit
from agent.store.models import AuditEvent, MetricSample, OutboxOp

FORGOTTEN = "detail-of-a-very-old-event-0451"


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[Profile]:
    p = open_profile(tmp_path, "default")
    yield p
    p.close()


def now_of(clock: FakeClock) -> float:
    return clock.now().timestamp()


def service(profile: Profile, clock: FakeClock) -> RetentionService:
    return RetentionService(
        profile.store,
        lambda: profile.settings,
        outbox=SQLiteBackend(profile.store, clock),
        log_file=profile.paths.log_file,
        clock=clock,
    )


def add_op(state: str, updated_at: float) -> None:
    OutboxOp.create(
        kind="update",
        entity_type="Tickets",
        target_id=1,
        fields={"title": "t"},
        base={},
        state=state,
        created_at=updated_at,
        updated_at=updated_at,
        fingerprint=f"{state}{updated_at}".ljust(64, "0")[:64],
    )


def test_finished_operations_past_their_period_go_pending_ones_stay(profile: Profile) -> None:
    clock = FakeClock()
    now = now_of(clock)
    old, recent = now - 31 * DAY, now - 29 * DAY

    def fill() -> None:
        add_op("done", old)
        add_op("cancelled", old)
        add_op("pending", old)
        add_op("parked", old)
        add_op("done", recent)

    profile.store.write(fill)
    report = service(profile, clock).run(now)
    assert report.operations == 2
    left = profile.store.read(lambda: sorted((o.state, o.updated_at) for o in OutboxOp.select()))
    assert left == [("done", recent), ("parked", old), ("pending", old)]


def test_metric_points_follow_the_metrics_period(profile: Profile) -> None:
    clock = FakeClock()
    now = now_of(clock)
    profile.settings_repo.update(metrics_retention_days=7)

    def fill() -> None:
        for age_days in (0.5, 3, 6.9, 7.1, 40):
            MetricSample.create(
                series="queue.depth", resolution=60, at=now - age_days * DAY, value=1
            )

    profile.store.write(fill)
    report = service(profile, clock).run(now)
    assert report.metric_points == 2
    ages = profile.store.read(
        lambda: sorted(round((now - m.at) / DAY, 1) for m in MetricSample.select())
    )
    assert ages == [0.5, 3.0, 6.9]


def test_oldest_audit_events_go_and_the_kept_chain_still_verifies(profile: Profile) -> None:
    clock = FakeClock()
    now = now_of(clock)
    ages = [800, 760, 740, 700, 10, 1]

    def fill() -> None:
        for i, age in enumerate(ages):
            audit.append("edited", at=now - age * DAY, entity_id=i, detail={"n": i})

    profile.store.write(fill)
    report = service(profile, clock).run(now)
    assert report.audit_events == 3
    kept = profile.store.read(lambda: [e.entity_id for e in AuditEvent.select()])
    assert kept == ["3", "4", "5", None]  # the last: retention's checkpoint
    assert profile.store.read(audit.verify).ok
    profile.store.write(lambda: audit.append("later", at=now, detail={}))
    assert profile.store.read(audit.verify).ok


def test_audit_pruning_stops_at_the_first_recent_event_keeping_the_chain_whole(
    profile: Profile,
) -> None:
    """An event with an old time stamp after a recent one (a clock set back) is kept: only an
    unbroken prefix of the chain is ever removed."""

    def fill() -> None:
        for i, at in enumerate([10.0, 500.0, 20.0, 600.0]):
            audit.append("edited", at=at, entity_id=i)

    profile.store.write(fill)
    assert profile.store.write(lambda: prune_audit(100.0, now=100.0 + 730 * DAY)) == 1
    kept = profile.store.read(lambda: [e.entity_id for e in AuditEvent.select()])
    assert kept == ["1", "2", "3", None]
    assert profile.store.read(audit.verify).ok


def test_the_newest_audit_event_is_kept_even_when_all_are_old(profile: Profile) -> None:
    def fill() -> None:
        for i in range(3):
            audit.append("edited", at=float(i), entity_id=i)

    profile.store.write(fill)
    assert profile.store.write(lambda: prune_audit(1e12, now=1e12)) == 2
    assert profile.store.read(lambda: AuditEvent.select().count()) == 2  # and the checkpoint
    assert profile.store.read(audit.verify).ok


def test_rotated_log_files_past_their_period_are_deleted(profile: Profile) -> None:
    clock = FakeClock()
    now = now_of(clock)
    log_file = profile.paths.log_file
    old, recent = log_file.with_name(log_file.name + ".2"), log_file.with_name(log_file.name + ".1")
    other = log_file.with_name("another-profile.log.1")
    for path, age in ((old, 31), (recent, 2), (other, 90)):
        path.write_text("x")
        os.utime(path, (now - age * DAY, now - age * DAY))
    report = service(profile, clock).run(now)
    assert report.log_files == [old]
    assert recent.exists() and other.exists() and log_file.exists()


def test_deleted_rows_are_reclaimed_and_their_contents_gone_from_the_file(
    profile: Profile,
) -> None:
    clock = FakeClock()
    now = now_of(clock)

    def fill() -> None:
        for i in range(400):
            audit.append("edited", at=now - 1000 * DAY + i, detail={"text": FORGOTTEN * 20})
        audit.append("edited", at=now, detail={})

    profile.store.write(fill)
    profile.store.checkpoint()
    db = profile.paths.database
    assert FORGOTTEN.encode() in db.read_bytes()
    report = service(profile, clock).run(now)
    assert report.audit_events == 400
    assert report.bytes_after < report.bytes_before
    raw = db.read_bytes() + db.with_name(db.name + "-wal").read_bytes()
    assert FORGOTTEN.encode() not in raw


def test_a_run_with_nothing_to_delete_leaves_the_file_alone(profile: Profile) -> None:
    clock = FakeClock()
    db = profile.paths.database
    before = db.stat().st_mtime_ns
    report = service(profile, clock).run(now_of(clock))
    assert not report.deleted_anything
    assert db.stat().st_mtime_ns == before
