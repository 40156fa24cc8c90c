"""Running the real `python -m agent` command in a child process, for the command line's tests."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]

    def refused_in_one_line(self) -> str:
        """Exit status 2, no traceback, and exactly one line on stderr (returned)."""
        assert "Traceback" not in self.err, self.err
        assert self.code == 2, (self.code, self.out, self.err)
        assert len(self.err_lines) == 1, self.err
        return self.err_lines[0]


def cli(data: Path, *argv: str | bytes, demo: bool = True, timeout: float = 60) -> Ran:
    """`python -m agent --data-dir DATA [--demo] ARGV...`; bytes pass through as raw argv."""
    args: list[str | bytes] = [sys.executable, "-m", "agent", "--data-dir", str(data)]
    if demo:
        args.append("--demo")
    env = {k: v for k, v in os.environ.items() if k != "FIELD_SYNC_DATA_DIR"}
    # Should the data folder be ignored, the platform's folders are still under the test's own.
    env["XDG_DATA_HOME"] = str(data / "xdg-data")
    env["XDG_STATE_HOME"] = str(data / "xdg-state")
    # Run from the data folder (a relative output path lands there), importing this checkout.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    if not data.exists():
        data.mkdir(parents=True)
    here = data if data.is_dir() else data.parent
    proc = subprocess.run(
        [*args, *argv], cwd=here, capture_output=True, timeout=timeout, env=env, check=False
    )
    return Ran(
        proc.returncode,
        proc.stdout.decode("utf-8", "backslashreplace"),
        proc.stderr.decode("utf-8", "backslashreplace"),
    )


def database(data: Path, profile: str = "demo") -> Path:
    return data / "profiles" / profile / "agent.sqlite3"


def rows(data: Path, sql: str, profile: str = "demo") -> list[tuple[object, ...]]:
    """Read the profile's database directly (ground truth, not the agent's own counters)."""
    conn = sqlite3.connect(f"file:{database(data, profile)}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql).fetchall())
    finally:
        conn.close()


def chattr(path: Path, flag: str) -> bool:
    """Set or clear the immutable flag (`+i` / `-i`); False where the file system refuses."""
    done = subprocess.run(["chattr", flag, str(path)], capture_output=True, check=False)
    return done.returncode == 0
