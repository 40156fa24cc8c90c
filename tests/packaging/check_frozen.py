"""Check the frozen build in dist/: `--version` names this version and `--self-test` passes.

On Windows both run through FieldSync-cli.exe, the console companion of the windowed
FieldSync.exe (which has no standard output), and both executables must be there.

Run after `make package` (CI runs it after `make test`):
    python tests/packaging/check_frozen.py [--dist dist]
Exit status 0 when the build works; otherwise the failing step and its output are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from agent import __version__  # noqa: E402

APP = "FieldSync"
CLI = "FieldSync-cli"


def bundle_dir(dist: Path) -> Path:
    """The folder that is shipped: FieldSync.app on macOS, else the FieldSync folder."""
    app = dist / f"{APP}.app"
    return app if sys.platform == "darwin" and app.is_dir() else dist / APP


def executable(dist: Path) -> Path:
    """The executable that prints: the console companion on Windows, else the program itself."""
    if sys.platform == "darwin" and (dist / f"{APP}.app").is_dir():
        return dist / f"{APP}.app" / "Contents" / "MacOS" / APP
    return dist / APP / (f"{CLI}.exe" if sys.platform == "win32" else APP)


def run_frozen(
    dist: Path, *args: str, timeout: float = 120
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run the frozen program away from the source tree, with no display; (result, seconds)."""
    with tempfile.TemporaryDirectory(prefix="fieldsync-frozen-") as home:
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "FIELD_SYNC_DATA_DIR": str(Path(home) / "data"),
            "PYTHONPATH": "",  # the build must not lean on the source tree or the venv
        }
        started = time.perf_counter()
        done = subprocess.run(
            [str(executable(dist)), *args],
            cwd=home,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return done, time.perf_counter() - started


def check_version(dist: Path) -> str:
    done, _ = run_frozen(dist, "--version")
    out = (done.stdout or done.stderr).strip()
    if done.returncode != 0 or __version__ not in out:
        raise SystemExit(f"--version failed (exit {done.returncode}): {out!r}")
    return out


def check_self_test(dist: Path) -> dict[str, Any]:
    done, seconds = run_frozen(dist, "--self-test")
    if done.returncode != 0:
        raise SystemExit(
            f"--self-test failed (exit {done.returncode})\n{done.stdout}\n{done.stderr}"
        )
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    problems = [
        problem
        for problem, bad in (
            ("not ok", summary.get("ok") is not True),
            ("not frozen", summary.get("frozen") is not True),
            (f"version {summary.get('version')}", summary.get("version") != __version__),
            ("checks missing", set(summary.get("checks", {})) != {"sync", "keyring", "qt"}),
            ("qt skipped", "skipped" in summary.get("checks", {}).get("qt", {})),
        )
        if bad
    ]
    if problems:
        raise SystemExit(f"--self-test summary is wrong ({', '.join(problems)}): {summary}")
    summary["wall_ms"] = round(seconds * 1000)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    program = executable(args.dist)
    expected = [program, *([args.dist / APP / f"{APP}.exe"] if sys.platform == "win32" else [])]
    missing = [str(p) for p in expected if not p.exists()]
    if missing:
        print(f"no frozen build at {', '.join(missing)}; run `make package`", file=sys.stderr)
        return 2
    version = check_version(args.dist)
    summary = check_self_test(args.dist)
    checks = summary["checks"]
    print(f"frozen build OK: {version}; self-test {summary['wall_ms']} ms")
    print(f"  sync: {checks['sync']['tickets']} tickets, {checks['sync']['api_calls']} API calls")
    print(f"  keyring: {checks['keyring']['backend']}")
    print(f"  qt {checks['qt']['qt']}: platforms {', '.join(checks['qt']['platforms'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
