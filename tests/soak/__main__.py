"""`make soak`: the full fault soak (5,000 operations), crash soak (2,000 operations, 100
SIGKILLs), each with a visit's edits among them (checklist items, service calls completed, parts
added, changed and deleted, stopwatch time, attached files), the adversarial scenarios
(`adversarial`, `adversarial_disk`) and the fleet (ten agent processes: one shared budget in the
real Redis with one agent's breaker stopping the others, then a Redis of the run stopped
mid-drain and started again), written to build/bench/soak.json.
Exit status 1 when anything was lost, duplicated or mismatched.

`--only fault|crash|adversarial` runs one part (the JSON then holds only that part).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import keyring

from agent.credentials import InProcessKeyring
from tests.soak.adversarial import run_adversarial
from tests.soak.crash_soak import run_crash_soak
from tests.soak.fault_soak import run_fault_soak
from tests.soak.fleet import FleetPlan, problems, run_fleet

OUT = Path("build/bench/soak.json")
PARTS = ("fault", "crash", "adversarial", "fleet")


def adversarial(workdir: Path) -> dict[str, Any]:
    """The scenarios on an in-memory keyring (as in the tests; never the user's own)."""
    import keyring

    from tests.keyring_backend import MemoryKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        return asyncio.run(run_adversarial(workdir, full=True))
    finally:
        keyring.set_keyring(previous)


def fleet() -> dict[str, Any]:
    """Ten agents, twice: through the real Redis (one trips a breaker first), and through a
    Redis of this run that is stopped mid-drain and started again."""
    runs: dict[str, Any] = {}
    plans = {
        "shared_redis": FleetPlan(agents=10, notes=30, others=2000, redis="shared", trip=True),
        "redis_restarted": FleetPlan(
            agents=10, notes=30, others=2000, redis="own", restart_redis=True, trip=False
        ),
    }
    for name, plan in plans.items():
        with tempfile.TemporaryDirectory() as d:
            result = asyncio.run(run_fleet(plan, Path(d)))
        result["problems"] = problems(result)
        runs[name] = result
        print(f"fleet {name}:", json.dumps({k: v for k, v in result.items() if k != "plan"}))
    return {
        "runs": runs,
        "lost": sum(r["lost"] for r in runs.values()),
        "duplicates": sum(r["duplicated"] for r in runs.values()),
        "mismatched": sum(len(r["problems"]) for r in runs.values()),
        "parked": 0,
        "integrity": "ok",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak")
    parser.add_argument("--only", choices=PARTS, action="append")
    parts = parser.parse_args(argv).only or list(PARTS)
    # Profiles here are real ones, encrypted at rest: their data key lives in a keyring of this
    # process (the machine running them may have none).
    keyring.set_keyring(InProcessKeyring())
    results: dict[str, dict[str, Any]] = {}
    if "fault" in parts:
        with tempfile.TemporaryDirectory() as d:
            started = time.monotonic()
            fault = asyncio.run(run_fault_soak(Path(d), ops=5000))
            fault["wall_s"] = round(time.monotonic() - started, 1)
            results["fault"] = fault
            print("fault soak:", json.dumps(fault), flush=True)
    if "crash" in parts:
        with tempfile.TemporaryDirectory() as d:
            crash = run_crash_soak(Path(d), ops=2000, kills=100)
            results["crash"] = crash
            print("crash soak:", json.dumps(crash), flush=True)
    if "adversarial" in parts:
        with tempfile.TemporaryDirectory() as d:
            started = time.monotonic()
            adv = adversarial(Path(d))
            adv["wall_s"] = round(time.monotonic() - started, 1)
            results["adversarial"] = adv
            for name, r in adv["scenarios"].items():
                print(
                    f"adversarial {name}: lost={r.get('lost')} duplicates={r.get('duplicates')} "
                    f"mismatched={r.get('mismatched')}"
                    + (f" error={r['error']}" if "error" in r else ""),
                    flush=True,
                )
    if "fleet" in parts:
        results["fleet"] = fleet()
    summary = {
        key: sum(int(r[key]) for r in results.values())
        for key in ("lost", "duplicates", "mismatched")
    }
    extra: dict[str, Any] = {"parked": sum(int(r["parked"]) for r in results.values())}
    if "fault" in results:
        extra["ops"] = results["fault"]["ops"]
    if "crash" in results:
        extra["kills"] = results["crash"]["kills"]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({**results, **extra, **summary}, indent=2))
    print(f"wrote {OUT}")
    errors = [
        name
        for name, r in results.get("adversarial", {}).get("scenarios", {}).items()
        if "error" in r
    ]
    ok = (
        not any(summary.values())
        and not errors
        and all(r["integrity"] == "ok" for r in results.values())
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
