"""Desktop notifications for what a technician must know: new conflicts, changes needing
attention, rejected credentials and the connection coming back.

Each kind is shown at most once per `min_interval_s` (a burst of conflicts makes one balloon, not
twenty), and none when the `notifications` setting is off. The clock is injected so tests can move
time; the sink is whatever shows the message (the tray's balloon, or nothing without a tray).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

KINDS = ("conflict", "attention", "credentials", "online")
DEFAULT_INTERVAL_S = 300.0

Sink = Callable[[str, str, str], None]  # kind, title, message


@dataclass(frozen=True)
class Shown:
    kind: str
    title: str
    message: str
    at: float


class Notifier:
    def __init__(
        self,
        sink: Sink | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        min_interval_s: float = DEFAULT_INTERVAL_S,
        enabled: bool = True,
    ) -> None:
        self.sink = sink
        self.clock = clock
        self.min_interval_s = min_interval_s
        self.enabled = enabled
        self._last: dict[str, float] = {}
        self.history: list[Shown] = []

    def post(self, kind: str, title: str, message: str) -> bool:
        """Show the notification unless switched off or shown for `kind` too recently."""
        if not self.enabled or self.sink is None:
            return False
        now = self.clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.min_interval_s:
            return False
        self._last[kind] = now
        self.history.append(Shown(kind, title, message, now))
        del self.history[:-50]
        self.sink(kind, title, message)
        return True

    def forget(self, kind: str) -> None:
        """Let the next notification of `kind` through at once (e.g. after it was dealt with)."""
        self._last.pop(kind, None)
