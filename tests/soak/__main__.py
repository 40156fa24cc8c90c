"""`make soak`: the full fault soak (5,000 operations) and crash soak (2,000 operations, 100
SIGKILLs), written to build/bench/soak.json. Exit status 1 when anything was lost, duplicated or
mismatched."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from tests.soak.crash_soak import run_crash_soak
from tests.soak.fault_soak import run_fault_soak

OUT = Path("build/bench/soak.json")


def main() -> int:
    results = {}
    with tempfile.TemporaryDirectory() as d:
        started = time.monotonic()
        fault = asyncio.run(run_fault_soak(Path(d), ops=5000))
        fault["wall_s"] = round(time.monotonic() - started, 1)
        results["fault"] = fault
        print("fault soak:", json.dumps(fault), flush=True)
    with tempfile.TemporaryDirectory() as d:
        crash = run_crash_soak(Path(d), ops=2000, kills=100)
        results["crash"] = crash
        print("crash soak:", json.dumps(crash), flush=True)
    summary = {
        key: sum(int(r[key]) for r in results.values())
        for key in ("lost", "duplicates", "mismatched")
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                **results,
                "ops": results["fault"]["ops"],
                "kills": results["crash"]["kills"],
                "parked": results["fault"]["parked"] + results["crash"]["parked"],
                **summary,
            },
            indent=2,
        )
    )
    print(f"wrote {OUT}")
    ok = not any(summary.values()) and all(r["integrity"] == "ok" for r in results.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
