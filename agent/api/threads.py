"""The agent's work off the event loop, kept track of until the store closes.

`asyncio.to_thread` cannot stop a thread: cancelling the awaiting task abandons the thread, which
goes on using the store. Closing the store under it (its connections closed from another thread)
crashes the process inside SQLite. Every piece of the facade's thread work goes through here, and
`drain` waits for what is still running before the store is closed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class ThreadWork:
    def __init__(self, workers: int = 8) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="agent-work"
        )

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Like `asyncio.to_thread`, but the work is waited for by `drain`."""
        context = contextvars.copy_context()
        call = functools.partial(context.run, fn, *args, **kwargs)
        return await asyncio.wrap_future(self._pool.submit(call))

    async def drain(self) -> None:
        """Refuse new work, drop what has not started, and wait for what has."""
        await asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True)
