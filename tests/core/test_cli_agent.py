"""Script subcommands against the demo tenant: edit, queue, sync, conflicts, audit, headless."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], data: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--demo", "--data-dir", str(data), *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def tenant_file(data: Path) -> Path:
    return data / "profiles" / "demo" / "demo-tenant.json"


def my_ticket_ids(data: Path) -> list[str]:
    """Tickets the first sync cached for the technician (read straight from the database)."""
    conn = sqlite3.connect(data / "profiles" / "demo" / "agent.sqlite3")
    try:
        rows = conn.execute(
            "SELECT entity_id FROM cached_entity WHERE entity_type='Tickets' ORDER BY entity_id"
        ).fetchall()
    finally:
        conn.close()
    return [str(r[0]) for r in rows]


@pytest.mark.socket
def test_edit_queue_sync_and_audit_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, tmp_path, "sync")[0] == 0
    status = json.loads(run(capsys, tmp_path, "status", "--json")[1])
    assert status["operations"] == {}
    tid = my_ticket_ids(tmp_path)[0]

    code, out, _ = run(capsys, tmp_path, "edit", "ticket", tid, "--title", "Replaced PSU")
    assert code == 0 and "queued as operation" in out
    code, _, err = run(capsys, tmp_path, "edit", "ticket", tid, "--status", "424242")
    assert code == 2 and "not a value this tenant allows" in err
    code, out, _ = run(capsys, tmp_path, "queue", "list")
    assert "1 operation(s)" in out and "Title → Replaced PSU" in out

    code, out, _ = run(capsys, tmp_path, "sync")
    assert code == 0 and "succeeded 1" in out
    saved = json.loads(tenant_file(tmp_path).read_text())["records"]["Tickets"][tid]
    assert saved["title"] == "Replaced PSU"

    code, out, _ = run(capsys, tmp_path, "audit", "verify")
    assert code == 0 and "audit chain ok" in out
    target = tmp_path / "audit.json"
    assert (
        run(capsys, tmp_path, "audit", "export", "--format", "json", "--output", str(target))[0]
        == 0
    )
    actions = [e["action"] for e in json.loads(target.read_text())]
    assert {"edit_captured", "sent", "succeeded"} <= set(actions)
    if os.name == "posix":  # it holds the edits in clear: readable by the user only
        assert target.stat().st_mode & 0o777 == 0o600


@pytest.mark.socket
def test_a_conflict_is_listed_and_resolved_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, tmp_path, "sync")
    state = json.loads(tenant_file(tmp_path).read_text())
    tickets = state["records"]["Tickets"]
    tid = my_ticket_ids(tmp_path)[1]
    base = tickets[tid]["priority"]
    priorities = sorted({p["priority"] for p in tickets.values()} - {base})
    mine, theirs = priorities[0], priorities[1]
    run(capsys, tmp_path, "edit", "ticket", tid, "--priority", str(mine))
    # The dispatcher changes the same field on the server meanwhile.
    tickets[tid]["priority"] = theirs
    tickets[tid]["lastTrackedModificationDateTime"] = "2099-01-01T00:00:00.000Z"
    tenant_file(tmp_path).write_text(json.dumps(state))
    run(capsys, tmp_path, "sync")
    out = run(capsys, tmp_path, "conflicts", "list", "--json")[1]
    conflicts = json.loads(out)
    assert [(c["field"], c["mine"], c["theirs"]) for c in conflicts] == [("priority", mine, theirs)]
    assert run(capsys, tmp_path, "conflicts", "resolve", str(conflicts[0]["id"]), "--mine")[0] == 0
    run(capsys, tmp_path, "sync")
    saved = json.loads(tenant_file(tmp_path).read_text())["records"]["Tickets"][tid]
    assert saved["priority"] == mine
    assert json.loads(run(capsys, tmp_path, "conflicts", "list", "--json")[1]) == []


@pytest.mark.socket
def test_status_and_the_sync_line_name_the_records_from_autotask_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, tmp_path, "sync")[0] == 0
    status = json.loads(run(capsys, tmp_path, "status", "--json")[1])
    assert status["server_records"] == {"skipped": 0, "kept_corrected": 0, "reason": None}
    assert "every record from Autotask was usable" in run(capsys, tmp_path, "status")[1]
    # The dispatcher's title holds a lone surrogate (the JSON escape \ud800): left out.
    state = json.loads(tenant_file(tmp_path).read_text())
    ticket = state["records"]["Tickets"][my_ticket_ids(tmp_path)[0]]
    ticket["title"] = "lone \ud800 surrogate"
    ticket["lastTrackedModificationDateTime"] = (datetime.now(UTC) - timedelta(seconds=1)).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"
    )
    tenant_file(tmp_path).write_text(json.dumps(state))
    reason = "Tickets.title: not valid text"
    code, out, _ = run(capsys, tmp_path, "sync")
    assert code == 0, out
    said = f"0 record(s) skipped, 1 kept with a field left out (last: {reason})"
    assert f"; from Autotask {said}" in out
    code, out, _ = run(capsys, tmp_path, "status")
    assert f"server_records: {said.replace(' record(s)', '')}" in out
    status = json.loads(run(capsys, tmp_path, "status", "--json")[1])
    assert status["server_records"] == {"skipped": 0, "kept_corrected": 1, "reason": reason}


@pytest.mark.socket
def test_headless_demo_runs_until_terminated(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "--headless", "--demo", "--data-dir", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "press Ctrl-C to stop" in line:
                break
        assert any("demo tenant at http://127.0.0.1:" in line for line in lines), lines
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.socket
def test_queue_list_says_when_it_shows_only_the_first_operations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, tmp_path, "sync")[0] == 0
    tickets = my_ticket_ids(tmp_path)[:3]
    for n, tid in enumerate(tickets):
        assert run(capsys, tmp_path, "edit", "ticket", tid, "--title", f"Checked {n}")[0] == 0
    _, out, _ = run(capsys, tmp_path, "queue", "list", "--limit", "2")
    assert "3 operation(s), the first 2 shown" in out
    _, out, _ = run(capsys, tmp_path, "queue", "list")
    assert "3 operation(s)\n" in out


def test_the_sync_line_counts_the_file_uploads_it_started() -> None:
    from agent.cli_agent import sync_line
    from agent.sync.engine import SyncReport

    report = SyncReport()
    report.push.uploads = 7
    assert "file uploads started 7" in sync_line(report)
    assert "upload" not in sync_line(SyncReport())
