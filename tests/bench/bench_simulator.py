"""GET /Tickets/{id} throughput of the simulator over loopback, against a bare Starlette app.

Each server runs in its own process (uvicorn, access log off, no latency injection) and `wrk`
drives it from another process, so the figure measures the server rather than a Python client:
an httpx client saturates near 500 requests per second on its own core. A generated wrk Lua
script rotates the integration code over many registered codes, keeping each code within the
API's three concurrent requests per endpoint, and rotates the ticket id over existing tickets.
Only 2xx answers count towards `requests_per_second`; other statuses are reported as `non_2xx`.
Without wrk on the PATH the old httpx load generator is used and the JSON says so.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil

from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME

TARGET = 1000
CODES = 16
CONNECTIONS = 8  # with CODES codes in rotation, no code comes near 3 requests in flight
DURATION_S = 8
WARMUP_S = 1
TICKETS = 500
HTTPX_CODES = 4
HTTPX_PER_CODE = 3
HTTPX_REQUESTS = 6000
BASELINE_APP = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def item(request):
    return JSONResponse({"item": {"id": int(request.path_params["id"]), "title": "constant"}})
app = Starlette(routes=[Route("/item/{id:int}", item)])
print(f"serving http://127.0.0.1:{sys.argv[1]}", flush=True)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, http="h11")
"""
# `done` prints one JSON line after wrk's own report; latency is in microseconds.
WRK_SCRIPT = """
local codes = {%(codes)s}
local paths = {%(paths)s}
local n = 0
request = function()
  n = n + 1
  local headers = {
    ["ApiIntegrationCode"] = codes[(n %% #codes) + 1],
    ["UserName"] = %(user)s,
    ["Secret"] = %(secret)s,
  }
  return wrk.format("GET", paths[(n %% #paths) + 1], headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "duration_us": %%d, "status": %%d, "socket": %%d, '
      .. '"p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _codes() -> list[str]:
    return [DEMO_INTEGRATION_CODE] + [f"{DEMO_INTEGRATION_CODE}-{n}" for n in range(2, CODES + 1)]


def _wait_listening(base: str) -> None:
    """Block until `base` accepts connections: a server may announce itself before binding."""
    url = httpx.URL(base)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection((url.host, url.port or 80), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def _served(command: list[str]) -> Iterator[tuple[psutil.Process, str]]:
    """The server process and its base URL, taken from the first line it prints."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        if match is None:
            raise RuntimeError(f"server did not start: {line!r}")
        _wait_listening(match.group(0))
        yield psutil.Process(proc.pid), match.group(0)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def _ticket_paths(base: str) -> list[str]:
    """GET-by-id paths for the tenant's existing tickets, under the zone the API names."""
    headers = {"ApiIntegrationCode": _codes()[0], "UserName": DEMO_USERNAME, "Secret": DEMO_SECRET}
    with httpx.Client(base_url=base, headers=headers) as client:
        zone = client.get("/ATServicesRest/V1.0/ZoneInformation", params={"user": DEMO_USERNAME})
        zone.raise_for_status()
        prefix = httpx.URL(zone.json()["url"]).path.rstrip("/")
        found = client.post(
            f"{prefix}/V1.0/Tickets/query",
            json={
                "MaxRecords": TICKETS,
                "IncludeFields": ["id"],
                "filter": [{"op": "exist", "field": "id"}],
            },
        )
        found.raise_for_status()
        ids = [int(item["id"]) for item in found.json()["items"]]
    if not ids:
        raise RuntimeError("the simulator has no tickets to fetch")
    return [f"{prefix}/V1.0/Tickets/{i}" for i in ids]


def _wrk(wrk: str, base: str, script: Path, seconds: int) -> dict[str, int]:
    run = subprocess.run(
        [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"no summary from wrk: {run.stdout[-300:]!r} {run.stderr[-300:]!r}")
    return dict(json.loads(lines[-1]))


def _measure_wrk(wrk: str, command: list[str], paths_for: Any) -> dict[str, Any]:
    with _served(command) as (server, base), tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "get_by_id.lua"
        script.write_text(
            WRK_SCRIPT
            % {
                "codes": ", ".join(json.dumps(c) for c in _codes()),
                "paths": ", ".join(json.dumps(p) for p in paths_for(base)),
                "user": json.dumps(DEMO_USERNAME),
                "secret": json.dumps(DEMO_SECRET),
            }
        )
        _wrk(wrk, base, script, WARMUP_S)  # warm connections and code paths
        cpu_before = sum(server.cpu_times()[:2])
        summary = _wrk(wrk, base, script, DURATION_S)
        cpu = sum(server.cpu_times()[:2]) - cpu_before
    wall = summary["duration_us"] / 1e6
    ok = summary["requests"] - summary["status"]
    return {
        "requests": summary["requests"],
        "non_2xx": summary["status"],
        "socket_errors": summary["socket"],
        "wall_s": round(wall, 3),
        "requests_per_second": round(ok / wall, 1),
        "requests_per_server_cpu_second": round(ok / max(cpu, 1e-6), 1),
        "latency_p50_ms": round(summary["p50_us"] / 1000, 2),
        "latency_p99_ms": round(summary["p99_us"] / 1000, 2),
    }


async def _hammer(urls: list[str]) -> tuple[int, int, float]:
    ok = failed = 0
    slots = HTTPX_CODES * HTTPX_PER_CODE

    async def worker(client: httpx.AsyncClient, code: str, offset: int) -> None:
        nonlocal ok, failed
        headers = {"ApiIntegrationCode": code, "UserName": DEMO_USERNAME, "Secret": DEMO_SECRET}
        for i in range(offset, HTTPX_REQUESTS, slots):
            r = await client.get(urls[i % len(urls)], headers=headers)
            if 200 <= r.status_code < 300:
                ok += 1
            else:
                failed += 1

    limits = httpx.Limits(max_connections=slots, max_keepalive_connections=slots)
    async with httpx.AsyncClient(limits=limits) as client:
        codes = _codes()
        warm = {"ApiIntegrationCode": codes[0], "UserName": DEMO_USERNAME, "Secret": DEMO_SECRET}
        for url in urls[:20]:  # warm up connections and code paths
            await client.get(url, headers=warm)
        started = time.perf_counter()
        await asyncio.gather(*(worker(client, codes[n // HTTPX_PER_CODE], n) for n in range(slots)))
        return ok, failed, time.perf_counter() - started


def _measure_httpx(command: list[str], paths_for: Any) -> dict[str, Any]:
    with _served(command) as (server, base):
        urls = [base + p for p in paths_for(base)]
        cpu_before = sum(server.cpu_times()[:2])
        ok, failed, wall = asyncio.run(_hammer(urls))
        cpu = sum(server.cpu_times()[:2]) - cpu_before
    return {
        "requests": ok + failed,
        "non_2xx": failed,
        "wall_s": round(wall, 3),
        "requests_per_second": round(ok / wall, 1),
        "requests_per_server_cpu_second": round(ok / max(cpu, 1e-6), 1),
    }


def main(out_dir: Path) -> None:
    simulator_command = [
        sys.executable,
        "-m",
        "agent.simulator",
        "--port",
        str(_free_port()),
        "--no-dispatcher",
        "--no-latency",
        "--service-time",
        "0",  # the figure is the server's own cost, not the modelled production time
        "--threshold",
        "1000000",  # the hourly threshold would otherwise answer 429 within seconds
        "--tickets",
        str(TICKETS),
        "--integration-codes",
        str(CODES),
    ]
    baseline_command = [sys.executable, "-c", BASELINE_APP, str(_free_port())]

    def baseline_paths(base: str) -> list[str]:
        return [f"/item/{n}" for n in range(TICKETS)]

    wrk = shutil.which("wrk")
    if wrk is not None:
        simulator = _measure_wrk(wrk, simulator_command, _ticket_paths)
        baseline = _measure_wrk(wrk, baseline_command, baseline_paths)
        tool: dict[str, Any] = {
            "tool": "wrk",
            "connections": CONNECTIONS,
            "integration_codes": CODES,
            "duration_s": DURATION_S,
        }
    else:
        simulator = _measure_httpx(simulator_command, _ticket_paths)
        baseline = _measure_httpx(baseline_command, baseline_paths)
        tool = {
            "tool": "httpx",
            "note": "wrk not found on PATH: the in-process httpx client is the likely bottleneck",
            "connections": HTTPX_CODES * HTTPX_PER_CODE,
            "integration_codes": HTTPX_CODES,
        }
    result = {
        **simulator,
        **tool,
        "target": TARGET,
        "meets_target": simulator["requests_per_second"] >= TARGET,
        "baseline_starlette_requests_per_second": baseline["requests_per_second"],
        "baseline_non_2xx": baseline["non_2xx"],
        "ratio_to_baseline": round(
            simulator["requests_per_second"] / max(baseline["requests_per_second"], 1e-6), 3
        ),
        "baseline_requests_per_server_cpu_second": baseline["requests_per_server_cpu_second"],
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    (out_dir / "simulator.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    out = Path("build/bench")
    out.mkdir(parents=True, exist_ok=True)
    main(out)
