"""Removing a profile's local data on sign-out (settings and the audit trail's record of it stay
only when asked): every cached entity, pending value, queued operation, conflict and metric."""

from __future__ import annotations

from agent.store.connection import Store
from agent.store.models import (
    Alert,
    CachedEntity,
    Conflict,
    CreateAttempt,
    MetricSample,
    OpDependency,
    OutboxOp,
    OverlayValue,
    SyncCursor,
    VisitIndex,
)


def wipe_local_data(store: Store) -> None:
    def run() -> None:
        for model in (
            OpDependency,
            Conflict,
            OverlayValue,
            OutboxOp,
            CachedEntity,
            SyncCursor,
            MetricSample,
            Alert,
            CreateAttempt,
            VisitIndex,
        ):
            model.delete().execute()

    store.write(run)
    store.vacuum()
