"""The command line's last line of defence, in process: errors meant for people print their own
message, SQLite failures are named by result code, a defect leaves its traceback in the log file,
and a log file that stops being writable costs one warning line, not a traceback per record."""

from __future__ import annotations

import argparse
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import cli, logs
from agent.store.errors import translate


@pytest.fixture(autouse=True)
def fresh_logging() -> Iterator[None]:
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_field_sync", False):
            root.removeHandler(handler)
            handler.close()


def failing_with(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    def command(args: argparse.Namespace) -> int:
        raise exc

    monkeypatch.setitem(cli.COMMANDS, "status", command)


def full_database_error(tmp_path: Path) -> sqlite3.Error:
    """A real SQLITE_FULL: a database capped at a few pages, then written past the cap."""
    conn = sqlite3.connect(tmp_path / "capped.sqlite3")
    try:
        conn.execute("CREATE TABLE t (x BLOB)")
        conn.commit()
        conn.execute("PRAGMA max_page_count = 3")
        with pytest.raises(sqlite3.Error) as raised:
            conn.execute("INSERT INTO t VALUES (zeroblob(100000))")
        return raised.value
    finally:
        conn.close()


def read_only_database_error(tmp_path: Path) -> sqlite3.Error:
    """A real SQLITE_READONLY: a write through a connection opened read-only."""
    db = tmp_path / "ro.sqlite3"
    sqlite3.connect(db).close()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        with pytest.raises(sqlite3.Error) as raised:
            conn.execute("CREATE TABLE t (x)")
        return raised.value
    finally:
        conn.close()


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = cli.main(["--data-dir", str(tmp_path / "data"), "status"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, [line for line in err.splitlines() if line.strip()]


def test_a_typed_disk_full_error_is_its_message_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    typed = translate(full_database_error(tmp_path), tmp_path / "x.sqlite3")
    failing_with(monkeypatch, typed)
    code, lines = run(tmp_path, capsys)
    assert code == 2 and lines == [f"error: {typed}"]
    assert "is full" in lines[0]


@pytest.mark.parametrize(
    ("make", "said"),
    [(full_database_error, "is full"), (read_only_database_error, "read-only")],
)
def test_an_untyped_sqlite_failure_is_named_by_its_result_code(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    make: object,
    said: str,
) -> None:
    import peewee

    cause = make(tmp_path)  # type: ignore[operator]
    try:  # wrapped the way peewee wraps it
        raise peewee.OperationalError(cause) from cause
    except peewee.OperationalError as wrapped:
        failing_with(monkeypatch, wrapped)
    code, lines = run(tmp_path, capsys)
    db = tmp_path / "data" / "profiles" / "default" / "agent.sqlite3"
    assert code == 2 and len(lines) == 1
    assert said in lines[0] and str(db) in lines[0]


def test_a_defect_is_one_line_naming_the_log_which_holds_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    failing_with(monkeypatch, RuntimeError("unforeseen\nsecond line"))
    code, lines = run(tmp_path, capsys)
    log_file = tmp_path / "data" / "logs" / "default.log"
    assert code == 2 and len(lines) == 1
    assert "RuntimeError: unforeseen second line" in lines[0] and str(log_file) in lines[0]
    text = log_file.read_text()
    assert "Traceback (most recent call last)" in text and "RuntimeError: unforeseen" in text


def test_a_log_file_that_stops_taking_writes_warns_once_then_uses_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    handler = logs.configure(tmp_path / "logs" / "agent.log")
    assert isinstance(handler, logs.PrivateRotatingFileHandler)
    assert handler.stream is not None
    handler.stream.close()
    handler.stream = open("/dev/full", "w", encoding="utf-8")  # noqa: SIM115 (the handler closes it)
    log = logging.getLogger("agent.test")
    log.info("first")
    log.warning("second")
    log.info("third")
    log.error("fourth")
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert "Traceback" not in err and "Logging error" not in err
    assert lines[0].startswith("warning: the log file") and "No space left" in lines[0]
    assert [line.rsplit(": ", 1)[-1] for line in lines[1:]] == ["second", "fourth"]
    assert logs.current_log_file() is None
