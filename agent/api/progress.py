"""How far each file's upload is, told to listeners a few times a second at most.

An upload reports each chunk the connection takes (64 KiB: a large photo makes over a hundred
reports, all within a fraction of a second on a fast link). A listener hears an upload's first
report at once, then at most one every `interval` seconds for that upload, always its latest
(a report held back is told when the interval ends, so the last one before a pause is never
lost), and its end at once.

The interval is measured on the event loop's own clock, not the agent's injected one: it paces
repaints of the window in real time, and decides nothing about the data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from agent.api.types import UploadProgress

INTERVAL_S = 0.25


class ProgressThrottle:
    def __init__(
        self,
        emit: Callable[[UploadProgress], None],
        interval: float = INTERVAL_S,
        now: Callable[[], float] | None = None,
    ) -> None:
        self._emit = emit
        self.interval = interval
        self._now = now or (lambda: asyncio.get_running_loop().time())
        self._told: dict[int, float] = {}  # operation id -> when its last report was told
        self._held: dict[int, UploadProgress] = {}  # the latest report not yet told
        self._timer: asyncio.TimerHandle | None = None

    def update(self, progress: UploadProgress) -> None:
        op_id = progress.op_id
        if progress.ended:
            self._held.pop(op_id, None)
            self._told.pop(op_id, None)
            self._emit(progress)
            return
        now = self._now()
        told = self._told.get(op_id)
        if told is None or now - told >= self.interval:
            self._held.pop(op_id, None)
            self._told[op_id] = now
            self._emit(progress)
            return
        self._held[op_id] = progress
        if self._timer is None:
            wait = max(0.0, told + self.interval - now)
            self._timer = asyncio.get_running_loop().call_later(wait, self._flush)

    def _flush(self) -> None:
        self._timer = None
        held, self._held = self._held, {}
        if not held:
            return
        now = self._now()
        for op_id, progress in held.items():
            self._told[op_id] = now
            self._emit(progress)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._held.clear()
