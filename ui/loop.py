"""The one asyncio loop of the window: qasync's loop over the QApplication, scheduling its
callbacks so that the GUI thread stays responsive while the agent syncs.

qasync turns every `call_soon` into a Qt timer of its own and keeps a cancelled `call_later`
registered until it would have fired. While thousands of operations sync, that makes one Qt
event pass run every callback queued before it (hundreds, each re-taking the GIL from the
store's threads) and leaves thousands of dead 30-second request timeouts in Qt's timer list and
in the heap. Here:

- ready callbacks wait in one FIFO queue, run by a single zero-interval timer that stops after a
  few milliseconds of work and lets Qt paint, read input and fire its timers before going on
  (as asyncio's own loop runs only the callbacks that were ready when its iteration began);
- delayed callbacks are asyncio `TimerHandle`s on Qt timers that queue them when due, and
  cancelling one kills its timer at once;
- a modal dialog opened inside a task (a nested Qt loop) lets the other tasks run meanwhile.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import math
import time
from collections.abc import Callable
from typing import Any

import qasync
from PySide6.QtCore import QObject, Qt, QTimerEvent
from PySide6.QtWidgets import QApplication

SLICE_S = 0.004  # at most this long in callbacks before Qt gets the thread back


class _Scheduler(QObject):
    """Runs ready handles in slices and delayed handles on their own Qt timers."""

    def __init__(
        self, slice_s: float, running: Callable[[], bool], loop: asyncio.AbstractEventLoop
    ) -> None:
        super().__init__()
        self.slice_s = slice_s
        self._running = running
        self._loop = loop
        self.ready: collections.deque[asyncio.Handle] = collections.deque()
        self._ready_timer = 0
        self._delayed: dict[int, asyncio.TimerHandle] = {}  # Qt timer id -> handle
        self._timer_of: dict[int, int] = {}  # id(handle) -> Qt timer id
        self._stopped = False

    # -- scheduling -------------------------------------------------------------------------
    def soon(self, handle: asyncio.Handle) -> None:
        self.ready.append(handle)
        self.resume()

    def resume(self) -> None:
        """Make sure the ready queue is worked on (the loop starts, or a handle arrived)."""
        if self.ready and not self._ready_timer and not self._stopped:
            self._ready_timer = self.startTimer(0)

    def later(self, handle: asyncio.TimerHandle, delay: float) -> None:
        if self._stopped:
            return
        ms = max(1, math.ceil(delay * 1000))  # never early: asyncio's timeouts rely on it
        timer_id = self.startTimer(ms, Qt.TimerType.PreciseTimer)
        self._delayed[timer_id] = handle
        self._timer_of[id(handle)] = timer_id

    def forget(self, handle: asyncio.TimerHandle) -> None:
        """A delayed handle was cancelled: its Qt timer goes now, not when it would fire."""
        timer_id = self._timer_of.pop(id(handle), None)
        if timer_id is not None and self._delayed.pop(timer_id, None) is not None:
            self.killTimer(timer_id)

    # -- running ----------------------------------------------------------------------------
    def timerEvent(self, event: QTimerEvent) -> None:
        timer_id = event.timerId()
        if timer_id == self._ready_timer:
            self._run_ready()
            return
        self.killTimer(timer_id)
        handle = self._delayed.pop(timer_id, None)
        if handle is None:
            return
        self._timer_of.pop(id(handle), None)
        if not handle.cancelled():  # due: it queues behind what is ready, as in asyncio
            self.soon(handle)

    def _run_ready(self) -> None:
        self._pause()
        if not self._running():
            # Qt also works outside `run_forever` (processEvents between two runs): callbacks
            # wait for the loop, as in asyncio, instead of running with no loop.
            return
        # A fresh timer: Qt never re-enters the handler of the timer it is delivering, so a
        # callback that opens a modal dialog (a nested Qt loop) would otherwise stop the queue.
        self.resume()
        # Opened inside a task's step (a question asked from a facade call's callback), that
        # nested loop runs here while the task is still current: asyncio refuses to step any
        # other task then, and each refused step loses its wakeup for good (the sync, the
        # status, hung). The asking task steps aside while the others run, as it would at an
        # `await`, and is current again when its dialog returns.
        asking = asyncio.current_task(self._loop)
        if asking is not None:
            asyncio.tasks._leave_task(self._loop, asking)
        try:
            self._run_slice()
        finally:
            if asking is not None:
                asyncio.tasks._enter_task(self._loop, asking)

    def _run_slice(self) -> None:
        ready = self.ready
        # Only what was ready when this pass began, and only for a slice of time.
        todo = len(ready)
        deadline = time.perf_counter() + self.slice_s
        while todo and ready and not self._stopped:
            todo -= 1
            handle = ready.popleft()
            if not handle.cancelled():
                handle._run()
            if time.perf_counter() >= deadline:
                break
        if not ready or self._stopped:
            self._pause()

    def _pause(self) -> None:
        if self._ready_timer:
            self.killTimer(self._ready_timer)
            self._ready_timer = 0

    # -- qasync's timer interface -----------------------------------------------------------
    def stop(self) -> None:
        self._stopped = True
        self._pause()
        for timer_id in self._delayed:
            self.killTimer(timer_id)
        self._delayed.clear()
        self._timer_of.clear()
        self.ready.clear()

    def set_debug(self, enabled: bool) -> None:
        pass  # asyncio's debug mode (slow-callback warnings) is not wired through this loop


def _check_callback(callback: Callable[..., Any], method: str) -> None:
    if asyncio.iscoroutine(callback) or asyncio.iscoroutinefunction(callback):
        raise TypeError(f"coroutines cannot be used with {method}()")
    if not callable(callback):
        raise TypeError(f"a callable object was expected by {method}(), got {callback!r}")


class EventLoop(qasync.QEventLoop):  # type: ignore[misc]
    """qasync's loop with sliced ready callbacks and cancellable Qt timers."""

    def __init__(self, app: QApplication | None = None, slice_s: float = SLICE_S) -> None:
        super().__init__(app)
        self._timer = _Scheduler(slice_s, self.is_running, self)

    def run_forever(self) -> None:
        self._timer.resume()  # what was scheduled while the loop was not running
        super().run_forever()

    def call_soon(
        self,
        callback: Callable[..., Any],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        _check_callback(callback, "call_soon")
        handle = asyncio.Handle(callback, args, self, context=context)
        self._timer.soon(handle)
        return handle

    def call_later(
        self,
        delay: float,
        callback: Callable[..., Any],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        return self.call_at(self.time() + delay, callback, *args, context=context)

    def call_at(
        self,
        when: float,
        callback: Callable[..., Any],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        _check_callback(callback, "call_at")
        handle = asyncio.TimerHandle(when, callback, args, self, context=context)
        delay = when - self.time()
        if delay <= 0:
            self._timer.soon(handle)
        else:
            self._timer.later(handle, delay)
        return handle

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        # asyncio's hook, called by TimerHandle.cancel(): drop its Qt timer at once.
        self._timer.forget(handle)


def new_event_loop(app: QApplication) -> EventLoop:
    """The loop the program runs on (and its benchmarks and tests)."""
    return EventLoop(app)


__all__ = ["EventLoop", "new_event_loop"]
