"""Adversarial soaks: the few exact situations in which a sync agent without idempotency keys is
most likely to lose a create or send it twice, each counted against the simulator's records.

1. identical creates with a lost answer: two identical time entries and two identical notes;
   one POST of each pair lands and its answer is lost (`drop`), or is cut off before it lands
   (`reset`: the client cannot tell the two apart);
2. late apply: over a real socket the server holds a create past the client's deadline and
   applies it afterwards (the `latency` fault: the client gives up and disconnects, the server
   goes on and writes the record 90 s later);
3. a note queued for 8 days (the clock moves 8 days between capture and sync) whose answer is
   lost, beside a time entry in the same situation.
The disk scenarios (full disk, damaged database) are in `adversarial_disk`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from agent.resilience.timeouts import AdaptiveTimeouts, TimeoutSettings
from tests.soak.truth import Typed
from tests.soak.world import World, world

TIME_POST = "timeentries"  # the fault route of POST /TimeEntries
NOTE_POST = "tickets/*/notes"  # of POST /Tickets/{id}/Notes
# The client's whole-call deadline in the late-apply scenario (real seconds: connect + read).
SHORT = TimeoutSettings(connect=0.5, read_min=1.0, read_default=1.0, read_max=1.0)


def _sum(cases: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        key: sum(int(c[key]) for c in cases.values())
        for key in ("typed", "lost", "duplicates", "mismatched", "parked", "pending")
    }
    out["integrity"] = next(
        (c["integrity"] for c in cases.values() if c["integrity"] != "ok"), "ok"
    )
    out["cases"] = cases
    return out


async def identical_creates(workdir: Path, *, pairs: int = 1) -> dict[str, Any]:
    """Pairs of identical creates; per pair one answer is lost after (drop) or before (reset)
    the write lands. Each case runs to the end before the next one starts."""
    cases: dict[str, dict[str, Any]] = {}
    async with world(workdir, seed="adv-identical") as w:
        for case in ("landed", "not_landed"):
            typed = Typed()
            add = w.sim.faults.drop_response if case == "landed" else w.sim.faults.reset
            for i in range(pairs):  # a round per pair: one POST of each pair is hit
                tid = w.mine[i % len(w.mine)]
                for _ in range(2):
                    await w.time_entry(typed, tid, f"identical {case} time {i}", 1.5)
                    await w.note(typed, tid, f"identical {case} note {i}")
                for route in (TIME_POST, NOTE_POST):
                    add(route=route, verb="POST", count=1)
                await w.agent.sync_now()
            await w.settle()
            fired = w.fired()
            w.sim.faults.clear()
            cases[case] = await w.count(typed)
            cases[case]["faults_fired"] = fired
            cases[case]["shown"] = await shown(w, typed)
    return _sum(cases)


async def shown(w: World, typed: Typed) -> dict[str, int]:
    """How many of the typed creates the technician's own view lists (diagnostic only)."""
    texts = {
        (r["ticketID"], r.get("summaryNotes") or r.get("description")) for _, r in typed.creates
    }
    listed = 0
    for tid in sorted({t for t, _ in texts}):
        detail = await w.agent.ticket(tid)
        if detail is not None:
            items = [e.summary for e in detail.time_entries] + [n.description for n in detail.notes]
            listed += sum(1 for text in items if (tid, text) in texts)
    return {"typed": len(typed.creates), "shown": listed}


async def late_apply(workdir: Path, *, items: int = 1, late_by: float = 90.0) -> dict[str, Any]:
    """Creates the server applies `late_by` seconds after they arrived, long after the client
    gave up waiting (real loopback socket; the client disconnects, the server goes on)."""
    async with world(workdir, seed="adv-late", loopback=True) as w:
        assert w.agent.pipeline is not None
        w.agent.pipeline.timeouts = AdaptiveTimeouts(SHORT)
        typed = Typed()
        for i in range(items):
            tid = w.mine[i % len(w.mine)]
            await w.time_entry(typed, tid, f"late time {i}", 0.75)
            await w.note(typed, tid, f"late note {i}")
        for route in (TIME_POST, NOTE_POST):
            w.sim.faults.latency(late_by, route=route, verb="POST", count=items)
        sent_at = w.clock.monotonic()
        await w.agent.sync_now()  # each POST waits in the server; the client's deadline passes
        held = w.sim_clock.sleeping
        while w.clock.monotonic() - sent_at < late_by:
            w.advance(30)  # time passes; at `late_by` the held creates are applied
            await w.agent.sync_now()
        await w.server_idle()
        await w.settle()
        result = await w.count(typed)
        result["held_by_server"] = held
        result["applied_late"] = held - w.sim_clock.sleeping
        return result


async def queued_for_days(workdir: Path, *, items: int = 1, days: float = 8) -> dict[str, Any]:
    """Creates captured, then synced `days` later; the first answer of each kind is lost."""
    async with world(workdir, seed="adv-days") as w:
        typed = Typed()
        for i in range(items):
            tid = w.mine[i % len(w.mine)]
            await w.note(typed, tid, f"week-old note {i}")
            await w.time_entry(typed, tid, f"week-old time {i}", 2.0)
        w.advance(days * 86_400)
        for route in (TIME_POST, NOTE_POST):
            w.sim.faults.drop_response(route=route, verb="POST", count=items)
        await w.agent.sync_now()
        await w.settle()
        result = await w.count(typed)
        result["faults_fired"] = w.fired()
        return result


# Each scenario's size in `make soak`; the reduced runs in the test suite use the defaults.
FULL: dict[str, dict[str, Any]] = {
    "identical_creates": {"pairs": 3},
    "late_apply": {"items": 2},
    "queued_for_days": {"items": 3},
    "disk_full": {"before": 6, "tries": 80},
    "damaged_database": {"items": 10},
}


def scenarios() -> dict[str, Callable[..., Awaitable[dict[str, Any]]]]:
    from tests.soak.adversarial_disk import damaged_database, disk_full

    return {
        "identical_creates": identical_creates,
        "late_apply": late_apply,
        "queued_for_days": queued_for_days,
        "disk_full": disk_full,
        "damaged_database": damaged_database,
    }


async def run_adversarial(workdir: Path, *, full: bool = True) -> dict[str, Any]:
    """Every scenario in its own folder; a scenario that raises is reported as its error."""
    out: dict[str, Any] = {}
    for name, scenario in scenarios().items():
        folder = workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        try:
            out[name] = await scenario(folder, **(FULL[name] if full else {}))
        except Exception as exc:
            out[name] = {"error": f"{type(exc).__name__}: {exc}", "integrity": "not checked"}
    totals = {
        key: sum(int(r.get(key, 0)) for r in out.values())
        for key in ("typed", "lost", "duplicates", "mismatched", "parked")
    }
    integrity = next((r["integrity"] for r in out.values() if r["integrity"] != "ok"), "ok")
    return {**totals, "integrity": integrity, "scenarios": out}
