"""The migration ladder: a database made at version 1 and migrated equals a fresh one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agent.store import LATEST, MigrationError, Store
from agent.store.models import SyncCursor


def schema_of(path: Path) -> dict[str, object]:
    conn = sqlite3.connect(path)
    try:
        objects = conn.execute(
            "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
            "ORDER BY type, name"
        ).fetchall()
        shape: dict[str, object] = {"objects": objects}
        for kind, name, _ in objects:
            if kind == "table":
                cols = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
                shape[f"columns:{name}"] = sorted((c[1], c[2], c[3], c[4], c[5]) for c in cols)
                fks = conn.execute(f'PRAGMA foreign_key_list("{name}")').fetchall()
                shape[f"fks:{name}"] = sorted((f[2], f[3], f[4], f[6]) for f in fks)
            elif kind == "index":
                cols = conn.execute(f'PRAGMA index_info("{name}")').fetchall()
                unique = conn.execute(f'PRAGMA index_list("{_}")').fetchall()
                shape[f"index:{name}"] = (
                    [c[2] for c in cols],
                    [u[2] for u in unique if u[1] == name],
                )
        versions = conn.execute("SELECT version FROM schema_migration ORDER BY version").fetchall()
        shape["versions"] = [v[0] for v in versions]
        return shape
    finally:
        conn.close()


def test_database_created_at_version_one_and_migrated_equals_a_fresh_one(tmp_path: Path) -> None:
    old, fresh = tmp_path / "old.sqlite3", tmp_path / "fresh.sqlite3"
    with Store(old, migrate_upto=1) as store:
        assert store.schema_version() == 1
        store.write(
            lambda: store.db.execute_sql(
                "INSERT INTO setting (key, value) VALUES ('sync_interval_s', '120')"
            )
        )
    with Store(old) as store:
        assert store.migrated_from == 1
        assert store.schema_version() == LATEST
        store.write(lambda: SyncCursor.create(entity_type="Tickets", watermark="w"))
    Store(fresh).close()
    assert schema_of(old) == schema_of(fresh)


def test_migrating_backs_the_file_up_first(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    with Store(path, migrate_upto=1) as store:
        store.write(
            lambda: store.db.execute_sql(
                "INSERT INTO setting (key, value) VALUES ('kept', '\"yes\"')"
            )
        )
    Store(path).close()
    backups = list(tmp_path.glob("agent.sqlite3.v1-*.bak"))
    assert len(backups) == 1
    conn = sqlite3.connect(backups[0])
    try:
        assert conn.execute("SELECT value FROM setting WHERE key='kept'").fetchone() == ('"yes"',)
        assert conn.execute("SELECT MAX(version) FROM schema_migration").fetchone() == (1,)
    finally:
        conn.close()


def test_a_database_from_a_newer_program_is_refused_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_migration VALUES (?, 0, 'future')", (LATEST + 5,))
    conn.commit()
    conn.close()
    with pytest.raises(MigrationError, match="newer version"):
        Store(path)


def test_a_failing_step_rolls_back_and_leaves_the_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.store import migrations

    path = tmp_path / "agent.sqlite3"
    Store(path, migrate_upto=1).close()

    def broken(db: object) -> None:
        db.execute_sql('ALTER TABLE "outbox_op" ADD COLUMN "deadline_at" REAL')  # type: ignore[attr-defined]
        raise RuntimeError("step failed half way")

    monkeypatch.setattr(migrations, "LADDER", [migrations.LADDER[0], (2, "broken", broken)])
    with pytest.raises(RuntimeError, match="half way"):
        Store(path)
    conn = sqlite3.connect(path)
    try:
        cols = [c[1] for c in conn.execute("PRAGMA table_info(outbox_op)")]
        assert "deadline_at" not in cols
        assert conn.execute("SELECT MAX(version) FROM schema_migration").fetchone() == (1,)
    finally:
        conn.close()


def stopwatch_sql(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'stopwatch_run'").fetchone()
    finally:
        conn.close()
    return str(row[0])


def test_a_stopwatch_number_given_before_the_upgrade_is_never_given_again(
    tmp_path: Path,
) -> None:
    """Timers #2 and #3 were logged (their rows removed) before the upgrade: the next timer is
    #4, and a timer removed later is not numbered again either."""
    from agent.store import audit
    from agent.store.models import StopwatchRun

    path, fresh = tmp_path / "agent.sqlite3", tmp_path / "fresh.sqlite3"
    with Store(path, migrate_upto=16) as store:

        def before() -> None:
            for run in (1, 2, 3):
                store.db.execute_sql(
                    "INSERT INTO stopwatch_run (id, ticket_id, started_at, stopped_at) "
                    "VALUES (?, 7, ?, ?)",
                    (run, float(run), float(run) + 1),
                )
                audit.append("timer_started", at=float(run), entity_type="Tickets", entity_id=7)
            store.db.execute_sql("DELETE FROM stopwatch_run WHERE id > 1")

        store.write(before)
    with Store(path) as store:
        assert store.read(lambda: [int(r.id) for r in StopwatchRun.select()]) == [1]
        assert store.write(lambda: int(StopwatchRun.create(ticket_id=7, started_at=9.0).id)) == 4
        store.write(lambda: StopwatchRun.delete().execute())
        assert store.write(lambda: int(StopwatchRun.create(ticket_id=7, started_at=9.0).id)) == 5
    Store(fresh).close()
    assert "AUTOINCREMENT" in stopwatch_sql(path) and "AUTOINCREMENT" in stopwatch_sql(fresh)
    assert schema_of(path) == schema_of(fresh)
