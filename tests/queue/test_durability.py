"""Killing the agent in the middle of enqueueing loses nothing it confirmed and leaves nothing
half-written."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agent.store import Store
from agent.store import audit as audit_trail

KILLS = 20
ROOT = Path(__file__).resolve().parents[2]


def _run_and_kill(db: Path, delay: float) -> list[int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.queue.enqueue_child", str(db)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env=env,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    printed: list[str] = []
    reader = threading.Thread(target=lambda: printed.extend(child.stdout or []))
    reader.start()
    # wall-clock waiting is the point here: the kill must land at an arbitrary moment
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()
    reader.join()
    child.stdout.close()
    return [int(line) for line in printed if line.strip().isdigit()]


@pytest.mark.slow
def test_sigkill_during_enqueue_keeps_every_confirmed_operation_and_no_partial_one(
    tmp_path: Path,
) -> None:
    db = tmp_path / "agent.db"
    rng = random.Random(7)
    confirmed: list[int] = []
    for _ in range(KILLS):
        confirmed.extend(_run_and_kill(db, rng.uniform(0.01, 0.12)))
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
