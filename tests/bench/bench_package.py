"""Size and start time of the frozen build in dist/ (made by `make package`).

`bundle_mb` is what is shipped (the FieldSync folder, or FieldSync.app), in MiB; the target is at
most 150. `frozen_start_ms` is the median wall time of `FieldSync --version` (the bootloader
unpacking nothing, Python starting, the command-line modules importing) over warm runs; the same
command from source (`python -m agent --version`) is the baseline measured in this run. The
self-test's wall time adds a database, a loopback server, two syncs and Qt offscreen.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.packaging.check_frozen import ROOT, bundle_dir, executable, run_frozen

TARGET_MB = 150.0
RUNS = 5
SELF_TEST_RUNS = 3
MIB = 1024 * 1024


def sizes(folder: Path) -> dict[str, Any]:
    """Total size (links not followed), file count, the biggest files and top-level groups."""
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    total = sum(p.stat().st_size for p in files)
    inner = folder / "Contents" if folder.suffix == ".app" else folder / "_internal"
    groups: dict[str, int] = {}
    for p in files:
        rel = p.relative_to(inner) if p.is_relative_to(inner) else p.relative_to(folder)
        key = "/".join(rel.parts[:2]) if rel.parts[0] in ("PySide6", "Frameworks") else rel.parts[0]
        groups[key] = groups.get(key, 0) + p.stat().st_size
    biggest = sorted(files, key=lambda p: p.stat().st_size, reverse=True)[:10]
    return {
        "bundle_mb": round(total / MIB, 1),
        "files": len(files),
        "largest_files_mb": {
            str(p.relative_to(folder)): round(p.stat().st_size / MIB, 1) for p in biggest
        },
        "groups_mb": {
            k: round(v / MIB, 1)
            for k, v in sorted(groups.items(), key=lambda kv: kv[1], reverse=True)[:12]
        },
    }


def source_start_seconds() -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "agent", "--version"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main(out_dir: Path) -> None:
    dist = ROOT / "dist"
    if not executable(dist).exists():
        result: dict[str, Any] = {"built": False, "note": "no frozen build; run `make package`"}
        (out_dir / "package.json").write_text(json.dumps(result, indent=2) + "\n")
        print(result["note"])
        return
    cold = run_frozen(dist, "--version")[1]  # the first run also warms the file cache
    frozen = [run_frozen(dist, "--version")[1] for _ in range(RUNS)]
    source = [source_start_seconds() for _ in range(RUNS)]
    self_tests = []
    for _ in range(SELF_TEST_RUNS):
        done, seconds = run_frozen(dist, "--self-test")
        if done.returncode != 0:
            raise RuntimeError(f"frozen self-test failed: {done.stderr.strip()}")
        self_tests.append((seconds, json.loads(done.stdout.strip().splitlines()[-1])))
    frozen_ms = statistics.median(frozen) * 1000
    source_ms = statistics.median(source) * 1000
    size = sizes(bundle_dir(dist))
    result = {
        "built": True,
        "platform": sys.platform,
        **size,
        "bundle_target_mb": TARGET_MB,
        "within_target": size["bundle_mb"] <= TARGET_MB,
        "frozen_start_ms": round(frozen_ms),
        "frozen_start_cold_ms": round(cold * 1000),
        "source_start_ms": round(source_ms),
        "frozen_vs_source_start": round(frozen_ms / source_ms, 2),
        "self_test_ms": round(statistics.median(s for s, _ in self_tests) * 1000),
        "self_test_checks_ms": {
            name: check["ms"] for name, check in self_tests[-1][1]["checks"].items()
        },
    }
    (out_dir / "package.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"bundle {result['bundle_mb']} MiB ({result['files']} files, target <= {TARGET_MB}); "
        f"--version {result['frozen_start_ms']} ms frozen vs {result['source_start_ms']} ms "
        f"from source; --self-test {result['self_test_ms']} ms"
    )


if __name__ == "__main__":
    out = Path("build/bench")
    out.mkdir(parents=True, exist_ok=True)
    main(out)
