"""A windowed build has no standard streams (sys.stdout and sys.stderr are None): commands, the
self-test and the demo server still work, and the self-test never writes to the user's log."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent import cli

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def no_streams() -> Iterator[None]:
    """sys.stdout and sys.stderr are None, as in a windowed PyInstaller executable; whatever the
    program put in their place is closed, and the real ones come back. (Set inside the test:
    pytest's capture puts its own streams back between a fixture's setup and the test.)"""
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = None
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None and stream not in saved:
                stream.close()
        sys.stdout, sys.stderr = saved


def test_a_command_runs_without_standard_streams(data_dir: Path) -> None:
    with no_streams():
        assert cli.main(["status", "--json"]) == 0
    assert (data_dir / "logs").is_dir(), "the command did run against its profile"


def test_a_failing_command_without_standard_streams_ends_with_status_2(data_dir: Path) -> None:
    with no_streams():
        assert cli.main(["settings", "set", "no_such_setting", "1"]) == 2


def test_the_demo_server_starts_without_standard_streams() -> None:
    from agent.simulator import Simulator, serve_in_thread

    sim = Simulator(seed="streams", tickets=3)
    with no_streams(), serve_in_thread(sim) as base:
        reply = httpx.get(f"{base}/_sim/state", params={"entity": "Tickets"})
    assert reply.json()["count"] == 3


def test_a_self_test_failure_is_not_written_to_the_users_log(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent import selftest

    def broken() -> int:
        raise RuntimeError("the self-test itself broke")

    monkeypatch.setattr(selftest, "run_self_test", broken)
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # no log opened by earlier tests
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the traceback is spilled
    assert cli.main(["--self-test"]) == 2
    assert list(data_dir.iterdir()) == [], "nothing of the user's profile was opened"


def _close_standard_streams() -> None:
    os.close(1)
    os.close(2)


@pytest.mark.skipif(sys.platform == "win32", reason="closes descriptors in a forked child")
def test_the_self_test_passes_with_its_standard_streams_closed(tmp_path: Path) -> None:
    """`FieldSync --self-test >&- 2>&-`: Python then starts with sys.stdout and sys.stderr None."""
    user_data = tmp_path / "user-data"
    env = {
        **os.environ,
        "FIELD_SYNC_DATA_DIR": str(user_data),
        "QT_QPA_PLATFORM": "offscreen",
        "TMPDIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "agent", "--self-test"],
        cwd=ROOT,
        env=env,
        preexec_fn=_close_standard_streams,  # as a shell does for `>&- 2>&-`
        timeout=50,
        check=False,
    )
    assert done.returncode == 0
    assert not user_data.exists(), "nothing went to the user's data folder or log"
    spilled = [p.name for p in tmp_path.iterdir() if p.name.startswith("field-sync-error-")]
    assert spilled == [], "no failure was reported"
