"""Ten agent processes drain their outboxes at once against the simulator (10,000 requests an
hour, the hour lasting a minute): with the shared budget in Redis, without Redis, and with a
Redis of the run stopped mid-drain and started again, and without Redis or a `fleet_size` from
the policy (each agent finds the others in the tenant's growth). Seconds to drain, the peak of
the fleet's requests in any window against its share, 429s, edits lost or duplicated: all
counted on the simulator's side (`tests.soak.fleet`). Writes build/bench/fleet.json.

Baselines, measured in the same run: the fleet's share of the tenant's window for each run's
peak (the promise is to stay at or below it), and the same ten agents without Redis (each
pacing on its own part of the share) for the drain time with Redis."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from tests.bench.runinfo import figure
from tests.soak.fleet import FleetPlan, problems, run_fleet

PLAN = {"agents": 10, "notes": 30, "others": 2000, "trip": False, "deadline_s": 300.0}
RUNS = {
    "with_redis": {"redis": "own"},
    "without_redis": {"redis": "none"},
    # No policy saying how many they are: each finds the others in the tenant's growth.
    "without_redis_or_fleet_size": {"redis": "none", "fleet_size": 1},
    "redis_restarted": {"redis": "own", "restart_redis": True},
}
SHARE = "the fleet's share of one window: quota_share of what the tenant's other integrations leave"


def figures(result: dict[str, Any]) -> dict[str, Any]:
    keys = ("agents", "edits", "seconds_to_drain", "window_s", "share_per_window")
    out = {k: result[k] for k in keys}
    out.update(
        peak_per_window=figure(
            result["peak_per_window"],
            "requests in any one window",
            SHARE,
            result["share_per_window"],
            higher_is_better=False,
            target="<= the share",
        ),
        peak_to_share=round(result["peak_per_window"] / result["share_per_window"], 3),
        requests_draining=result["requests_draining"],
        status_429=result["status_429"],
        lost=result["lost"],
        duplicated=result["duplicated"],
        # calls paced by an agent's local share while Redis was away (None: no Redis at all)
        fallbacks=None
        if all(f is None for f in result["fallbacks"])
        else sum(f or 0 for f in result["fallbacks"]),
        problems=problems(result),
        agents_planned=result.get("agents_planned"),  # each agent's count of the fleet at its end
    )
    if "redis_outage" in result:
        outage = result["redis_outage"]
        out["redis_down_s"] = round(outage["restarted_at"] - outage["stopped_at"], 2)
    return out


def main(out: Path) -> None:
    runs: dict[str, Any] = {}
    for name, how in RUNS.items():
        with tempfile.TemporaryDirectory() as d:
            result = asyncio.run(run_fleet(FleetPlan(**PLAN, **how), Path(d)))  # type: ignore[arg-type]
        runs[name] = figures(result)
        print(f"   {name}: {json.dumps(runs[name])}", flush=True)
    with_r, without = runs["with_redis"], runs["without_redis"]
    report = {
        "plan": PLAN,
        "plans": {name: {**PLAN, **how} for name, how in RUNS.items()},
        "seconds_to_drain_with_redis": figure(
            with_r["seconds_to_drain"],
            "s",
            "the same ten agents without Redis, each pacing on its own part of the share",
            without["seconds_to_drain"],
            higher_is_better=False,
        ),
        **runs,
    }
    (out / "fleet.json").write_text(json.dumps(report, indent=2))
