"""The one writer at a time, so writers never race each other for the database's lock.

peewee's `playhouse.sqliteq` also funnels writes through a thread, but it cannot run a
multi-statement transaction (an edit's overlay, outbox operation and audit event must commit
together), so this small queue runs whole functions inside one transaction instead.

A synchronous `run` on an idle writer (nothing queued, nothing running) does not hand its
function to the thread: it takes the writer's lock and runs the transaction on the caller's own
connection. The hand-off (two thread wake-ups, ~50-100 µs) would otherwise cost more than the
insert itself. Writes still happen one at a time and in each thread's submission order: the
lock is held for every write, and the direct path is taken only when no submitted write is
waiting or running.
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
    """Runs submitted callables one at a time, in submission order, on a dedicated thread (or,
    when idle, on the calling thread under the same lock; see the module docstring)."""

    def __init__(
        self,
        name: str,
        run_in_transaction: Callable[[Callable[[], Any]], Any],
        run_direct: Callable[[Callable[[], Any]], Any] | None = None,
    ) -> None:
        self._run = run_in_transaction
        self._direct = run_direct
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._mutex = threading.Lock()  # held by whoever is writing
        self._count = threading.Lock()
        self._inflight = 0  # submitted and not yet finished
        self._owner: int | None = None  # the thread writing directly, if any
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
        """True on the thread running the current write (the writer's or a direct caller)."""
        ident = threading.get_ident()
        return ident == self._thread.ident or ident == self._owner

    def _finished(self) -> None:
        with self._count:
            self._inflight -= 1

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                with self._mutex:  # waits for a direct write to finish
                    self._stopped = True
                for fn in self._on_exit:
                    fn()
                self._fail_leftovers()
                return
            fn, future, transactional = item
            try:
                if not future.set_running_or_notify_cancel():
                    continue
                with self._mutex:
                    try:
                        future.set_result(self._run(fn) if transactional else fn())
                    except BaseException as exc:  # handed to the caller, who decides
                        future.set_exception(exc)
            finally:
                self._finished()

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
        with self._count:
            self._inflight += 1
        self._queue.put((fn, future, transactional))
        if self.stopped:  # lost the race with stop(): the loop will not see this item
            self._fail_leftovers()
        return future

    def _try_direct(self, fn: Callable[[], T]) -> tuple[bool, T | None]:
        if self._direct is None or self._inflight or not self._mutex.acquire(blocking=False):
            return False, None
        try:
            if self._inflight or self._stopped:  # re-checked under the lock
                return False, None
            self._owner = threading.get_ident()
            try:
                return True, self._direct(fn)
            finally:
                self._owner = None
        finally:
            self._mutex.release()

    def run(self, fn: Callable[[], T], *, transactional: bool = True, direct: bool = True) -> T:
        if transactional and direct and not self.is_writer_thread:
            done, result = self._try_direct(fn)
            if done:
                return result  # type: ignore[return-value]
        return self.submit(fn, transactional=transactional).result()

    async def run_async(self, fn: Callable[[], T]) -> T:
        return await asyncio.wrap_future(self.submit(fn))

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
