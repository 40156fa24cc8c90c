"""Through the real command line: a read-only (immutable) database file and a start with the disk
full each print one line on stderr and exit 2, with nothing lost and no file moved."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from agent.clock import FakeClock
from agent.profile import open_profile
from agent.queue.operation import NewOperation
from agent.queue.sqlite import SQLiteBackend
from agent.store.models import OpKind
from tests.store.machine import fill, immutable, read_only_view, small_tmpfs

ROOT = Path(__file__).resolve().parents[2]
EDIT = ["edit", "note", "1", "--text", "On site", "--type", "1", "--publish", "1"]


def _profile_with_edits(data: Path, n: int = 3) -> Path:
    profile = open_profile(data, "default")
    try:
        box = SQLiteBackend(profile.store, FakeClock())
        for i in range(n):
            box.enqueue(NewOperation(OpKind.CREATE, "TicketNotes", {"description": f"edit {i}"}))
        profile.store.checkpoint()
    finally:
        profile.close()
    return profile.paths.database


def _pending(data: Path) -> int:
    profile = open_profile(data, "default")
    try:
        return SQLiteBackend(profile.store, FakeClock()).count()
    finally:
        profile.close()


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FIELD_SYNC_DATA_DIR"}
    return subprocess.run(
        [sys.executable, "-m", "agent", "--data-dir", str(data), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def _state(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.iterdir()
        if p.name.startswith("agent.sqlite3")
        and not p.name.endswith((".lock", "-shm"))
        and p.stat().st_size > 0  # SQLite may leave an empty -wal beside the file it read
    }


def _one_line(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in done.stderr and "damaged" not in done.stderr


def test_a_read_only_database_file_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    database = _profile_with_edits(data)
    before = _state(database.parent)
    with immutable(database):
        for args in (["status"], EDIT):
            _one_line(_cli(data, *args), "read-only", str(database))
            assert _state(database.parent) == before
    assert _pending(data) == 3


def test_a_start_with_the_disk_full_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk", size="8m") as data:
        database = _profile_with_edits(data)
        before = _state(database.parent)
        filler = fill(data)
        for args in (["status"], EDIT):
            _one_line(_cli(data, *args), "full", "Free some space")
            assert _state(database.parent) == before
        filler.unlink()
        assert _pending(data) == 3


def test_a_read_only_data_folder_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    database = _profile_with_edits(data)
    before = _state(database.parent)
    with read_only_view(data, tmp_path / "ro") as view:
        for args in (["status"], EDIT):
            _one_line(_cli(view, *args), "read-only", str(view))
        assert _state(database.parent) == before
    assert _pending(data) == 3
