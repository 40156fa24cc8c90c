"""The bridge between the agent facade and Qt: agent events become signals, calls become tasks.

Widgets hold an `AgentService` and never import the sync, queue or store modules. Facade calls
are coroutines run on the one qasync loop through `run`, which keeps a reference to every task
(so none is garbage-collected mid-flight) and reports the result or the error back on the GUI
thread through callbacks.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal

from agent.api.facade import Agent
from agent.api.types import AgentEvent, AgentStatus
from agent.api.validation import log_words
from agent.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
QUEUE_REFRESH_MS = 250


class AgentService(QObject):
    statusChanged = Signal(object)  # AgentStatus
    queueChanged = Signal()
    conflictsChanged = Signal()
    progress = Signal(str, int, int)  # stage, done, total
    uploadProgress = Signal(object)  # UploadProgress: one file's upload, a few times a second
    syncStarted = Signal()
    syncFinished = Signal(object)  # dict with api_calls, sent, succeeded, conflicts, failed, error
    alertRaised = Signal(object)
    alertResolved = Signal(object)
    notify = Signal(str, str, str)  # kind, title, message (the tray decides whether to show it)
    event = Signal(object)  # every AgentEvent, for pages that want more
    busyChanged = Signal(bool)
    failed = Signal(str)  # a user-facing error message from a call
    settingsChanged = Signal(object)  # Settings, after load_settings or update_settings

    def __init__(self, agent: Agent, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.agent = agent
        self._tasks: set[asyncio.Task[Any]] = set()
        self._busy = 0
        self.last_status: AgentStatus | None = None
        self.settings: Settings | None = None  # last loaded; reading it never touches the disk
        self._unsubscribe = agent.subscribe(self._on_event)
        # Queue changes arrive once per operation during a large sync: the pages, badges and
        # status follow them at most QUEUE_REFRESH_MS apart (the first at once, the last kept).
        self._queue_timer = QTimer(self, singleShot=True, interval=QUEUE_REFRESH_MS)
        self._queue_timer.timeout.connect(self._queue_settled)
        self._queue_waiting = False

    # -- running facade calls -------------------------------------------------------------
    def run(
        self,
        coro: Awaitable[T],
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> asyncio.Task[T]:
        """Schedule a facade coroutine; callbacks run on the GUI thread when it finishes."""

        async def wrapper() -> T:
            self._set_busy(+1)
            try:
                result = await coro
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if on_error is not None:
                    on_error(exc)
                else:
                    log.warning("facade call failed: %s", log_words(exc))
                    self.failed.emit(str(exc))
                raise
            finally:
                self._set_busy(-1)
            if on_done is not None:
                on_done(result)
            return result

        step = wrapper()
        try:
            task = asyncio.ensure_future(step)
        except RuntimeError:  # the loop is gone (the program is closing): nothing can run now
            step.close()
            if inspect.iscoroutine(coro):
                coro.close()
            raise
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._forget(done, coro))
        return task

    def _forget(self, task: asyncio.Task[Any], coro: Awaitable[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            # Its failure went to `on_error` (or was logged and shown): taken here, so asyncio
            # never logs it again as "never retrieved", with a traceback and the user's data.
            task.exception()
        if inspect.iscoroutine(coro) and inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
            coro.close()  # cancelled before it started (the window closing): nothing ran

    def _set_busy(self, delta: int) -> None:
        was = self._busy > 0
        self._busy += delta
        if (self._busy > 0) != was:
            self.busyChanged.emit(self._busy > 0)

    def sync_now(self) -> None:
        """Run one sync round now (the "Sync now" buttons)."""
        self.run(self.agent.sync_now())

    def _announce_queue(self) -> None:
        self._queue_waiting = False
        self.queueChanged.emit()
        self.refresh_status()
        self._queue_timer.start()

    def _queue_settled(self) -> None:
        if self._queue_waiting:
            self._announce_queue()

    def refresh_status(self) -> None:
        self.run(self.agent.status(), self._publish_status)

    def _publish_status(self, status: AgentStatus) -> None:
        self.last_status = status
        self.statusChanged.emit(status)

    def load_settings(self) -> None:
        """Read the settings off the GUI thread; `settingsChanged` delivers them."""
        self.run(asyncio.to_thread(lambda: self.agent.settings), self._publish_settings)

    def update_settings(
        self,
        changes: dict[str, Any],
        on_done: Callable[[Settings], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> asyncio.Task[Settings]:
        """Save setting changes (validated by the agent); `on_error` gets a SettingsError."""

        def done(settings: Settings) -> None:
            self._publish_settings(settings)
            if on_done is not None:
                on_done(settings)

        return self.run(self.agent.update_settings(**changes), done, on_error)

    def _publish_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.settingsChanged.emit(settings)

    # -- agent events -> signals ----------------------------------------------------------
    def _on_event(self, event: AgentEvent) -> None:
        self.event.emit(event)
        kind = event.kind
        if kind == "status":
            self.refresh_status()
        elif kind == "queue_changed":
            if self._queue_timer.isActive():
                self._queue_waiting = True
            else:
                self._announce_queue()
        elif kind == "conflict_detected":
            self.conflictsChanged.emit()
            self.notify.emit(
                "conflict",
                "Conflict",
                "A field you changed was also changed in Autotask. Choose a value.",
            )
        elif kind == "progress":
            self.progress.emit(
                str(event.data.get("stage", "")),
                int(event.data.get("done", 0)),
                int(event.data.get("total", 0)),
            )
        elif kind == "upload_progress":
            self.uploadProgress.emit(event.data.get("progress"))
        elif kind == "sync_started":
            self.syncStarted.emit()
        elif kind == "sync_finished":
            self.syncFinished.emit(dict(event.data))
            self.conflictsChanged.emit()
            if event.data.get("failed"):
                self.notify.emit(
                    "attention",
                    "Needs attention",
                    "Some changes could not be sent; see the Queue page.",
                )
        elif kind == "alert_raised":
            self.alertRaised.emit(dict(event.data))
        elif kind == "alert_resolved":
            self.alertResolved.emit(dict(event.data))
        elif kind == "credentials_rejected":
            self.notify.emit(
                "credentials",
                "Sign-in rejected",
                "Autotask rejected your credentials. Sign in again.",
            )
            self.refresh_status()
        elif kind == "back_online":
            self.notify.emit("online", "Back online", "Autotask is reachable again; syncing.")
            self.refresh_status()
        elif kind in ("went_offline", "mode_changed", "breaker_changed"):
            self.refresh_status()

    async def settle(self, rounds: int = 50) -> None:
        """Wait until no call is in flight (callbacks may start more: a few rounds)."""
        for _ in range(rounds):
            if self._queue_waiting:  # a change held back to coalesce counts as in flight
                self._announce_queue()
            if not self._tasks:
                await asyncio.sleep(0)
                if not self._tasks:
                    return
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def shutdown(self) -> None:
        self._unsubscribe()
        self._queue_timer.stop()
        self._queue_waiting = False
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
