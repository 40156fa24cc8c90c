"""Killing the agent in the middle of enqueueing loses nothing it confirmed and leaves nothing
half-written. Each child is a real process killed with SIGKILL; they are forked from one that
imported the agent once (`tests.queue.enqueue_forks`)."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.store import Store
from agent.store import audit as audit_trail

KILLS = 20
ROOT = Path(__file__).resolve().parents[2]


def _run_and_kill(forks: subprocess.Popen[str], delay: float) -> list[int]:
    """One child enqueueing, killed with SIGKILL `delay` seconds after it is ready; the ids it
    printed (each once its enqueue had returned)."""
    assert forks.stdin is not None and forks.stdout is not None
    forks.stdin.write("go\n")
    forks.stdin.flush()
    said, pid = forks.stdout.readline().split()
    assert said == "pid"
    assert forks.stdout.readline().strip() == "ready"
    printed: list[str] = []

    def read() -> None:
        assert forks.stdout is not None
        for line in forks.stdout:
            printed.append(line)
            if line.startswith("dead "):
                return

    reader = threading.Thread(target=read)
    reader.start()
    # wall-clock waiting is the point here: the kill must land at an arbitrary moment
    time.sleep(delay)
    with contextlib.suppress(ProcessLookupError):  # ended on its own: said just below
        os.kill(int(pid), signal.SIGKILL)
    reader.join()
    status = int(printed.pop().split()[1])
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, printed[-5:]
    return [int(line) for line in printed if line.strip().isdigit()]


@contextlib.contextmanager
def children(db: Path) -> Iterator[subprocess.Popen[str]]:
    """A process that forks the enqueueing children (the agent imported once, not per child)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    forks = subprocess.Popen(
        [sys.executable, "-m", "tests.queue.enqueue_forks", str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env=env,
        text=True,
    )
    assert forks.stdout is not None and forks.stdin is not None
    try:
        assert forks.stdout.readline().strip() == "loaded"
        yield forks
    finally:
        forks.stdin.close()
        assert forks.wait(timeout=30) == 0
        forks.stdout.close()


@pytest.mark.slow
def test_sigkill_during_enqueue_keeps_every_confirmed_operation_and_no_partial_one(
    tmp_path: Path,
) -> None:
    db = tmp_path / "agent.db"
    rng = random.Random(7)
    confirmed: list[int] = []
    with children(db) as forks:
        for _ in range(KILLS):
            confirmed.extend(_run_and_kill(forks, rng.uniform(0.01, 0.12)))
    assert len(confirmed) > KILLS

    with Store(db) as store:
        assert store.integrity_check() == "ok"
        assert store.read(audit_trail.verify).ok
    conn = sqlite3.connect(db)
    try:
        present = {row[0] for row in conn.execute("SELECT id FROM outbox_op")}
        assert set(confirmed) <= present
        assert conn.execute("SELECT COUNT(*) FROM outbox_op WHERE fields IS NULL").fetchone() == (
            0,
        )
        orphans = conn.execute(
            "SELECT COUNT(*) FROM op_dependency d LEFT JOIN outbox_op a ON a.id=d.op_id "
            "LEFT JOIN outbox_op b ON b.id=d.depends_on_id WHERE a.id IS NULL OR b.id IS NULL"
        ).fetchone()
        assert orphans == (0,)
        # every note waits for its ticket's create: the note and its dependency commit together
        unlinked = conn.execute(
            "SELECT COUNT(*) FROM outbox_op o WHERE o.parent_temp_id IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM op_dependency d WHERE d.op_id=o.id)"
        ).fetchone()
        assert unlinked == (0,)
        # every operation has its audit event (same transaction)
        missing = conn.execute(
            "SELECT COUNT(*) FROM outbox_op o WHERE NOT EXISTS "
            "(SELECT 1 FROM audit_event e WHERE e.op_id=o.id)"
        ).fetchone()
        assert missing == (0,)
    finally:
        conn.close()
