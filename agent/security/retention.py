"""Forgetting what is old: finished operations, metric points, rotated logs and, over a longer
period, the oldest audit events; then giving the space (and the deleted contents) back.

Audit events go oldest first and only as an unbroken prefix, so the events kept still form one
chain that `agent.store.audit.verify` checks from the first kept event; the newest event is
always kept so the chain continues from it. Each pruning appends a chained checkpoint
(`audit.PRUNED`: how many went, how many in all, where the kept chain resumes, the cutoff and
the time of the newest event removed), so the start of the trail is known and its anchor still
counts every event: only removals retention did not record are reported. The audit period is
the one anchored beside the audit key (`audit_days`, see `agent.store.audit_retention`), not the
settings table's, so editing the database cannot make retention prune events early. Deleted
rows stay readable in SQLite's free pages until they are reused, so whenever anything was
deleted the file is rebuilt (VACUUM): retention runs about once a day, where a few seconds of
rebuild are cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from peewee import fn

from agent.clock import SYSTEM_CLOCK, Clock
from agent.monitor.series import RAW_RETENTION_S, SeriesStore
from agent.settings import Settings
from agent.store import audit
from agent.store.connection import Store
from agent.store.models import AuditEvent
from agent.sync import attempts

log = logging.getLogger(__name__)
DAY = 86400.0


class PurgingOutbox(Protocol):
    """What retention needs of an outbox (every backend has it)."""

    clock: Clock

    def purge(self, retention_seconds: float) -> int: ...


@dataclass
class RetentionReport:
    operations: int = 0
    metric_points: int = 0
    audit_events: int = 0
    log_files: list[Path] = field(default_factory=list)
    bytes_before: int = 0
    bytes_after: int = 0

    @property
    def deleted_anything(self) -> bool:
        return bool(self.operations or self.metric_points or self.audit_events or self.log_files)


class RetentionService:
    """Applies the retention settings to one profile; `run` is safe to call at any time."""

    def __init__(
        self,
        store: Store,
        settings: Callable[[], Settings],
        *,
        outbox: PurgingOutbox | None = None,
        log_file: Path | None = None,
        clock: Clock = SYSTEM_CLOCK,
        audit_days: Callable[[], int] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        # The audit period in force (the profile's anchored one); the setting when not given.
        self.audit_days = audit_days
        self.outbox = outbox
        self.log_file = log_file
        self.clock = clock

    def run(self, now: float | None = None) -> RetentionReport:
        now = self.clock.now().timestamp() if now is None else now
        s = self.settings()
        report = RetentionReport(bytes_before=self._size())
        if self.outbox is not None:
            # The outbox measures age on its own clock: hand it the span back to our cutoff.
            cutoff = now - s.ops_retention_days * DAY
            report.operations = self.outbox.purge(self.outbox.clock.now().timestamp() - cutoff)
            self.store.write(lambda: attempts.prune(cutoff))
        metrics_s = s.metrics_retention_days * DAY
        series = SeriesStore(
            self.store,
            self.clock,
            raw_retention_s=min(RAW_RETENTION_S, metrics_s),
            rollup_retention_s=metrics_s,
        )
        report.metric_points = series.prune(now)
        audit_days = s.audit_retention_days if self.audit_days is None else self.audit_days()
        report.audit_events = self.store.write(lambda: prune_audit(now - audit_days * DAY, now=now))
        report.log_files = self._prune_logs(now - s.log_retention_days * DAY)
        if report.deleted_anything:
            self.store.vacuum()
        report.bytes_after = self._size()
        log.info(
            "retention: %d operations, %d metric points, %d audit events, %d log files removed",
            report.operations,
            report.metric_points,
            report.audit_events,
            len(report.log_files),
        )
        return report

    def _prune_logs(self, cutoff: float) -> list[Path]:
        if self.log_file is None or not self.log_file.parent.is_dir():
            return []
        removed = []
        # Only this profile's rotated files; the live file is still open for writing.
        for path in sorted(self.log_file.parent.glob(self.log_file.name + ".*")):
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed.append(path)
            except FileNotFoundError:
                continue
        return removed

    def _size(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            path = self.store.path.with_name(self.store.path.name + suffix)
            total += path.stat().st_size if path.exists() else 0
        return total


def prune_audit(cutoff: float, *, now: float) -> int:
    """Delete the oldest audit events recorded before `cutoff`, as one unbroken prefix of the
    chain and never the newest event, and record it (a `PRUNED` event at `now`; run on the
    store's writer)."""
    newest = AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1).scalar()
    if newest is None:
        return 0
    first_recent = (
        AuditEvent.select(AuditEvent.id)
        .where(AuditEvent.at >= cutoff)
        .order_by(AuditEvent.id)
        .limit(1)
        .scalar()
    )
    keep_from = newest if first_recent is None else min(first_recent, newest)
    kept = AuditEvent.get_by_id(keep_from)
    newest_gone = AuditEvent.select(fn.MAX(AuditEvent.at)).where(AuditEvent.id < keep_from).scalar()
    if newest_gone is None:
        return 0
    before = (
        AuditEvent.select().where(AuditEvent.action == audit.PRUNED).order_by(AuditEvent.id.desc())
    )
    earlier = before.first()
    total = audit.detail_of(earlier).get("removed_total", 0) if earlier is not None else 0
    removed = int(AuditEvent.delete().where(AuditEvent.id < keep_from).execute())
    audit.append(
        audit.PRUNED,
        at=now,
        detail={
            "removed": removed,
            "removed_total": (total if isinstance(total, int) else 0) + removed,
            "resumes_after": kept.prev_hash,
            "cutoff": cutoff,
            "newest_removed_at": newest_gone,
        },
    )
    return removed
