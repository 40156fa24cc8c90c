"""A defect met while the log folder cannot be written still ends in one line on stderr: its
traceback goes to a private file of its own, named in that line, with secrets masked."""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import logs
from agent.cli_errors import EXIT_ERROR, report


@pytest.fixture
def no_log_file(tmp_path: Path) -> Iterator[None]:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the log folder should be")
    root = logging.getLogger()
    before = list(root.handlers)
    logs.configure(blocked / "logs" / "agent.log")
    assert logs.current_log_file() is None
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
                handler.close()


def test_a_defect_without_a_log_file_is_one_line_and_its_traceback_a_private_file(
    no_log_file: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.register_secret("hunter2-secret")
    capsys.readouterr()
    try:
        raise RuntimeError("boom while holding hunter2-secret")
    except RuntimeError as exc:
        code = report(exc, database=None)
    err = capsys.readouterr().err
    assert code == EXIT_ERROR
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "the details are in " in lines[0]
    spilled = Path(lines[0].rsplit("the details are in ", 1)[1].strip())
    text = spilled.read_text()
    assert "Traceback" in text and "RuntimeError" in text
    assert "hunter2-secret" not in text + err
    assert stat.S_IMODE(spilled.stat().st_mode) == 0o600
    spilled.unlink()
