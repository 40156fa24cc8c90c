"""Audit events keep the values they record sealed apart from the rest of their detail; readers
see the detail as appended, and the chain covers the values through re-sealing and tampering."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.profile import Profile, open_profile
from agent.security.at_rest import rotate_data_key
from agent.security.sealing import SEALED_V1
from agent.store import audit
from agent.store.models import AuditEvent

SECRET_TEXT = "Server room door code is 9182"
DETAIL = {"field": "title", "choice": "mine", "mine": SECRET_TEXT, "theirs": "other", "base": None}


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[Profile]:
    p = open_profile(tmp_path, "default")
    yield p
    p.close()


def _append(profile: Profile, n: int = 3) -> None:
    def run() -> None:
        for i in range(n):
            audit.append(
                "conflict_resolved",
                at=10.0 + i,
                entity_type="Tickets",
                entity_id=i,
                detail={**DETAIL, "mine": f"{SECRET_TEXT} #{i}"},
            )

    profile.store.write(run)


def _raw(profile: Profile, statement: str, *args: object) -> list[tuple[object, ...]]:
    profile.store.checkpoint()
    conn = sqlite3.connect(profile.paths.database)
    try:
        conn.execute('DROP TRIGGER IF EXISTS "audit_event_no_update"')
        rows = conn.execute(statement, args).fetchall()
        conn.rollback() if statement.startswith("SELECT") else conn.commit()
        return rows
    finally:
        conn.close()


def test_values_are_sealed_apart_and_readers_see_the_detail_as_appended(profile: Profile) -> None:
    _append(profile, 1)
    [(detail, values)] = _raw(profile, 'SELECT detail, "values" FROM audit_event')
    assert isinstance(detail, str) and SECRET_TEXT not in detail and '"field":"title"' in detail
    assert isinstance(values, bytes) and values[0] == SEALED_V1
    assert SECRET_TEXT.encode() not in values
    event = profile.store.read(lambda: AuditEvent.get())
    assert audit.detail_of(event) == {**DETAIL, "mine": f"{SECRET_TEXT} #0"}


def test_an_event_without_values_stores_none(profile: Profile) -> None:
    profile.store.write(lambda: audit.append("synced", at=1.0, detail={"outcome": "landed"}))
    assert _raw(profile, 'SELECT "values" FROM audit_event') == [(None,)]
    assert profile.store.read(audit.verify).ok


def test_values_swapped_between_events_are_detected(profile: Profile) -> None:
    _append(profile)
    assert profile.store.read(audit.verify).ok
    _raw(
        profile,
        'UPDATE audit_event SET "values" = (SELECT "values" FROM audit_event WHERE id = 1) '
        "WHERE id = 2",
    )
    report = profile.store.read(audit.verify)
    # Sealed for event 1 (bound to its hash), they do not even open as event 2's.
    assert not report.ok and report.first_bad_id == 2 and "cannot be opened" in report.problem


def test_damaged_values_are_reported_not_raised(profile: Profile) -> None:
    _append(profile)
    _raw(profile, "UPDATE audit_event SET \"values\" = x'0102030405' WHERE id = 3")
    report = profile.store.read(audit.verify)
    assert not report.ok and report.first_bad_id == 3 and "cannot be opened" in report.problem


def test_removed_values_are_detected(profile: Profile) -> None:
    _append(profile)
    _raw(profile, 'UPDATE audit_event SET "values" = NULL WHERE id = 2')
    report = profile.store.read(audit.verify)
    assert not report.ok and report.first_bad_id == 2


def test_rotating_the_key_and_switching_encryption_keep_the_chain(profile: Profile) -> None:
    _append(profile)
    before = _raw(profile, 'SELECT "values" FROM audit_event ORDER BY id')
    assert rotate_data_key(profile.store, profile.vault) > 0
    after = _raw(profile, 'SELECT "values" FROM audit_event ORDER BY id')
    assert before != after
    assert profile.store.read(audit.verify).ok
    profile.at_rest.set_enabled(False)
    plain = _raw(profile, 'SELECT "values" FROM audit_event ORDER BY id')
    assert all(SECRET_TEXT.encode() in bytes(v) for (v,) in plain)  # type: ignore[arg-type]
    assert profile.store.read(audit.verify).ok


def test_columns_other_than_values_stay_append_only(profile: Profile) -> None:
    _append(profile, 1)
    with pytest.raises(Exception, match="append-only"):
        profile.store.write(
            lambda: AuditEvent.update(detail="{}").where(AuditEvent.id == 1).execute()
        )
