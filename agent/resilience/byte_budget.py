"""Pacing of attachment uploads within Autotask's byte budget per integration.

Autotask takes at most 10,000,000 bytes of attachments per integration in five minutes; the
create that would go past it is refused (429), and so is every attachment create for the next
five minutes. Only attachment creates: other calls go on (FACTS.md). So this budget is apart
from the request pacer: it never delays anything but an upload, and the 429 it exists to avoid
must not pause the other work either (`spares_other_work`, which the pipeline asks before it
lets a quota refusal slow every call).

The budget counts the bytes of every upload that left in the trailing window (an upload whose
answer was lost counts too: the server may have stored it), seeded at start from the store,
so a restart does not forget what was just sent. The window is taken a little longer than the
server's (`SLACK_S`), since its clock and ours start the window at slightly different moments.
"""

from __future__ import annotations

from collections import deque

from agent.autotask.errors import AttachmentQuotaError
from agent.clock import Clock

WINDOW_BYTES = 10_000_000
WINDOW_S = 300.0
SLACK_S = 5.0


def spares_other_work(error: BaseException) -> bool:
    """Whether a quota refusal concerns attachment uploads only (the byte budget's, not the
    tenant's request threshold)."""
    return isinstance(error, AttachmentQuotaError)


class ByteBudget:
    """Bytes sent in the trailing window, and when the next upload of a size may leave."""

    def __init__(
        self,
        clock: Clock,
        *,
        limit: int = WINDOW_BYTES,
        window: float = WINDOW_S + SLACK_S,
    ) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self._sent: deque[tuple[float, int]] = deque()
        self.refused_until = 0.0

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _trim(self, now: float) -> None:
        while self._sent and self._sent[0][0] <= now - self.window:
            self._sent.popleft()

    def seed(self, sends: list[tuple[float, int]]) -> None:
        """Uploads that left before this process started (time, bytes)."""
        for at, size in sorted(sends):
            self._sent.append((at, size))
        self._trim(self._now())

    def used(self) -> int:
        now = self._now()
        self._trim(now)
        return sum(size for _, size in self._sent)

    def wait_for(self, size: int) -> float:
        """Seconds until `size` more bytes may leave (0: now)."""
        now = self._now()
        if now < self.refused_until:
            return self.refused_until - now
        self._trim(now)
        used = sum(n for _, n in self._sent)
        if used + size <= self.limit:
            return 0.0
        # The oldest sends leave the window first: wait until enough of them have.
        for at, sent in self._sent:
            used -= sent
            if used + size <= self.limit:
                return max(0.0, at + self.window - now)
        return 0.0  # unreachable for a size within the limit; a larger one is refused earlier

    def spend(self, size: int) -> None:
        """An upload of `size` bytes is leaving now."""
        self._sent.append((self._now(), size))

    def refused(self, retry_after: float) -> None:
        """The server refused an upload for its budget: none may leave for `retry_after`."""
        self.refused_until = max(self.refused_until, self._now() + retry_after)
