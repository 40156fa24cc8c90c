"""Drain benchmark: 300 edits made offline reach Autotask after reconnecting, within the tenant's
real budget.

A technician works offline: status and field changes on 60 tickets (160 edits), 80 notes and 60
time entries. Then the agent starts again and reconnects, against the simulator on loopback
with the real default threshold (10,000 requests per hour), 100 ms of service time per call
(the simulator's `service_time`, each call holding its thread slot meanwhile) and the real limit
of three concurrent calls per endpoint. Other integrations of the tenant have already used 5 %
of the hour (the same run again at 60 %: past the first latency tier, where Autotask slows every
call of the tenant and the agent spaces its writes out).

Everything is counted from the simulator's own records: the tenant's request ledger (what the
threshold counts, with its times), every answer the server gave (its status, 429s included),
and the records on the server afterwards (each edit's final value, each note and time entry
exactly once). `seconds_to_drain` runs from reconnecting until the last edit is acknowledged.

The baseline, measured in the same run on a simulator of its own: a straightforward client that
reads each edit's ticket and then writes the edit, one at a time.

Writes build/bench/drain.json.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from agent.api.facade import Agent, AgentOptions
from agent.autotask import ApiCredentials, AutotaskClient
from agent.autotask.session import ClientOptions
from agent.credentials import ApiSecretBundle
from agent.resilience.allowance import QuotaSettings, allowance
from agent.simulator import (
    DEMO_INTEGRATION_CODE,
    DEMO_SECRET,
    DEMO_USERNAME,
    Simulator,
    serve_in_thread,
)
from tests.bench.runinfo import LoadSampler, figure, stamp

TICKETS, TICKET_EDITS, NOTES, TIME_ENTRIES = 60, 160, 80, 60
THRESHOLD = 10_000  # Autotask's default per hour
SHARE = 0.5  # the `quota_share` setting's default
SCENARIOS = (0.05, 0.60)  # share of the hour other integrations have used
CALL_SECONDS = 0.100


# -- the server's own records -------------------------------------------------------------------
@dataclass
class Answers:
    """Every answer the simulator's app sent: (monotonic time, method, path, status)."""

    log: list[tuple[float, str, str, int]] = field(default_factory=list)
    recording: bool = False


def record_answers(sim: Simulator) -> Answers:
    """Wrap the simulator's ASGI app so each answer is written down as it leaves."""
    answers, app = Answers(), sim.app

    async def recorded(scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or not answers.recording:
            await app(scope, receive, send)
            return

        async def sending(message: Any) -> None:
            if message.get("type") == "http.response.start":
                entry = (time.monotonic(), scope["method"], scope["path"], message["status"])
                answers.log.append(entry)
            await send(message)

        await app(scope, receive, sending)

    sim.app = recorded  # type: ignore[assignment]
    return answers


def make_simulator() -> Simulator:
    # Each request takes 100 ms at the server and holds its thread slot meanwhile, so the
    # tenant's limit of three concurrent calls per endpoint is met as in production.
    sim = Simulator(seed="bench-drain", tickets=400, threshold=THRESHOLD, service_time=CALL_SECONDS)
    tech = sim.technician_resource_id
    role = sorted(sim.tenant.roles_of(tech))[0]
    open_tickets = [t for t in sim.tenant.records["Tickets"].values() if t["status"] != 5]
    for t in open_tickets[:TICKETS]:
        t["assignedResourceID"], t["assignedResourceRoleID"] = tech, role
    for t in open_tickets[TICKETS:]:
        if t["assignedResourceID"] == tech:
            t["assignedResourceID"] = t["assignedResourceRoleID"] = None
    return sim


def others_use(sim: Simulator, share: float) -> int:
    """Other integrations of the tenant bring its rolling hour to `share` of the threshold."""
    ledger = sim.limits.ledger(sim.tenant.name)
    need = max(0, int(share * THRESHOLD) - sim.limits.usage(sim.tenant.name))
    ledger.times.extend([sim.clock.monotonic()] * need)
    return sim.limits.usage(sim.tenant.name)


# -- the edits ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Edit:
    kind: str  # ticket | note | time
    ticket: int
    fields: dict[str, Any]


@dataclass(frozen=True)
class Lists:
    statuses: list[int]
    priorities: list[int]
    note_type: int
    publish: int
    role: int


def the_edits(ids: list[int], lists: Lists) -> list[Edit]:
    """160 ticket edits (status, priority, title) over 60 tickets, 80 notes, 60 time entries,
    interleaved as a day's work would make them."""
    edits: list[Edit] = []
    for i in range(TICKET_EDITS):
        tid = ids[i % TICKETS]
        n = i // TICKETS
        if n == 0:
            change: dict[str, Any] = {"status": lists.statuses[i % len(lists.statuses)]}
        elif n == 1:
            change = {"title": f"Visited on site, ticket {tid}"}
        else:
            change = {"priority": lists.priorities[i % len(lists.priorities)]}
        edits.append(Edit("ticket", tid, change))
    for i in range(NOTES):
        edits.append(Edit("note", ids[i % TICKETS], {"description": f"drain note {i}"}))
    for i in range(TIME_ENTRIES):
        edits.append(Edit("time", ids[i % TICKETS], {"summaryNotes": f"drain time {i}"}))
    order = sorted(range(len(edits)), key=lambda k: (k * 7919) % len(edits))
    return [edits[k] for k in order]


async def capture(agent: Agent, edits: list[Edit], lists: Lists) -> None:
    for e in edits:
        if e.kind == "ticket":
            await agent.update_ticket(e.ticket, **e.fields)
        elif e.kind == "note":
            await agent.add_note(
                e.ticket,
                e.fields["description"],
                title="On site",
                note_type=lists.note_type,
                publish=lists.publish,
            )
        else:
            await agent.log_time(
                ticketID=e.ticket,
                dateWorked="2026-01-05T00:00:00Z",
                hoursWorked=0.5,
                summaryNotes=e.fields["summaryNotes"],
                roleID=lists.role,
            )


def on_server(sim: Simulator, edits: list[Edit]) -> dict[str, int]:
    """How many of `edits` the server holds: each ticket's last value of every field, each note
    and time entry exactly once."""
    dump = sim.dump()
    last: dict[tuple[int, str], Any] = {}
    for e in edits:
        if e.kind == "ticket":
            for name, value in e.fields.items():
                last[(e.ticket, name)] = value
    tickets_right = sum(dump["Tickets"][t][f] == v for (t, f), v in last.items())
    notes = [n["description"] for n in dump["TicketNotes"].values()]
    times = [t["summaryNotes"] for t in dump["TimeEntries"].values()]
    wanted_notes = [e.fields["description"] for e in edits if e.kind == "note"]
    wanted_times = [e.fields["summaryNotes"] for e in edits if e.kind == "time"]
    return {
        "ticket_fields_right": tickets_right,
        "ticket_fields_wanted": len(last),
        "notes_once": sum(notes.count(d) == 1 for d in wanted_notes),
        "time_entries_once": sum(times.count(s) == 1 for s in wanted_times),
        "duplicates": sum(notes.count(d) > 1 for d in wanted_notes)
        + sum(times.count(s) > 1 for s in wanted_times),
    }


def peak_rate(times: list[float], window: float = 1.0) -> int:
    """The most requests in any `window` seconds."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] > window:
            start += 1
        best = max(best, end - start + 1)
    return best


# -- the runs -----------------------------------------------------------------------------------
def options(base: str, data_dir: Path, sim: Simulator) -> AgentOptions:
    return AgentOptions(
        data_dir=data_dir,
        directory_url=f"{base}/ATServicesRest/",
        credentials=ApiSecretBundle(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE),
        technician_resource_id=sim.technician_resource_id,
        sample_metrics=False,
    )


async def lists_of(agent: Agent, sim: Simulator) -> Lists:
    tickets = await agent.picklists("Tickets")
    notes = await agent.picklists("TicketNotes")
    resources = await agent.resources()
    return Lists(
        statuses=sorted(s for s in tickets["status"] if s != 5),
        priorities=sorted(tickets["priority"]),
        note_type=min(notes["noteType"]),
        publish=min(notes["publish"]),
        role=resources[sim.technician_resource_id][1][0],
    )


async def work_offline(sim: Simulator, base: str, data_dir: Path) -> tuple[list[Edit], Lists]:
    """First download, then the day's edits captured offline; the agent is then closed."""
    agent = await Agent.open(options(base, data_dir, sim))
    try:
        await agent.sync_now()
        ids = sorted(t.id for t in await agent.my_tickets())[:TICKETS]
        assert len(ids) == TICKETS, f"only {len(ids)} tickets for the technician"
        lists = await lists_of(agent, sim)
        await agent.set_work_offline(True)
        edits = the_edits(ids, lists)
        await capture(agent, edits, lists)
        return edits, lists
    finally:
        await agent.close()


async def reconnect_and_drain(sim: Simulator, base: str, data_dir: Path) -> dict[str, Any]:
    agent = await Agent.open(options(base, data_dir, sim))
    try:
        pending = (await agent.status()).pending
        started = time.perf_counter()
        await agent.set_work_offline(False)
        rounds = 0
        while (await agent.status()).pending and rounds < 200:
            await agent.sync_now()
            rounds += 1
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "rounds": rounds, "operations": pending}
    finally:
        await agent.close()


async def straightforward(sim: Simulator, base: str, edits: list[Edit], lists: Lists) -> float:
    """Read the edit's ticket, then write the edit; one edit after the other."""
    async with httpx.AsyncClient(timeout=30) as http:
        client = AutotaskClient(
            http,
            ApiCredentials(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE),
            options=ClientOptions(directory_url=f"{base}/ATServicesRest/"),
        )
        started = time.perf_counter()
        for e in edits:
            await client.get("Tickets", e.ticket)
            if e.kind == "ticket":
                await client.update("Tickets", e.ticket, e.fields)
            elif e.kind == "note":
                note = {
                    "ticketID": e.ticket,
                    "title": "On site",
                    "noteType": lists.note_type,
                    "publish": lists.publish,
                    **e.fields,
                }
                await client.create("TicketNotes", note, parent_id=e.ticket)
            else:
                entry = {
                    "ticketID": e.ticket,
                    "resourceID": sim.technician_resource_id,
                    "dateWorked": "2026-01-05T00:00:00Z",
                    "hoursWorked": 0.5,
                    "roleID": lists.role,
                    **e.fields,
                }
                await client.create("TimeEntries", entry)
        return time.perf_counter() - started


def measured(
    sim: Simulator,
    answers: Answers,
    mark: int,
    edits: list[Edit],
    others: int,
    seconds: float,
) -> dict[str, Any]:
    """The figures of one run, from the simulator's records since `mark` in its ledger."""
    times = list(sim.limits.ledger(sim.tenant.name).times)[mark:]
    statuses: dict[str, int] = {}
    for _, _, _, status in answers.log:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    allowed = allowance(QuotaSettings(share=SHARE), THRESHOLD, others)  # below the reserve
    return {
        "seconds": round(seconds, 2),
        "api_calls": len(times),
        "answers_by_status": statuses,
        "answers_429": statuses.get("429", 0),
        "peak_requests_in_one_second": peak_rate(times),
        "tenant_usage_before_pct": round(100 * others / THRESHOLD, 1),
        "tenant_usage_after_pct": round(100 * (others + len(times)) / THRESHOLD, 2),
        "agent_allowance": allowed,
        "within_share": len(times) <= allowed,
        "on_server": on_server(sim, edits),
    }


async def agent_run(used: float, workdir: Path) -> tuple[dict[str, Any], list[Edit], Lists]:
    sim = make_simulator()
    answers = record_answers(sim)
    with serve_in_thread(sim) as base:
        edits, lists = await work_offline(sim, base, workdir)
        others = others_use(sim, used)
        mark = len(sim.limits.ledger(sim.tenant.name).times)
        answers.recording = True
        drained = await reconnect_and_drain(sim, base, workdir)
        answers.recording = False
    result = measured(sim, answers, mark, edits, others, drained["seconds"])
    result |= {"sync_rounds": drained["rounds"], "outbox_operations": drained["operations"]}
    return result, edits, lists


async def baseline_run(edits: list[Edit], lists: Lists, used: float) -> dict[str, Any]:
    sim = make_simulator()
    answers = record_answers(sim)
    with serve_in_thread(sim) as base:
        others = others_use(sim, used)
        mark = len(sim.limits.ledger(sim.tenant.name).times)
        answers.recording = True
        seconds = await straightforward(sim, base, edits, lists)
        answers.recording = False
    return measured(sim, answers, mark, edits, others, seconds)


def main(out_dir: Path) -> None:
    with LoadSampler() as load, tempfile.TemporaryDirectory() as tmp:
        runs: dict[str, dict[str, Any]] = {}
        edits: list[Edit] = []
        lists: Lists | None = None
        for used in SCENARIOS:
            folder = Path(tmp) / f"used{int(used * 100)}"
            result, edits, lists = asyncio.run(agent_run(used, folder))
            runs[f"{int(used * 100)}pct_used"] = result
            print(f"drain at {used:.0%} used: {result['seconds']} s", flush=True)
        assert lists is not None
        naive = asyncio.run(baseline_run(edits, lists, SCENARIOS[0]))
        print(f"straightforward client: {naive['seconds']} s", flush=True)
    low, high = runs["5pct_used"], runs["60pct_used"]
    result = {
        "edits": {"ticket_changes": TICKET_EDITS, "tickets": TICKETS, "notes": NOTES}
        | {"time_entries": TIME_ENTRIES, "total": len(edits)},
        "tenant": {"threshold_per_hour": THRESHOLD, "quota_share": SHARE},
        "service_time_per_call_s": CALL_SECONDS,
        "concurrency_limit_per_endpoint": sim_thread_limit(),
        "seconds_to_drain": figure(
            low["seconds"],
            "s",
            "straightforward client (read, then write, one edit at a time), same edits, same run",
            naive["seconds"],
            higher_is_better=False,
            target="<= 10 s, all edits on the server",
        ),
        "api_calls": figure(
            low["api_calls"],
            "requests counted by the tenant",
            "straightforward client",
            naive["api_calls"],
            higher_is_better=False,
        ),
        "peak_requests_in_one_second": low["peak_requests_in_one_second"],
        "at_60pct_used": {
            "seconds_to_drain": high["seconds"],
            "api_calls": high["api_calls"],
            "answers_429": high["answers_429"],
            "within_share": high["within_share"],
            "agent_allowance": high["agent_allowance"],
            "peak_requests_in_one_second": high["peak_requests_in_one_second"],
            "target": "no 429; this agent within its share of what the others leave",
        },
        "runs": runs | {"straightforward_5pct_used": naive},
    }
    report = stamp(result, "drain", load)
    (out_dir / "drain.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


def sim_thread_limit() -> int:
    from agent.simulator.limits import THREAD_LIMIT

    return THREAD_LIMIT


if __name__ == "__main__":
    out = Path("build/bench")
    out.mkdir(parents=True, exist_ok=True)
    main(out)
