"""A hostile machine (read-only log folder, read-only database, full disk, a defect) never ends a
command in a traceback: one line on stderr, exit status 2, and nothing already saved is lost.

The command line's `main` runs in this process as it would in a child (`tests.core.cli_inproc`),
except where the process is the point (a reader that goes away) or a command that failed to
refuse would run on and never return (a server on a port in use): there a real `python -m agent`
runs, ended by its timeout."""

from __future__ import annotations

import contextlib
import gc
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core import cli_run
from tests.core.cli_inproc import cli
from tests.core.cli_run import ROOT, chattr, database, rows

NOTE = ["edit", "note", "1", "--type", "1", "--publish", "1", "--text"]


def need(done: bool, what: str) -> None:
    """Skip where the machine cannot make the condition; in CI fail instead."""
    if not done:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{what} is not possible here, and CI must run this test")
        pytest.skip(f"{what} is not possible here")


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    need(chattr(path, "+i"), "chattr +i")
    try:
        yield
    finally:
        chattr(path, "-i")


def outbox(data: Path) -> list[tuple[object, ...]]:
    return rows(data, "SELECT id, state, fields FROM outbox_op ORDER BY id")


@pytest.mark.socket
def test_a_read_only_log_folder_logs_to_stderr_and_the_command_still_works(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    with immutable(logs):  # the log file does not exist yet and cannot be created
        ran = cli(tmp_path, *NOTE, "written without a log file")
    assert "Traceback" not in ran.err and ran.code == 0, ran.err
    assert "queued as operation" in ran.out
    assert len(ran.err_lines) == 1
    assert ran.err_lines[0].startswith("warning: cannot write the log file")
    assert str(logs / "demo.log") in ran.err_lines[0]
    assert "written without a log file" in str(outbox(tmp_path))
    assert not (logs / "demo.log").exists()


@pytest.mark.socket
def test_a_read_only_database_is_one_line_and_keeps_its_content(tmp_path: Path) -> None:
    assert cli(tmp_path, *NOTE, "saved before").code == 0
    db = database(tmp_path)
    before_bytes, before_ops = db.read_bytes(), outbox(tmp_path)
    with immutable(db):
        for argv in (
            ["settings", "set", "sync_interval_s", "120"],
            [*NOTE, "not saved"],
            ["queue", "list"],
        ):
            line = cli(tmp_path, *argv).refused_in_one_line()
            assert str(db) in line and "read-only" in line, line
    assert db.read_bytes() == before_bytes
    assert outbox(tmp_path) == before_ops


@contextlib.contextmanager
def small_disk(size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted on a new temporary folder (needs root)."""
    where = Path(tempfile.mkdtemp(prefix="field-sync-full-"))
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    try:
        need(mounted, "mounting a small tmpfs")
        yield where
    finally:
        if mounted:
            subprocess.run(["umount", str(where)], check=False)
        where.rmdir()


def fill(disk: Path) -> Path:
    """Fill the disk to the last byte (big writes, then smaller ones, until none fits)."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as out:
        for chunk in (1 << 20, 1 << 16, 1 << 12, 1):
            with contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * chunk)
    return filler


def assert_full_disk_refusal(ran_err: str, code: int) -> str:
    assert "Traceback" not in ran_err and code == 2, ran_err
    lines = [line for line in ran_err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and "full" in errors[0], lines
    # at most one more line: the warning that the log file cannot be written either
    assert all(line.startswith("warning: the log file") for line in lines if line not in errors)
    assert len(lines) <= 2
    return errors[0]


def saved_notes(data: Path) -> str:
    """Every queued note's fields in the database file and in any copy moved aside beside it."""
    found = []
    for db in database(data).parent.glob("agent.sqlite3*"):
        if db.name.endswith(("-wal", "-shm", ".lock")):
            continue
        with contextlib.suppress(sqlite3.Error):
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                found += [r[0] for r in conn.execute("SELECT fields FROM outbox_op")]
            finally:
                conn.close()
    return " ".join(str(f) for f in found)


@pytest.mark.socket
def test_a_start_with_the_disk_full_is_one_line_and_deletes_nothing(tmp_path: Path) -> None:
    with small_disk("8m") as disk:
        try:
            data = disk / "data"
            assert cli(data, *NOTE, "saved before the disk filled").code == 0
            filler = fill(disk)
            for argv in ([*NOTE, "while full"], ["settings", "set", "sync_interval_s", "120"]):
                ran = cli(data, *argv)
                assert_full_disk_refusal(ran.err, ran.code)
            ran = cli(disk / "fresh", "settings", "list", demo=False)  # a first start: no files
            assert_full_disk_refusal(ran.err, ran.code)
            filler.unlink()
            # The saved edit is still in the database, where it was: nothing was moved aside.
            assert not [p for p in database(data).parent.iterdir() if ".corrupt-" in p.name]
            notes = saved_notes(data)
            assert "saved before the disk filled" in notes and "while full" not in notes
        finally:  # a refused first start leaves its database file to the collector (see cli_inproc)
            gc.collect()


@pytest.mark.socket
def test_a_metrics_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ran = cli_run.cli(tmp_path, "--headless", "--metrics-port", str(port))
    line = ran.refused_in_one_line()
    assert f"127.0.0.1:{port}" in line and "--metrics-port" in line


@pytest.mark.socket
def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    for n in range(3):
        assert cli(tmp_path, *NOTE, f"note {n}").code == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "--data-dir", str(tmp_path), "--demo", "queue", "list"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `| head -0`
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141 and err == ""


@pytest.mark.parametrize("argv", [["--port", "99999"], ["--time-scale", "nan"], ["--tickets", "0"]])
def test_the_simulator_refuses_bad_options_in_one_line(tmp_path: Path, argv: list[str]) -> None:
    line = cli(tmp_path, "simulator", *argv, demo=False).refused_in_one_line()
    assert line.startswith("simulator: error: argument")


@pytest.mark.socket
def test_the_simulator_on_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = cli_run.cli(
            tmp_path, "simulator", "--port", str(port), demo=False
        ).refused_in_one_line()
    assert f"127.0.0.1:{port}" in line


def test_status_without_a_keyring_still_tells_the_profile_and_what_was_salvaged(
    tmp_path: Path,
) -> None:
    """The child has no system keyring (nothing is configured for it): `status` cannot say
    whether credentials are saved, but says everything else, a salvage included."""
    data = tmp_path / "data"
    for n in range(3):
        assert cli(data, *NOTE, f"unsent note {n}").code == 0
    db = database(data)
    raw = db.read_bytes()
    db.write_bytes(raw[: len(raw) // 2])  # damaged: the file ends half way
    ran = cli(data, "status")
    assert ran.code == 0, ran.err
    assert "no system keyring" in ran.out
    assert "salvaged" in ran.out or "recovered" in ran.out, ran.out
