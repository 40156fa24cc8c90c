"""How the window holds up: the longest GUI-thread stall while 10,000 operations sync against
the simulator (a 5 ms QTimer records the largest gap between ticks), the time from process start
to the tray icon (or the window where there is no tray), and the memory with 100,000 queued
operations loaded in the Queue page. Each figure is measured in its own subprocess.

Writes build/bench/ui.json. Targets: max_gui_stall_ms <= 50, cold_start_to_tray_ms <= 2000,
rss_mb_with_100k_ops <= 250.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

TARGETS = {"max_gui_stall_ms": 50, "cold_start_to_tray_ms": 2000, "rss_mb_with_100k_ops": 250}
SYNC_OPS = int(os.environ.get("UI_BENCH_SYNC_OPS", "10000"))
QUEUED_OPS = int(os.environ.get("UI_BENCH_QUEUED_OPS", "100000"))
TICK_MS = 5


def _env() -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM") or "offscreen"}


def _child(measure: str, timeout: float = 900) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "tests.bench.bench_ui", "--measure", measure]
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{measure} failed: {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


class StallMeter:
    """A QTimer ticking every 5 ms; the largest gap between ticks is the longest GUI stall."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now - self._last) * 1000)
        self._last = now


@contextlib.asynccontextmanager
async def _agent(data_dir: Path, tickets: int) -> AsyncIterator[Any]:
    """A real agent against the simulator served from its own thread over loopback, as in the
    demo: the simulator's own work must not count as the window's stalls."""
    from agent.api.facade import Agent
    from agent.clock import SYSTEM_CLOCK
    from agent.simulator import Simulator, serve_in_thread
    from tests.e2e.conftest import options

    sim = Simulator(seed="bench-ui", tickets=tickets, threshold=10_000_000)
    sim.limits.latency_enabled = False
    with serve_in_thread(sim) as base:
        opts = options(sim, SYSTEM_CLOCK, data_dir)
        opts.transport = None
        opts.directory_url = f"{base}/ATServicesRest/"
        agent = await Agent.open(opts)
        try:
            yield agent
        finally:
            await agent.close()


def _notes(ticket_ids: list[int], n: int) -> list[Any]:
    from agent.queue import NewOperation
    from agent.store.models import OpKind
    from agent.sync.capture import NOTES

    return [
        NewOperation(
            OpKind.CREATE,
            NOTES,
            fields={
                "ticketID": ticket_ids[i % len(ticket_ids)],
                "title": f"Visit note {i}",
                "description": "Checked the printer, replaced the fuser, tested duplex. " * 2,
                "noteType": 1,
                "publish": 1,
            },
            temp_id=uuid.uuid4().hex,
            parent_id=ticket_ids[i % len(ticket_ids)],
        )
        for i in range(n)
    ]


async def _seed(agent: Any, n: int) -> None:
    tickets = [t.id for t in await agent.my_tickets()]
    news = _notes(tickets, n)
    for start in range(0, n, 5000):
        chunk = news[start : start + 5000]
        await asyncio.to_thread(agent.outbox.enqueue_many, chunk)


def _program_loop() -> Any:
    """The application, its event loop and its GUI-thread collector, as the program sets them
    up (ui.app.run_app, ui.app.Desktop.run)."""
    from ui.app import make_application
    from ui.heap import GuiThreadCollector
    from ui.loop import new_event_loop

    app = make_application()
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    GuiThreadCollector(parent=app).start()
    return loop


def measure_stall() -> dict[str, Any]:
    from ui.heap import freeze_startup_objects
    from ui.mainwindow import MainWindow
    from ui.service import AgentService

    loop = _program_loop()

    async def run() -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as tmp:
            async with _agent(Path(tmp), tickets=200) as agent:
                return await body(agent)

    async def body(agent: Any) -> dict[str, Any]:
        service = AgentService(agent)
        try:
            await agent.sync_now()
            await _seed(agent, SYNC_OPS)
            window = MainWindow(service)
            window.show()
            window.show_page("queue")
            service.refresh_status()
            freeze_startup_objects()  # as the program does once its window is up
            await asyncio.sleep(0.5)
            meter = StallMeter()
            meter.start()
            started = time.perf_counter()
            rounds = 0
            while (await agent.status()).pending and time.perf_counter() - started < 600:
                await agent.sync_now()
                rounds += 1
            elapsed = time.perf_counter() - started
            await asyncio.sleep(0.3)  # the pages catch up with the last events
            meter.stop()
            status = await agent.status()
            window.hide()
            gaps = sorted(meter.gaps)
            return {
                "max_gui_stall_ms": round(max(gaps), 1),
                "p99_tick_gap_ms": round(gaps[int(len(gaps) * 0.99)], 1),
                "median_tick_gap_ms": round(statistics.median(gaps), 1),
                "sync_seconds": round(elapsed, 1),
                "sync_rounds": rounds,
                "ops_left": status.pending,
                "ops_per_s": round(SYNC_OPS / elapsed, 1),
            }
        finally:
            await service.shutdown()

    try:
        return loop.run_until_complete(run())
    finally:
        loop.close()


def measure_rss() -> dict[str, Any]:
    import psutil

    from ui.mainwindow import MainWindow
    from ui.service import AgentService

    loop = _program_loop()

    async def run() -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as tmp:
            async with _agent(Path(tmp), tickets=200) as agent:
                return await body(agent)

    async def body(agent: Any) -> dict[str, Any]:
        service = AgentService(agent)
        try:
            await agent.sync_now()
            await agent.set_work_offline(True)  # keep them queued
            await _seed(agent, QUEUED_OPS)
            window = MainWindow(service)
            window.show()
            window.show_page("queue")
            service.refresh_status()
            await service.settle()
            await asyncio.sleep(1.0)
            await service.settle()
            rss = psutil.Process().memory_info().rss / 2**20
            queued = (await agent.status()).pending
            window.hide()
            return {"rss_mb_with_100k_ops": round(rss, 1), "queued": queued}
        finally:
            await service.shutdown()

    try:
        return loop.run_until_complete(run())
    finally:
        loop.close()


def _start_until_ready(env: dict[str, str]) -> float:
    """One `python -m agent --demo` until the tray (or window fallback) shows; milliseconds."""
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready"
        started = time.time()
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "--demo", "--data-dir", str(Path(tmp) / "d")],
            env={**env, "FIELD_SYNC_READY_FILE": str(ready)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while not ready.exists():
                if proc.poll() is not None or time.time() - started > 60:
                    raise RuntimeError("the app exited or never showed its tray")
                time.sleep(0.005)
            shown = float(ready.read_text().strip() or time.time())
            return (shown - started) * 1000
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def measure_cold_start() -> dict[str, Any]:
    """`python -m agent --demo` until the tray (or window fallback) shows, best of three.

    Beside it, for information, the same with the program's bytecode compiled (in a private
    cache, after one start that compiles it), as an installed copy starts: this environment sets
    PYTHONDONTWRITEBYTECODE, so every measured start also compiles the program's own modules
    from source, which installing (pip, the packaged build) does once instead."""
    times = [_start_until_ready(_env()) for _ in range(3)]
    with tempfile.TemporaryDirectory() as cache:
        compiled_env = {**_env(), "PYTHONPYCACHEPREFIX": cache}
        compiled_env.pop("PYTHONDONTWRITEBYTECODE", None)
        _start_until_ready(compiled_env)  # compiles into the cache, as installing would
        compiled = [_start_until_ready(compiled_env) for _ in range(3)]
    return {
        "cold_start_to_tray_ms": round(min(times)),
        "cold_start_runs_ms": [round(t) for t in times],
        "cold_start_compiled_ms": round(min(compiled)),
    }


def main(out_dir: Path) -> None:
    results: dict[str, Any] = {}
    results.update(_child("cold"))
    results.update(_child("stall"))
    results.update(_child("rss"))
    results["targets"] = TARGETS
    results["within_targets"] = {k: results[k] <= v for k, v in TARGETS.items()}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "ui.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--measure", choices=("stall", "rss", "cold"))
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.measure is None:
        main(Path("build/bench"))
    else:
        import keyring

        from agent.credentials import InProcessKeyring

        # Its own process: the profile's data key goes in a keyring of this process, as in the
        # parent run (the machine running it may have none).
        keyring.set_keyring(InProcessKeyring())
        fn = {"stall": measure_stall, "rss": measure_rss, "cold": measure_cold_start}[args.measure]
        print(json.dumps(fn()), flush=True)
        os._exit(0)  # skip Qt's teardown at exit: the figure is out, nothing else matters
