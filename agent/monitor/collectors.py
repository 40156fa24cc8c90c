"""Collectors that read the state of the agent from where it lives (tables, files, the process).

They set gauges of the registry just before each sample, so queue depth, conflicts and database
size are charted even before the queue and sync layers record anything themselves.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Mapping
from typing import Any

import peewee
import psutil  # type: ignore[import-untyped]  # no stubs bundled

from agent.clock import SYSTEM_CLOCK, Clock
from agent.monitor import names
from agent.monitor.registry import MetricsRegistry
from agent.store.connection import Store
from agent.store.models import Conflict, ConflictStatus, OpState, OutboxOp, Priority

log = logging.getLogger(__name__)

Collector = Callable[[], None]
_WAITING = (OpState.PENDING, OpState.LEASED)


def queue_collector(
    store: Store, registry: MetricsRegistry, clock: Clock = SYSTEM_CLOCK
) -> Collector:
    """Outbox depth by state, waiting work by priority and the age of the oldest waiting op."""
    depth = names.QUEUE_DEPTH.on(registry)
    waiting = names.QUEUE_WAITING.on(registry)
    oldest_age = names.QUEUE_OLDEST_AGE.on(registry).unlabelled()
    unsent = names.QUEUE_UNSENT.on(registry).unlabelled()

    def read() -> tuple[dict[tuple[str, int], int], float | None]:
        rows = (
            OutboxOp.select(OutboxOp.state, OutboxOp.priority, peewee.fn.COUNT(OutboxOp.id))
            .where(OutboxOp.state.in_(names.QUEUE_STATES))
            .group_by(OutboxOp.state, OutboxOp.priority)
            .tuples()
        )
        counts = {(str(state), int(priority)): int(n) for state, priority, n in rows}
        oldest = (
            OutboxOp.select(peewee.fn.MIN(OutboxOp.created_at))
            .where(OutboxOp.state.in_(_WAITING))
            .scalar()
        )
        return counts, oldest

    def collect() -> None:
        counts, oldest = store.read(read)
        for state in names.QUEUE_STATES:
            depth.labels(state=state).set(sum(n for (s, _), n in counts.items() if s == state))
        for priority in Priority:
            n = sum(n for (s, p), n in counts.items() if p == priority and s in _WAITING)
            waiting.labels(priority=priority.name.lower()).set(n)
        # Claimed operations are leased while they are sent: they still wait to be done.
        unsent.set(sum(n for (s, _), n in counts.items() if s in _WAITING))
        now = clock.now().timestamp()
        oldest_age.set(max(0.0, now - float(oldest)) if oldest is not None else 0.0)

    return collect


def conflict_collector(store: Store, registry: MetricsRegistry) -> Collector:
    gauge = names.CONFLICTS_OPEN.on(registry).unlabelled()

    def collect() -> None:
        gauge.set(
            store.read(
                lambda: Conflict.select().where(Conflict.status == ConflictStatus.OPEN).count()
            )
        )

    return collect


def database_collector(store: Store, registry: MetricsRegistry) -> Collector:
    """The database's size on disk (with its WAL) and the free space left on that disk."""
    size = names.DATABASE_SIZE.on(registry).unlabelled()
    free = names.DISK_FREE.on(registry).unlabelled()

    def collect() -> None:
        total = 0
        for suffix in ("", "-wal"):
            path = store.path.with_name(store.path.name + suffix)
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                continue
        size.set(total)
        free.set(shutil.disk_usage(store.path.parent).free)

    return collect


def process_collector(registry: MetricsRegistry) -> Collector:
    """Resident memory and CPU share of this process since the previous sample."""
    process = psutil.Process()
    process.cpu_percent(None)  # the first reading only starts the measurement interval
    memory = names.PROCESS_MEMORY.on(registry).unlabelled()
    cpu = names.PROCESS_CPU.on(registry).unlabelled()

    def collect() -> None:
        with process.oneshot():
            memory.set(process.memory_info().rss)
            cpu.set(process.cpu_percent(None))

    return collect


def record_threshold_information(
    registry: MetricsRegistry, body: Mapping[str, Any], share: float
) -> float | None:
    """Record a `ThresholdInformation` answer; returns the share of our quota used (or None).

    `share` is this agent's part of the tenant's limit (the `quota_share` setting): 1.0 in
    `quota_share_used` means the agent has used all the requests it allows itself this hour.
    """
    try:
        used = float(body["currentTimeframeRequestCount"])
        threshold = float(body["externalRequestThreshold"])
    except (KeyError, TypeError, ValueError):
        log.warning("ThresholdInformation answer without usable counts; quota not recorded")
        return None
    names.QUOTA_USED.on(registry).unlabelled().set(used)
    names.QUOTA_THRESHOLD.on(registry).unlabelled().set(threshold)
    if threshold <= 0 or share <= 0:
        return None
    share_used = used / (threshold * share)
    names.QUOTA_SHARE_USED.on(registry).unlabelled().set(share_used)
    return share_used


def default_collectors(
    store: Store, registry: MetricsRegistry, clock: Clock = SYSTEM_CLOCK
) -> list[Collector]:
    return [
        queue_collector(store, registry, clock),
        conflict_collector(store, registry),
        database_collector(store, registry),
        process_collector(registry),
    ]
