"""The one thread that writes to the database, so writers never race each other for the lock.

peewee's `playhouse.sqliteq` also funnels writes through a thread, but it cannot run a
multi-statement transaction (an edit's overlay, outbox operation and audit event must commit
together), so this small queue runs whole functions inside one transaction instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_STOP = object()


class SingleWriter:
    """Runs submitted callables one at a time on a dedicated thread, in submission order."""

    def __init__(self, name: str, run_in_transaction: Callable[[Callable[[], Any]], Any]) -> None:
        self._run = run_in_transaction
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._on_exit: list[Callable[[], None]] = []
        self._stopped = False
        self._thread.start()

    def _fail_leftovers(self) -> None:
        # A write queued while the store was closing must not wait forever.
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP:
                item[1].set_exception(RuntimeError("the store is closed"))

    def on_exit(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the writer thread as it stops (closing its own connection)."""
        self._on_exit.append(fn)

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def is_writer_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                self._stopped = True
                for fn in self._on_exit:
                    fn()
                self._fail_leftovers()
                return
            fn, future, transactional = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self._run(fn) if transactional else fn())
            except BaseException as exc:  # handed to the caller, who decides
                future.set_exception(exc)

    def submit(
        self, fn: Callable[[], T], *, transactional: bool = True
    ) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        if self.is_writer_thread:  # a write inside a write joins the running transaction
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)
            return future
        if self._stopped or not self._thread.is_alive():
            raise RuntimeError("the store is closed")
        self._queue.put((fn, future, transactional))
        if self.stopped:  # lost the race with stop(): the loop will not see this item
            self._fail_leftovers()
        return future

    def run(self, fn: Callable[[], T], *, transactional: bool = True) -> T:
        return self.submit(fn, transactional=transactional).result()

    async def run_async(self, fn: Callable[[], T]) -> T:
        return await asyncio.wrap_future(self.submit(fn))

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
