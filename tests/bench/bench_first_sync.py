"""First-sync benchmark: a technician with 200 open tickets, 5,000 notes and 2,000 time entries
starts on a fresh profile; then a refresh with nothing changed on the server.

Against the simulator on loopback at the default threshold, each call taking the same service time
as in the drain benchmark (the simulator's `service_time`, a thread slot held meanwhile). Counted
from the simulator's request ledger (what the tenant's threshold counts). The baseline is the least
the data can cost: one query per 500 rows of each entity the first sync downloads (and one call per
picklist), computed from the records on the server. Targets: `first_sync_api_calls` within 2x that
minimum; `idle_refresh_api_calls` at most one call per entity kind refreshed (measured on the
second refresh with nothing changed: the first also takes the usage reading the first sync's
calls made due, reported beside it).

Writes build/bench/first_sync.json."""

from __future__ import annotations

import asyncio
import copy
import json
import math
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from agent.api.facade import Agent
from agent.autotask.wire import parse_datetime
from agent.simulator import Simulator, serve_in_thread
from agent.sync.context_pull import CHARGES, DEVICES, PRODUCTS
from agent.sync.visit_pull import AHEAD, APPOINTMENTS, BACK, CALLS, CHECKLIST, DISPATCHED, LINKS
from tests.bench.bench_drain import CALL_SECONDS, THRESHOLD, Answers, options, record_answers
from tests.bench.runinfo import LoadSampler, figure, stamp

TICKETS, NOTES, TIME_ENTRIES = 200, 5_000, 2_000
PAGE = 500
# One fields call each for the picklists: Tickets, TicketNotes, TimeEntries and TicketCharges.
PICKLIST_ENTITIES = ("Tickets", "TicketNotes", "TimeEntries", CHARGES)
REFRESHED_KINDS = ("Tickets", "TicketNotes", "TimeEntries")


def _top_up(sim: Simulator, entity: str, ids: list[int], wanted: int) -> None:
    records = sim.tenant.records[entity]
    mine = [r for r in records.values() if r["ticketID"] in set(ids)]
    template = copy.deepcopy(mine[0] if mine else next(iter(records.values())))
    for n in range(wanted - len(mine)):
        record = copy.deepcopy(template)
        record.pop("id", None)
        record["ticketID"] = ids[n % len(ids)]
        if entity == "TicketNotes":
            record["description"] = f"Worklog {n}: checked the unit and spoke to the customer."
        else:
            record["summaryNotes"] = f"Worked the issue ({n})."
        sim.tenant.insert(entity, record)


def make_simulator() -> tuple[Simulator, list[int]]:
    sim = Simulator(
        seed="bench-first-sync", tickets=700, threshold=THRESHOLD, service_time=CALL_SECONDS
    )
    tech = sim.technician_resource_id
    role = sorted(sim.tenant.roles_of(tech))[0]
    open_tickets = [t for t in sim.tenant.records["Tickets"].values() if t["status"] != 5]
    assert len(open_tickets) >= TICKETS
    for t in open_tickets[:TICKETS]:
        t["assignedResourceID"], t["assignedResourceRoleID"] = tech, role
    for t in sim.tenant.records["Tickets"].values():
        if t not in open_tickets[:TICKETS] and t["assignedResourceID"] == tech:
            t["assignedResourceID"] = t["assignedResourceRoleID"] = None
    ids = sorted(int(t["id"]) for t in open_tickets[:TICKETS])
    _top_up(sim, "TicketNotes", ids, NOTES)
    _top_up(sim, "TimeEntries", ids, TIME_ENTRIES)
    return sim, ids


def _in_window(sim: Simulator, record: dict[str, Any]) -> bool:
    """Whether `record` starts within the schedule's window (seven days back, fourteen ahead)."""
    start = parse_datetime(record.get("startDateTime"), "time")
    now = sim.clock.now()
    return start is not None and now - BACK <= start <= now + AHEAD


def minimum_pages(sim: Simulator, ids: list[int]) -> dict[str, int]:
    """One query per 500 rows of each entity the first sync stores, from the server's records
    (one for an entity with none: that there are none must be asked too)."""
    dump = sim.dump()
    mine, tech = set(ids), sim.technician_resource_id
    tickets = [dump["Tickets"][i] for i in ids]
    companies = {t["companyID"] for t in tickets if t.get("companyID")}
    dispatched = [d for d in dump.get(DISPATCHED, {}).values() if d.get("resourceID") == tech]
    links = [dump[LINKS][d["serviceCallTicketID"]] for d in dispatched]
    calls = {c for c in {x["serviceCallID"] for x in links} if _in_window(sim, dump[CALLS][c])}
    rows = {
        "Tickets": len(tickets),
        "TicketNotes": sum(n["ticketID"] in mine for n in dump["TicketNotes"].values()),
        "TimeEntries": sum(e["ticketID"] in mine for e in dump["TimeEntries"].values()),
        "Resources": len(dump["Resources"]),
        "ResourceRoles": len(sim.tenant.records.get("ResourceRoles", {})) or 1,
        "Companies": len(companies),
        # Every contact of a ticket's company (the ticket's own contact is one of them).
        "Contacts": sum(c.get("companyID") in companies for c in dump["Contacts"].values()),
        DISPATCHED: len(dispatched),
        LINKS: len(links),
        CALLS: len(calls),
        APPOINTMENTS: sum(
            a.get("resourceID") == tech and _in_window(sim, a)
            for a in dump.get(APPOINTMENTS, {}).values()
        ),
        CHECKLIST: sum(i["ticketID"] in mine for i in dump.get(CHECKLIST, {}).values()),
        CHARGES: sum(c["ticketID"] in mine for c in dump.get(CHARGES, {}).values()),
        PRODUCTS: sum(bool(p.get("isActive")) for p in dump.get(PRODUCTS, {}).values()),
        DEVICES: sum(d.get("companyID") in companies for d in dump.get(DEVICES, {}).values()),
    }
    pages = {k: max(1, math.ceil(v / PAGE)) for k, v in rows.items()}
    return {"rows": rows, "pages": pages} | {  # type: ignore[dict-item]
        "work_pages": pages["Tickets"] + pages["TicketNotes"] + pages["TimeEntries"],
        "picklist_calls": len(PICKLIST_ENTITIES),
        "all_pages": sum(pages.values()) + len(PICKLIST_ENTITIES),
    }


def by_route(answers: Answers, since: int) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for _, method, path, status in answers.log[since:]:
        tail = path.split("/V1.0/", 1)[-1].split("/")
        counts[f"{method} {tail[0]}{'/' + tail[1] if len(tail) > 1 else ''} {status}"] += 1
    return dict(sorted(counts.items()))


async def measure(workdir: Path) -> dict[str, Any]:
    sim, ids = make_simulator()
    answers = record_answers(sim)
    floor = minimum_pages(sim, ids)
    ledger = sim.limits.ledger(sim.tenant.name)
    answers.recording = True
    with serve_in_thread(sim) as base:
        agent = await Agent.open(options(base, workdir, sim))
        try:
            mark = len(ledger.times)
            started = time.perf_counter()
            report = await agent.sync_now()
            seconds = time.perf_counter() - started
            assert report is not None and report.pull is not None, report
            first_calls = len(ledger.times) - mark
            first_routes = by_route(answers, 0)
            cached = {
                "tickets": len(await agent.my_tickets()),
            }
            idle_calls, idle_routes = [], []
            for _ in range(2):
                mark, since = len(ledger.times), len(answers.log)
                idle = await agent.sync_now()
                assert idle is not None and idle.error is None, idle
                idle_calls.append(len(ledger.times) - mark)
                idle_routes.append(by_route(answers, since))
        finally:
            await agent.close()
    return {
        "seconds": seconds,
        "first_calls": first_calls,
        "first_routes": first_routes,
        "idle_calls": idle_calls,
        "idle_routes": idle_routes,
        "floor": floor,
        "cached": cached,
    }


def main(out_dir: Path) -> None:
    with LoadSampler() as load, tempfile.TemporaryDirectory() as tmp:
        m = asyncio.run(measure(Path(tmp)))
    floor = m["floor"]
    result = {
        "data": {"open_tickets": TICKETS, "notes": NOTES, "time_entries": TIME_ENTRIES},
        "tenant": {"threshold_per_hour": THRESHOLD},
        "service_time_per_call_s": CALL_SECONDS,
        "first_sync_seconds": figure(
            round(m["seconds"], 2),
            "s",
            "the least time its calls take one after another (calls x service time)",
            round(m["first_calls"] * CALL_SECONDS, 2),
            higher_is_better=False,
        ),
        "first_sync_api_calls": figure(
            m["first_calls"],
            "requests counted by the tenant",
            "one query per 500 rows of every entity stored, one per picklist",
            floor["all_pages"],
            higher_is_better=False,
            target="<= 2x the minimum",
        ),
        "first_sync_within_2x_of_minimum": m["first_calls"] <= 2 * floor["all_pages"],
        "idle_refresh_api_calls": figure(
            m["idle_calls"][1],
            "requests counted by the tenant",
            "one call per entity kind refreshed",
            len(REFRESHED_KINDS),
            higher_is_better=False,
            target=f"<= {len(REFRESHED_KINDS)}",
        ),
        "idle_refresh_right_after_first_sync": {
            "api_calls": m["idle_calls"][0],
            "note": "the refresh just after the first sync also takes the ThresholdInformation "
            "reading the pacer owes after every 20 calls sent (the first sync sent more); "
            "`idle_refresh_api_calls` is the next refresh, with nothing changed either",
            "answers": m["idle_routes"][0],
        },
        "minimum": floor,
        "tickets_cached": m["cached"]["tickets"],
        "answers_first_sync": m["first_routes"],
        "answers_idle_refresh": m["idle_routes"][1],
    }
    report = stamp(result, "first_sync", load)
    (out_dir / "first_sync.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    out = Path("build/bench")
    out.mkdir(parents=True, exist_ok=True)
    main(out)
