"""The fleet scenario: agent processes of one tenant drain their outboxes at once against the
simulator on a loopback socket, sharing the budget (and breakers) through Redis or not at all.

Everything judged is counted on the server's side: the simulator's request ledger (each request
it admitted, on its clock), the requests on the wire (path, integration code, status, when) and
the records it holds. Each agent has its own integration code so the wire says whose a request
was; all sign in as one API user through one directory, so they share one fleet in Redis.
Other integrations of the tenant keep `others` requests in every window, so the agents' share
(`quota_share` of what those leave) is within reach of what they have to send.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from agent.simulator import Simulator, serve

ROOT = Path(__file__).resolve().parents[2]
SHARED_REDIS = "redis://127.0.0.1:6379/11"


@dataclass
class FleetPlan:
    agents: int = 10
    notes: int = 20  # per agent
    redis: str = "shared"  # "shared" (127.0.0.1:6379), "own" (a redis-server of this run), "none"
    restart_redis: bool = False  # stop the run's own Redis mid-drain, start it again
    trip: bool = True  # one agent opens its TimeEntries breaker before the others drain
    quota_share: float = 0.05
    others: int = 2000  # other integrations' requests in every window
    time_scale: float = 1 / 60  # the hour lasts a minute
    deadline_s: float = 240.0
    redis_down_s: float = 3.0
    tickets: int = 300
    fleet_size: int | None = None  # the policy's `fleet_size`; None: the number of agents


class WireLog:
    """ASGI middleware: every request's arrival (wall clock), method, path, code and status."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        entry = {
            "at": time.time(),
            "method": scope["method"],
            "path": scope["path"].lower(),
            "code": headers.get(b"apiintegrationcode", b"").decode(),
            "status": None,
        }
        self.requests.append(entry)

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        await self.app(scope, receive, sending)


class RedisServer:
    """A redis-server of this run on a free port, without persistence: stopping it loses its
    state, as a crashed or restarted office server would."""

    def __init__(self, workdir: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = aioredis.Redis.from_url(self.url)
        try:
            for _ in range(500):
                with contextlib.suppress(OSError, aioredis.ConnectionError):
                    if await client.ping():
                        return
                await asyncio.sleep(0.02)
        finally:
            await client.aclose()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


def peak_in_window(times: list[float], window: float) -> int:
    """The most entries of sorted `times` within any half-open window of length `window`."""
    best, first = 0, 0
    for last, t in enumerate(times):
        while times[first] <= t - window:
            first += 1
        best = max(best, last - first + 1)
    return best


def counted(records: dict[int, dict[str, Any]], key: str, tags: list[str]) -> tuple[int, int]:
    """(lost, duplicated) of `tags` among the server's records' `key`."""
    seen: dict[str, int] = {}
    for record in records.values():
        value = record.get(key)
        if isinstance(value, str):
            seen[value] = seen.get(value, 0) + 1
    lost = sum(1 for t in tags if seen.get(t, 0) == 0)
    duplicated = sum(seen.get(t, 0) - 1 for t in tags if seen.get(t, 0) > 1)
    return lost, duplicated


@contextlib.asynccontextmanager
async def redis_for(plan: FleetPlan, workdir: Path) -> AsyncIterator[tuple[str | None, Any]]:
    if plan.redis == "none":
        yield None, None
    elif plan.redis == "own":
        server = RedisServer(workdir)
        await server.start()
        try:
            yield server.url, server
        finally:
            server.stop()
    else:
        client = aioredis.Redis.from_url(SHARED_REDIS)
        try:
            await client.ping()  # no Redis is a failure here, never a reason to skip
            yield SHARED_REDIS, None
        finally:
            keys = [k async for k in client.scan_iter(match="fieldsync:*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()


async def keep_others_busy(sim: Simulator, others: int, stop: asyncio.Event) -> None:
    """The tenant's other integrations: `others` requests in every window, spread evenly."""
    limits, window = sim.limits, sim.limits.window
    ledger = limits.ledger(sim.tenant.name)
    now = sim.clock.monotonic()
    mine: deque[float] = deque(now - window * (k / others) for k in range(others - 1, -1, -1))
    ledger.times.extendleft(reversed(mine))
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.1)
        now = sim.clock.monotonic()
        while mine and mine[0] <= now - window:
            mine.popleft()
        missing = others - len(mine)
        mine.extend([now] * missing)
        ledger.times.extend([now] * missing)


async def lines_of(proc: asyncio.subprocess.Process) -> AsyncIterator[dict[str, Any]]:
    assert proc.stdout is not None
    while line := await proc.stdout.readline():
        text = line.decode().strip()
        if text.startswith("{"):
            yield json.loads(text)


async def next_event(
    proc: asyncio.subprocess.Process, name: str, timeout: float, err: Path | None = None
) -> dict[str, Any]:
    async def wait() -> dict[str, Any]:
        async for event in lines_of(proc):
            if event["event"] == name:
                return event
        said = err.read_text(errors="replace")[-1500:] if err is not None else ""  # noqa: ASYNC240
        raise RuntimeError(f"an agent ended before {name!r} (exit {await proc.wait()}): {said}")

    return await asyncio.wait_for(wait(), timeout)


async def run_fleet(plan: FleetPlan, workdir: Path) -> dict[str, Any]:
    """Run the scenario; the figures and ground-truth counts (see `problems`)."""
    sim = Simulator(seed="fleet", tickets=plan.tickets, time_scale=plan.time_scale)
    tech = sim.technician_resource_id
    role = sorted(sim.tenant.roles_of(tech))[0]
    mine = sorted(
        tid
        for tid, t in sim.tenant.records["Tickets"].items()
        if t["assignedResourceID"] == tech and t["status"] != 5
    )
    admitted: list[float] = []
    admit = sim.limits.admit

    def counting_admit(tenant: str) -> float | None:
        wait = admit(tenant)
        if wait is None:
            admitted.append(sim.clock.monotonic())
        return wait

    sim.limits.admit = counting_admit  # type: ignore[method-assign]
    wire = WireLog(sim.app)
    sim.app = wire  # type: ignore[assignment]
    codes = [f"FLEET{i:03d}" for i in range(plan.agents)]
    for code in codes:
        sim.add_integration_code(code)
    notes = [[f"fleet note {i}.{n}" for n in range(plan.notes)] for i in range(plan.agents)]
    entries = [
        [f"fleet time {i}.{n}" for n in range(14 if i == 0 else 1)] if plan.trip else []
        for i in range(plan.agents)
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result: dict[str, Any] = {"plan": asdict(plan)}
    stop_others = asyncio.Event()
    async with (
        redis_for(plan, workdir) as (redis_url, own_redis),
        serve(sim, port=0) as base,
    ):
        logs = contextlib.ExitStack()
        # Busy from before the agents start: a sudden jump in the tenant's count would read, to
        # each agent, as more agents at work.
        others: asyncio.Future[None] | None = asyncio.ensure_future(
            keep_others_busy(sim, plan.others, stop_others)
        )
        procs: list[asyncio.subprocess.Process] = []
        try:
            for i in range(plan.agents):
                child = {
                    "data_dir": str(workdir / f"agent{i}"),
                    "base": base,
                    "integration_code": codes[i],
                    "technician": tech,
                    "role": role,
                    "tickets": mine[i :: plan.agents],
                    "notes": notes[i],
                    "time_entries": entries[i],
                    "quota_share": plan.quota_share,
                    "fleet_size": plan.agents if plan.fleet_size is None else plan.fleet_size,
                    "redis_url": redis_url,
                    "deadline_s": plan.deadline_s,
                }
                procs.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "tests.soak.fleet_child",
                        json.dumps(child),
                        cwd=ROOT,
                        env=env,
                        stdin=asyncio.subprocess.PIPE,
                        stdout=asyncio.subprocess.PIPE,
                        stderr=logs.enter_context((workdir / f"agent{i}.err").open("wb")),
                    )
                )
            for i, proc in enumerate(procs):
                await next_event(proc, "ready", plan.deadline_s, workdir / f"agent{i}.err")
            open_until = None
            fault = None
            if plan.trip:
                fault = sim.faults.error(503, route="timeentries*", verb="POST")
                send(procs[0], "trip")
                open_until = (await next_event(procs[0], "tripped", plan.deadline_s))["open_until"]
                result["trip_failures"] = fault.fired
                sim.faults.remove(fault)
            go_at, go_mono = time.time(), sim.clock.monotonic()
            for proc in procs:
                send(proc, "go")
            outage = None
            if plan.restart_redis and own_redis is not None:
                outage = asyncio.ensure_future(redis_outage(own_redis, plan, admitted, go_mono))
            done = await asyncio.gather(
                *(next_event(p, "done", plan.deadline_s + 30) for p in procs)
            )
            result["agents_planned"] = [d.get("agents_planned") for d in done]
            if outage is not None:
                result["redis_outage"] = await outage
            for proc in procs:
                await asyncio.wait_for(proc.wait(), 60)
        finally:
            stop_others.set()
            if others is not None:
                await others
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            logs.close()
        dump = sim.dump()
    window = sim.limits.window
    limit = math.floor(plan.quota_share * (sim.limits.threshold - plan.others))
    note_tags = [t for per in notes for t in per]
    time_tags = [t for per in entries for t in per]
    lost_n, dup_n = counted(dump["TicketNotes"], "description", note_tags)
    lost_t, dup_t = counted(dump["TimeEntries"], "summaryNotes", time_tags)
    kept = sum(d["pending"] + d["needs_attention"] for d in done)
    result.update(
        {
            "agents": plan.agents,
            "edits": len(note_tags) + len(time_tags),
            "seconds_to_drain": round(max(d["ended"] for d in done) - go_at, 2),
            "window_s": round(window, 2),
            "share_per_window": limit,
            "peak_per_window": peak_in_window(sorted(admitted), window),
            "requests": len(admitted),
            "requests_draining": sum(1 for t in admitted if t >= go_mono),
            "status_429": sum(1 for r in wire.requests if r["status"] == 429),
            "not_on_server": lost_n + lost_t,
            # still in an outbox at the deadline (queued, or parked for the technician to see)
            # is late, not lost
            "lost": max(0, lost_n + lost_t - kept),
            "duplicated": dup_n + dup_t,
            "pending": sum(d["pending"] for d in done),
            "needs_attention": sum(d["needs_attention"] for d in done),
            "fallbacks": [d["fallbacks"] for d in done],
            "exit_codes": [p.returncode for p in procs],
        }
    )
    if open_until is not None:
        result["breaker_open_s"] = round(open_until - go_at, 2)
        result["others_sent_while_open"] = sum(
            1
            for r in wire.requests
            if r["method"] == "POST"
            and r["path"].endswith("/timeentries")
            and r["code"] != codes[0]
            and r["at"] < open_until
        )
    return result


def send(proc: asyncio.subprocess.Process, line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(f"{line}\n".encode())


async def redis_outage(
    server: RedisServer, plan: FleetPlan, admitted: list[float], since: float
) -> dict[str, Any]:
    """Stop Redis once the agents are well into their drain, start it again a little later."""
    expected = plan.agents * plan.notes
    while sum(1 for t in admitted if t >= since) < expected // 4:  # noqa: ASYNC110 (polls)
        await asyncio.sleep(0.05)
    server.stop()
    stopped = time.time()
    await asyncio.sleep(plan.redis_down_s)
    await server.start()
    return {"stopped_at": stopped, "restarted_at": time.time()}


def problems(result: dict[str, Any]) -> list[str]:
    """What broke the promises, from the counts; empty when none did."""
    found = []
    if result["lost"] or result["duplicated"]:
        found.append(f"lost {result['lost']}, duplicated {result['duplicated']}")
    if result["pending"]:
        found.append(f"{result['pending']} edits still pending")
    if result.get("needs_attention"):
        found.append(f"{result['needs_attention']} edits parked for attention")
    if result["peak_per_window"] > result["share_per_window"]:
        peak, share = result["peak_per_window"], result["share_per_window"]
        found.append(f"{peak} requests in one window, share {share}")
    if result.get("others_sent_while_open"):
        found.append(f"{result['others_sent_while_open']} sent past the fleet's open breaker")
    if any(result["exit_codes"]):
        found.append(f"exit codes {result['exit_codes']}")
    return found
