"""GET /Tickets/{id} throughput of the simulator over loopback, against a bare Starlette app.

Each server runs in its own process (uvicorn, access log off, no latency injection), so the
client's and the server's work do not share one interpreter lock. The client keeps three
requests in flight per integration code (the API's thread limit) across several codes. On a
shared 2-core machine the httpx client is often the bottleneck, so the server's own CPU time is
recorded too (`requests_per_server_cpu_second`).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME

TARGET = 1000
CODES = 4
PER_CODE = 3
REQUESTS = 6000
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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(command: list[str]) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+", line)
    if match is None:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, match.group(0)


async def _hammer(urls: list[str], codes: list[str]) -> tuple[int, float]:
    done = 0

    async def worker(client: httpx.AsyncClient, code: str, offset: int) -> None:
        nonlocal done
        headers = {"ApiIntegrationCode": code, "UserName": DEMO_USERNAME, "Secret": DEMO_SECRET}
        for i in range(offset, REQUESTS, CODES * PER_CODE):
            r = await client.get(urls[i % len(urls)], headers=headers)
            if r.status_code != 200:
                raise RuntimeError(f"unexpected {r.status_code}: {r.text[:200]}")
            done += 1

    limits = httpx.Limits(
        max_connections=CODES * PER_CODE, max_keepalive_connections=CODES * PER_CODE
    )
    async with httpx.AsyncClient(limits=limits) as client:
        for url in urls[:20]:  # warm up connections and code paths
            await client.get(
                url,
                headers={
                    "ApiIntegrationCode": codes[0],
                    "UserName": DEMO_USERNAME,
                    "Secret": DEMO_SECRET,
                },
            )
        started = time.perf_counter()
        await asyncio.gather(
            *(worker(client, codes[n // PER_CODE], n) for n in range(CODES * PER_CODE))
        )
        return done, time.perf_counter() - started


def _measure(command: list[str], paths: list[str], codes: list[str]) -> dict[str, float]:
    proc, base = _start(command)
    server = psutil.Process(proc.pid)
    try:
        cpu_before = sum(server.cpu_times()[:2])
        count, wall = asyncio.run(_hammer([base + p for p in paths], codes))
        cpu = sum(server.cpu_times()[:2]) - cpu_before
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    return {
        "requests": count,
        "wall_s": round(wall, 3),
        "requests_per_second": round(count / wall, 1),
        # What one fully busy core of the server would serve: the client shares the CPUs.
        "requests_per_server_cpu_second": round(count / max(cpu, 1e-6), 1),
    }


def main(out_dir: Path) -> None:
    sim_port, base_port = _free_port(), _free_port()
    codes = [DEMO_INTEGRATION_CODE] + [f"{DEMO_INTEGRATION_CODE}-{n}" for n in range(2, CODES + 1)]
    simulator = _measure(
        [
            sys.executable,
            "-m",
            "agent.simulator",
            "--port",
            str(sim_port),
            "--no-dispatcher",
            "--no-latency",
            "--threshold",
            "100000000",
            "--integration-codes",
            str(CODES),
        ],
        [f"/zone5/ATServicesRest/V1.0/Tickets/{7000 + n}" for n in range(1000, 1500)],
        codes,
    )
    baseline = _measure(
        [sys.executable, "-c", BASELINE_APP, str(base_port)],
        [f"/item/{n}" for n in range(500)],
        codes,
    )
    result = {
        **simulator,
        "target": TARGET,
        "meets_target": simulator["requests_per_second"] >= TARGET,
        "baseline_starlette_requests_per_second": baseline["requests_per_second"],
        "ratio_to_baseline": round(
            simulator["requests_per_second"] / baseline["requests_per_second"], 3
        ),
        "baseline_requests_per_server_cpu_second": baseline["requests_per_server_cpu_second"],
        "concurrency": CODES * PER_CODE,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    (out_dir / "simulator.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    out = Path("build/bench")
    out.mkdir(parents=True, exist_ok=True)
    main(out)
