"""Recovery benchmark: how fast a queued write goes out once the network comes back.

The simulator is served on loopback behind a small TCP proxy this benchmark controls. For each
sample the proxy stops listening and cuts every open connection (the network "goes away"), a
write is queued and fails until the agent considers itself offline, then the proxy listens
again ("restore") and the time from restore to the write's first successful send is measured.
Writes `recovery.json` with the samples, p50 and p95 (target p95 <= 1000 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from agent.autotask import ApiCredentials
from agent.autotask.client import AutotaskClient
from agent.autotask.entities import Ticket
from agent.autotask.session import ClientOptions
from agent.resilience import Connectivity, Mode, Pipeline, PipelineError, tcp_probe
from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME, Simulator, serve

SAMPLES = 20
DOWN_SECONDS = 1.5
TARGET_P95_MS = 1000.0
VERBOSE = bool(os.environ.get("BENCH_VERBOSE"))


class LinkProxy:
    """A TCP forwarder that can refuse connections and cut open ones, like a dropped network."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(
            self._connect, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(dst)
            dst.transport.abort()


async def send_when_possible(
    pipeline: Pipeline,
    connectivity: Connectivity,
    client: AutotaskClient,
    write: Callable[[httpx.Timeout], Awaitable[int]],
) -> None:
    """What the outbox worker does with one queued write: send, else wait for online or retry.
    Back online, the client is told so, as the agent tells it: a zone lookup that could not
    connect while the network was away is tried again at once, not after its backoff."""
    while True:
        try:
            await pipeline.call(endpoint="Tickets", kind="write", fn=write)
            return
        except PipelineError as failed:
            if VERBOSE:
                print(repr(failed), repr(failed.error), pipeline.mode, flush=True)
            if pipeline.mode is Mode.OFFLINE:
                await connectivity.wait_online()
                client.network_returned()
                continue
            wait = 0.25
            if failed.retry_at is not None:
                wait = (failed.retry_at - datetime.now(UTC)).total_seconds()
            await asyncio.sleep(max(0.0, min(wait, 2.0)))


async def measure() -> list[float]:
    sim = Simulator(seed="bench-recovery", tickets=30)
    ticket_id = min(sim.tenant.records["Tickets"])
    samples: list[float] = []
    async with serve(sim, port=0) as base:
        proxy = LinkProxy(int(base.rsplit(":", 1)[1]))
        await proxy.up()
        origin = f"http://127.0.0.1:{proxy.port}"
        async with httpx.AsyncClient() as http:
            client = AutotaskClient(
                http,
                ApiCredentials(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE),
                options=ClientOptions(directory_url=origin + "/ATServicesRest/", deadline=2.0),
            )

            async def probe() -> bool:
                return await tcp_probe("127.0.0.1", proxy.port, 0.5)

            connectivity = Connectivity(probe)
            async with Pipeline(zone="bench", connectivity=connectivity) as pipeline:
                for i in range(SAMPLES):

                    async def write(limits: httpx.Timeout, n: int = i) -> int:
                        with client.deadline(limits.read):
                            return await client.update(Ticket, ticket_id, {"title": f"visit {n}"})

                    await proxy.down()
                    sender = asyncio.create_task(
                        send_when_possible(pipeline, connectivity, client, write)
                    )
                    await asyncio.sleep(DOWN_SECONDS)
                    assert not sender.done(), "the write went out while the network was down"
                    await proxy.up()
                    restored = time.perf_counter()
                    await asyncio.wait_for(sender, 30.0)
                    samples.append((time.perf_counter() - restored) * 1000.0)
        await proxy.down()
    return samples


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def main(out_dir: Path) -> None:
    samples = asyncio.run(measure())
    result = {
        "reconnect_to_first_send_ms_p95": round(percentile(samples, 0.95), 1),
        "reconnect_to_first_send_ms_p50": round(statistics.median(samples), 1),
        "target_p95_ms": TARGET_P95_MS,
        "samples_ms": [round(s, 1) for s in samples],
        "network_down_seconds": DOWN_SECONDS,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "recovery.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "samples_ms"}))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main(Path("build/bench"))
