"""The audit trail is append-only and its hash chain exposes changes, removals and reorderings."""

from __future__ import annotations

import pytest

from agent.store import Store, audit
from agent.store.models import AuditEvent


def _fill(store: Store, n: int = 5) -> None:
    def write() -> None:
        for i in range(n):
            audit.append(
                "edit_captured",
                at=100.0 + i,
                entity_type="Tickets",
                entity_id=i,
                detail={"field": "status", "value": i},
            )

    store.write(write)


def test_an_untouched_chain_verifies(store: Store) -> None:
    _fill(store)
    report = store.read(audit.verify)
    assert report.ok and report.checked == 5


def test_updating_an_event_is_refused_by_the_database(store: Store) -> None:
    _fill(store)
    with pytest.raises(Exception, match="append-only"):
        store.write(lambda: AuditEvent.update(detail="{}").where(AuditEvent.id == 2).execute())


def _raw(store: Store, sql: str) -> None:
    def run() -> None:
        store.db.execute_sql('DROP TRIGGER "audit_event_no_update"')
        store.db.execute_sql(sql)

    store.write(run)


def test_a_changed_event_is_detected(store: Store) -> None:
    _fill(store)
    _raw(store, 'UPDATE audit_event SET detail=\'{"field":"priority"}\' WHERE id=3')
    report = store.read(audit.verify)
    assert not report.ok and report.first_bad_id == 3 and "changed" in report.problem


def test_a_removed_event_is_detected(store: Store) -> None:
    _fill(store)
    _raw(store, "DELETE FROM audit_event WHERE id=3")
    report = store.read(audit.verify)
    assert not report.ok and report.first_bad_id == 4 and "removed" in report.problem


def test_reordered_events_are_detected(store: Store) -> None:
    _fill(store)
    _raw(store, "UPDATE audit_event SET id=100 WHERE id=2")
    report = store.read(audit.verify)
    assert not report.ok
