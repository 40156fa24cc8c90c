"""The crash soak: the agent is SIGKILLed at random moments while it captures and syncs a plan of
edits against the simulator in another process; after the last restart the server must hold every
edit exactly once and the database must pass `PRAGMA integrity_check`. Every fourth edit is a
visit's: a checklist item ticked or unticked, a service call completed, a part added, changed or
deleted, a stopwatch run and logged, a file attached.

Real processes, real loopback socket, real time (killing a process is the point).
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from agent.simulator import Simulator
from tests.soak.model import SoakModel
from tests.soak.visit_model import VisitTruth, combined

ROOT = Path(__file__).resolve().parents[2]
SEED = "crash-soak"
VISIT_EVERY = 4  # a visit edit after every fourth edit
SERVER_ENTITIES = (
    "Tickets",
    "TicketNotes",
    "TimeEntries",
    "TicketChecklistItems",
    "ServiceCalls",
    "TicketCharges",
    "TicketAttachments",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def make_plan(
    ops: int, rng: random.Random, visit_seed: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Edits on the technician's tickets, computed from the same seeded tenant the server has;
    the visit edits come from a generator of their own, so the others stay as they were."""
    sim = Simulator(seed=SEED, tickets=300)
    tech = sim.technician_resource_id
    tickets = sorted(
        t["id"]
        for t in sim.tenant.records["Tickets"].values()
        if t["assignedResourceID"] == tech and t["status"] != 5
    )
    role = sorted(sim.tenant.roles_of(tech))[0]
    notes = sorted(p.value for p in sim.tenant.picklist("TicketNotes", "noteType") if p.is_active)
    publish = sorted(p.value for p in sim.tenant.picklist("TicketNotes", "publish") if p.is_active)
    plan: list[dict[str, Any]] = []
    visits = VisitPlan(sim, tickets, random.Random(f"{SEED}:visits:{visit_seed}"))
    for i in range(ops):
        if i % VISIT_EVERY == VISIT_EVERY - 1:
            plan.append(visits.next(i))
        tid, roll = rng.choice(tickets), rng.random()
        if roll < 0.5:
            plan.append(
                {"kind": "ticket", "ticket": tid, "field": "title", "value": f"Crash title {i}"}
            )
        elif roll < 0.75:
            plan.append(
                {
                    "kind": "note",
                    "ticket": tid,
                    "tag": f"crash note {i}",
                    "note_type": notes[0],
                    "publish": publish[0],
                }
            )
        else:
            plan.append(
                {
                    "kind": "time",
                    "ticket": tid,
                    "tag": f"crash time {i}",
                    "hours": rng.choice([0.5, 1.0, 1.5]),
                    "role": role,
                }
            )
    return plan, tech


class VisitPlan:
    """The plan's visit edits, each kind in turn: a checklist item's new state, a service
    call's, a part added (then changed, then deleted), a stopwatch's run, a file attached."""

    def __init__(self, sim: Simulator, tickets: list[int], rng: random.Random) -> None:
        self.rng = rng
        self.tickets = tickets
        own = set(tickets)
        self.items = {
            i: bool(r["isCompleted"])
            for i, r in sim.tenant.records["TicketChecklistItems"].items()
            if r["ticketID"] in own
        }
        linked = {
            link["serviceCallID"]
            for link in sim.tenant.records["ServiceCallTickets"].values()
            if link["ticketID"] in own
        }
        self.calls = {
            i: int(r["isComplete"])
            for i, r in sim.tenant.records["ServiceCalls"].items()
            if i in linked
        }
        self.items_of = {
            i: int(r["ticketID"]) for i, r in sim.tenant.records["TicketChecklistItems"].items()
        }
        self.parts: dict[str, int] = {}  # name -> ticket, of the parts added and not deleted
        self.turn = 0

    def next(self, i: int) -> dict[str, Any]:
        kinds = ("checklist", "call", "charge", "timer", "attach", "charge_edit", "checklist")
        kind = kinds[self.turn % len(kinds)]
        self.turn += 1
        if kind in ("charge_edit",) and self.parts:
            name = self.rng.choice(sorted(self.parts))
            if self.rng.random() < 0.5:
                return {
                    "kind": "charge_edit",
                    "ticket": self.parts[name],
                    "tag": name,
                    "quantity": self.rng.choice([2.0, 3.0, 5.0]),
                }
            ticket = self.parts.pop(name)
            return {"kind": "charge_delete", "ticket": ticket, "tag": name}
        tid = self.rng.choice(self.tickets)
        if kind == "checklist":
            item = self.rng.choice(sorted(self.items))
            self.items[item] = not self.items[item]
            return {
                "kind": "checklist",
                "ticket": self.items_of[item],
                "item": item,
                "done": self.items[item],
            }
        if kind == "call":
            call = self.rng.choice(sorted(self.calls))
            self.calls[call] = 1 - self.calls[call]
            return {"kind": "call", "call": call, "complete": self.calls[call]}
        if kind == "timer":
            return {
                "kind": "timer",
                "ticket": tid,
                "tag": f"crash stopwatch {i}",
                "minutes": self.rng.choice([15, 30, 60]),
            }
        if kind == "attach":
            return {
                "kind": "attach",
                "ticket": tid,
                "tag": f"crash file {i}",
                "size": self.rng.randrange(2_000, 30_000),
            }
        name = f"crash part {i}"
        self.parts[name] = tid
        return {
            "kind": "charge",
            "ticket": tid,
            "tag": name,
            "quantity": self.rng.choice([1.0, 2.0]),
            "price": 12.5,
        }


def expected(plan: list[dict[str, Any]]) -> SoakModel:
    model = SoakModel(ops=len(plan))
    for e in plan:
        if e["kind"] == "ticket":
            model.ticket_fields[(e["ticket"], e["field"])] = e["value"]
        elif e["kind"] == "note":
            model.notes.add(e["tag"])
        elif e["kind"] == "time":
            model.entries[e["tag"]] = e["hours"]
    return model


def expected_visits(plan: list[dict[str, Any]]) -> VisitTruth:
    truth = VisitTruth()
    for e in plan:
        kind = e["kind"]
        if kind == "checklist":
            truth.checklist[e["item"]] = e["done"]
        elif kind == "call":
            truth.calls[e["call"]] = e["complete"]
        elif kind == "charge":
            truth.charges[e["tag"]] = {"ticketID": e["ticket"], "unitQuantity": e["quantity"]}
            kind = "charge_create"
        elif kind == "charge_edit":
            truth.charges[e["tag"]]["unitQuantity"] = e["quantity"]
        elif kind == "charge_delete":
            truth.charge_deleted(e["tag"])
        elif kind == "timer":
            truth.timed[e["tag"]] = {"ticketID": e["ticket"], "seconds": e["minutes"] * 60}
            kind = "stopwatch"
        elif kind == "attach":
            truth.files[e["tag"]] = {"parentID": e["ticket"], "fileSize": e["size"]}
            kind = "attachment"
        else:
            continue
        truth.typed({"call": "service_call"}.get(kind, kind))
    return truth


def server_state(base: str) -> dict[str, dict[int, dict[str, Any]]]:
    out: dict[str, dict[int, dict[str, Any]]] = {}
    with httpx.Client(timeout=60) as http:
        for entity in SERVER_ENTITIES:
            items = http.get(f"{base}/_sim/state", params={"entity": entity, "limit": "all"})
            out[entity] = {int(r["id"]): r for r in items.json()["items"]}
    return out


def run_crash_soak(
    workdir: Path,
    *,
    ops: int = 2000,
    kills: int = 100,
    seed: int = 11,
    kill_window: tuple[float, float] = (0.3, 1.8),
) -> dict[str, Any]:
    rng = random.Random(seed)
    plan, tech = make_plan(ops, rng, visit_seed=seed)
    plan_file = workdir / "plan.json"
    plan_file.write_text(json.dumps(plan))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (workdir / "simulator.log").open("w")  # a file: a full pipe would stall the server
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent",
            "simulator",
            "--port",
            str(port),
            "--seed",
            SEED,
            "--tickets",
            "300",
            "--threshold",
            "1000000",
            "--no-dispatcher",
            "--no-latency",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_for_port(port)
        data = workdir / "agent"
        start, done, killed = 0, False, 0
        started = time.monotonic()
        for _ in range(kills):
            start, done = life(data, base, plan_file, start, tech, rng.uniform(*kill_window))
            killed += 0 if done else 1
            if done:
                break
        while not done:
            start, done = life(data, base, plan_file, start, tech, None)
        db = data / "profiles" / "default" / "agent.sqlite3"
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
            parked_rows = conn.execute(
                "SELECT id, reason FROM outbox_op WHERE state IN ('parked','conflict')"
            ).fetchall()
        finally:
            conn.close()
        records = server_state(base)
        result = combined(
            expected(plan).check(records, []), expected_visits(plan).check(records, [])
        )
        result.update(
            kills=killed,
            integrity=integrity,
            parked=len(parked_rows),
            wall_s=round(time.monotonic() - started, 1),
        )
        return result
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def life(
    data: Path, base: str, plan_file: Path, start: int, tech: int, kill_after: float | None
) -> tuple[int, bool]:
    """Run the agent once; SIGKILL it after `kill_after` seconds (None: let it finish)."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.soak.crash_child",
            str(data),
            base,
            str(plan_file),
            str(start),
            str(tech),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        child.wait(timeout=kill_after if kill_after is not None else 600)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.stdout is not None
    lines = child.stdout.read().splitlines()
    child.stdout.close()
    captured = [int(x.split()[1]) for x in lines if x.startswith("captured ")]
    return (max(captured) + 1 if captured else start), "done" in lines
