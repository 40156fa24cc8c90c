"""Serve a simulator over a real loopback socket with uvicorn, in this loop or in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator

import uvicorn

from agent.simulator.simulator import Simulator


def _config(sim: Simulator, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        sim.app,
        host=host,
        port=port,
        log_level="warning",
        log_config=None,  # uvicorn's own handlers need a stderr; a windowed build has none
        access_log=False,
        lifespan="off",
        http="h11",
        date_header=False,  # the app stamps `Date` from the simulator's clock
        timeout_graceful_shutdown=2,
    )


async def start(
    sim: Simulator, host: str = "127.0.0.1", port: int = 0
) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """Start uvicorn as a task of the running loop; returns it with the task and base URL."""
    server = uvicorn.Server(_config(sim, host, port))
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the simulator server stopped while starting")
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()
    return server, task, f"http://{host}:{bound[1]}"


async def stop(sim: Simulator, server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    """Stop serving: held requests are released first, so shutdown never waits on them."""
    server.should_exit = True
    sim.faults.release_hangs()
    await sim.dispatcher.stop()
    await task


@contextlib.asynccontextmanager
async def serve(sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Run uvicorn in the current event loop; yields the base URL (port 0 picks a free port)."""
    server, task, base = await start(sim, host, port)
    try:
        yield base
    finally:
        await stop(sim, server, task)


@contextlib.contextmanager
def serve_in_thread(sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run the server in a thread with its own event loop; yields the base URL."""
    ready = threading.Event()
    stop: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None
    url: list[str] = []
    failure: list[BaseException] = []

    async def main() -> None:
        nonlocal stop, loop
        stop, loop = asyncio.Event(), asyncio.get_running_loop()
        try:
            async with serve(sim, host, port) as base:
                url.append(base)
                ready.set()
                await stop.wait()
        except BaseException as exc:
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=asyncio.run, args=(main(),), name="simulator", daemon=True)
    thread.start()
    ready.wait()
    if failure:
        thread.join()
        raise RuntimeError("the simulator server did not start") from failure[0]
    try:
        yield url[0]
    finally:
        assert loop is not None and stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join()
