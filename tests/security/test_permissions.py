"""The database (with -wal, -shm, lock and backups), logs and diagnostics are the user's alone."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.monitor.diagnostics import build_diagnostics
from agent.profile import open_profile
from agent.security.permissions import create_private_file, make_private
from agent.store.migrations import V1_SCHEMA
from tests.security.helpers import fill

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The usual desktop umask, under which files are world-readable unless we take care."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_database_wal_shm_lock_and_folders_are_private(tmp_path: Path) -> None:
    profile = open_profile(tmp_path, "default")
    try:
        fill(profile)
        db = profile.paths.database
        family = {p.name: mode(p) for p in db.parent.iterdir()}
        assert {"agent.sqlite3", "agent.sqlite3-wal", "agent.sqlite3-shm"} <= family.keys()
        assert set(family.values()) == {0o600}, family
        assert mode(profile.paths.profile_dir) == 0o700
        assert mode(profile.paths.log_dir) == 0o700
        logging.getLogger("agent.test").warning("a line so the log file exists")
        assert mode(profile.paths.log_file) == 0o600
    finally:
        profile.close()


def test_loose_files_left_by_an_older_version_are_tightened_at_open(tmp_path: Path) -> None:
    profile = open_profile(tmp_path, "default")
    db = profile.paths.database
    profile.close()
    for path in db.parent.iterdir():
        path.chmod(0o644)
    db.parent.chmod(0o755)
    profile = open_profile(tmp_path, "default")
    try:
        assert mode(db) == 0o600 and mode(db.parent) == 0o700
        assert all(mode(p) == 0o600 for p in db.parent.iterdir())
    finally:
        profile.close()


def test_the_backup_taken_before_a_migration_is_private(tmp_path: Path) -> None:
    db = tmp_path / "profiles" / "default" / "agent.sqlite3"
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    conn.executescript(V1_SCHEMA)
    conn.execute("INSERT INTO schema_migration VALUES (1, 0, 'initial schema')")
    conn.commit()
    conn.close()
    profile = open_profile(tmp_path, "default")
    try:
        backups = [p for p in db.parent.iterdir() if p.name.endswith(".bak")]
        assert backups and all(mode(p) == 0o600 for p in backups)
    finally:
        profile.close()


def test_the_diagnostics_bundle_is_private(tmp_path: Path) -> None:
    profile = open_profile(tmp_path, "default")
    try:
        bundle = build_diagnostics(profile, tmp_path / "out.zip")
        assert mode(bundle) == 0o600
    finally:
        profile.close()


def test_creating_a_private_file_never_truncates_an_existing_one(tmp_path: Path) -> None:
    path = tmp_path / "f"
    create_private_file(path)
    assert mode(path) == 0o600
    path.write_bytes(b"keep me")
    create_private_file(path)
    assert path.read_bytes() == b"keep me"


def test_tightening_does_not_follow_a_planted_link(tmp_path: Path) -> None:
    target = tmp_path / "someone-elses"
    target.write_text("x")
    target.chmod(0o644)
    link = tmp_path / "agent.sqlite3-wal"
    link.symlink_to(target)
    assert make_private([link]) == []
    assert mode(target) == 0o644
