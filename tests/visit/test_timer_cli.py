"""The stopwatch from the command line, and through a crash: real `python -m agent` processes on
the demo tenant, counted on the demo tenant's own records."""

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
from agent.clock import SystemClock
from tests.core.cli_run import ROOT, cli, database


def demo_ticket(data: Path) -> int:
    """A ticket of the technician's list, after a first sync."""
    assert cli(data, "sync").code == 0
    conn = sqlite3.connect(database(data))
    try:
        row = conn.execute(
            "SELECT entity_id FROM cached_entity WHERE entity_type = 'Tickets' "
            "AND deleted_on_server = 0 ORDER BY entity_id LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    return int(row[0])


def tenant_entries(data: Path, summary: str) -> list[dict]:
    """Time entries in the demo tenant's own records (saved as the demo closes)."""
    saved = json.loads((data / "profiles" / "demo" / "demo-tenant.json").read_text())
    return [e for e in saved["records"]["TimeEntries"].values() if e["summaryNotes"] == summary]


def status(data: Path) -> dict:
    ran = cli(data, "edit", "timer", "status", "--json")
    assert ran.code == 0, ran.err
    return json.loads(ran.out)


def run(capsys: pytest.CaptureFixture[str], data: Path, *argv: str) -> tuple[int, str, str]:
    """The command in this process (`main` as `python -m agent` runs it)."""
    code = main(["--demo", "--data-dir", str(data), *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line(ran: tuple[int, str, str]) -> str:
    code, _, err = ran
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, ran
    return lines[0]


@pytest.mark.socket
def test_timer_start_stop_log_and_discard_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    ticket = demo_ticket(data)

    def timer(*argv: str) -> tuple[int, str, str]:
        return run(capsys, data, "edit", "timer", *argv)

    def state() -> dict:
        code, out, err = timer("status", "--json")
        assert code == 0, err
        return json.loads(out)

    assert timer("start", str(ticket))[0] == 0
    running = state()["running"]
    assert running["ticket_id"] == ticket
    other = one_line(timer("start", str(ticket + 1)))
    assert "already running" in other and "--switch" in other
    assert "--summary" in one_line(timer("stop", "--log"))
    after = state()["running"]
    assert after["started_at"] == running["started_at"] and after["ticket_id"] == ticket
    code, out, _ = timer("stop")
    assert code == 0 and "stopped" in out and "--log" in out
    drafts = state()["drafts"]
    assert [d["ticket_id"] for d in drafts] == [ticket] and state()["running"] is None
    # The technician says when it really ended: eleven hours after the start.
    end = (
        datetime.fromtimestamp(int(running["started_at"]), UTC) + timedelta(hours=11)
    ).isoformat()
    logging = ("stop", "--log", "--summary", "Timed on site", "--end", end)
    refused = one_line(timer(*logging))
    assert "more than 10 hours" in refused and "--confirm-long" in refused
    assert [d["id"] for d in state()["drafts"]] == [drafts[0]["id"]]  # kept as it was
    code, out, err = timer(*logging, "--confirm-long")
    assert code == 0 and "queued as operation" in out, err
    assert timer("start", str(ticket))[0] == 0
    code, out, _ = timer("stop", "--discard")
    assert code == 0 and "discarded" in out
    assert state() == {"running": None, "drafts": []}
    assert "no timer is running" in one_line(timer("stop"))
    assert run(capsys, data, "sync")[0] == 0
    entries = tenant_entries(data, "Timed on site")
    assert len(entries) == 1
    assert (entries[0]["ticketID"], entries[0]["hoursWorked"]) == (ticket, 11)
    assert entries[0]["roleID"] == drafts[0]["role_id"]


@pytest.mark.socket
def test_stopping_twice_says_no_timer_is_running_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    ticket = demo_ticket(data)

    def timer(*argv: str) -> tuple[int, str, str]:
        return run(capsys, data, "edit", "timer", *argv)

    assert timer("start", str(ticket))[0] == 0
    code, out, _ = timer("stop")
    assert code == 0 and "stopped" in out
    (draft,) = status(data)["drafts"]
    again = one_line(timer("stop"))
    assert "no timer is running" in again and f"--draft {draft['id']}" in again
    assert [d["id"] for d in status(data)["drafts"]] == [draft["id"]]  # still waiting
    code, out, err = timer("stop", "--discard")  # the stopped one is still reached this way
    assert code == 0 and "discarded" in out, err


@pytest.mark.socket
def test_a_clock_set_back_while_the_timer_ran_is_said_at_the_stop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    ticket = demo_ticket(data)

    def timer(*argv: str) -> tuple[int, str, str]:
        return run(capsys, data, "edit", "timer", *argv)

    assert timer("start", str(ticket))[0] == 0
    real = SystemClock.now
    monkeypatch.setattr(SystemClock, "now", lambda self: real(self) - timedelta(hours=1))
    code, out, err = timer("stop")
    monkeypatch.undo()
    assert code == 0, err
    assert "clock" in out and "before the timer's start" in out and "--end" in out, out
    (draft,) = status(data)["drafts"]
    assert draft["stopped_at"] == draft["started_at"] and draft["clock_set_back"] > 3500
    refused = one_line(timer("stop", "--log", "--summary", "Timed", "--draft", str(draft["id"])))
    assert "clock" in refused and "--end" in refused
    assert [d["id"] for d in status(data)["drafts"]] == [draft["id"]]


def test_a_running_timer_survives_a_crash_of_the_process(tmp_path: Path) -> None:
    """SIGKILLed while its timer runs, the agent reopens with the timer running from its start."""
    data = tmp_path / "data"
    ticket = demo_ticket(data)
    env = {k: v for k, v in os.environ.items() if k != "FIELD_SYNC_DATA_DIR"}
    env["XDG_DATA_HOME"] = str(data / "xdg-data")
    env["XDG_STATE_HOME"] = str(data / "xdg-state")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.visit.timer_child", str(data), str(ticket)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("started "), line
        started = float(line.split()[1])
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    running = status(data)["running"]
    assert running is not None
    assert (running["ticket_id"], running["started_at"]) == (ticket, started)
    stopped = cli(data, "edit", "timer", "stop", "--log", "--summary", "After the crash")
    assert stopped.code == 0, stopped.err
    assert cli(data, "sync").code == 0
    assert len(tenant_entries(data, "After the crash")) == 1
