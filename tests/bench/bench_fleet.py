"""Ten agent processes drain their outboxes at once against the simulator (10,000 requests an
hour, the hour lasting a minute), with the shared budget in Redis and without it: seconds to
drain, the peak of the fleet's requests in any window against its share, 429s. Counted on the
simulator's side (`tests.soak.fleet`). Writes build/bench/fleet.json."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from tests.soak.fleet import FleetPlan, problems, run_fleet

PLAN = {"agents": 10, "notes": 30, "others": 2000, "trip": False, "deadline_s": 300.0}


def figures(result: dict[str, Any]) -> dict[str, Any]:
    keys = ("agents", "edits", "seconds_to_drain", "window_s", "share_per_window")
    out = {k: result[k] for k in keys}
    out.update(
        peak_per_window=result["peak_per_window"],
        peak_to_share=round(result["peak_per_window"] / result["share_per_window"], 3),
        requests_draining=result["requests_draining"],
        status_429=result["status_429"],
        lost=result["lost"],
        duplicated=result["duplicated"],
        problems=problems(result),
    )
    return out


def main(out: Path) -> None:
    runs: dict[str, Any] = {}
    for name, redis in (("with_redis", "own"), ("without_redis", "none")):
        with tempfile.TemporaryDirectory() as d:
            result = asyncio.run(run_fleet(FleetPlan(redis=redis, **PLAN), Path(d)))  # type: ignore[arg-type]
        runs[name] = figures(result)
        print(f"   {name}: {json.dumps(runs[name])}", flush=True)
    with_r, without = runs["with_redis"], runs["without_redis"]
    report = {
        "plan": PLAN,
        **runs,
        "drain_ratio_without_to_with_redis": round(
            without["seconds_to_drain"] / with_r["seconds_to_drain"], 3
        ),
    }
    (out / "fleet.json").write_text(json.dumps(report, indent=2))
