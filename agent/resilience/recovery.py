"""Automatic zone rediscovery and the credentials pause.

A tenant can be moved to another Autotask zone. When the client says so (`ZoneMovedError`) or
calls keep failing to connect while the network itself is up, the zone is looked up again
through the client's rediscover hook, no more often than `min_interval` (doubling while it keeps
failing) so an outage does not become a storm of zone lookups.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from agent.autotask.errors import NetworkError, RequestTimeoutError, ZoneMovedError
from agent.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)

Rediscover = Callable[[], Awaitable[object]]


def is_connect_failure(error: BaseException) -> bool:
    if isinstance(error, RequestTimeoutError):
        return error.phase == "connect"
    return isinstance(error, NetworkError) and not error.may_have_reached_server


class ZoneRecovery:
    """Counts connect failures and moved-zone answers and calls the rediscover hook when due."""

    def __init__(
        self,
        rediscover: Rediscover | None,
        clock: Clock = SYSTEM_CLOCK,
        connect_failures: int = 5,
        min_interval: float = 30.0,
        max_interval: float = 900.0,
    ) -> None:
        self._rediscover = rediscover
        self._clock = clock
        self.connect_failures = connect_failures
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.failures = 0
        self.rediscoveries = 0
        self.last_error: str | None = None
        self._interval = min_interval
        self._not_before = 0.0
        self.pending = False

    def note_success(self) -> None:
        self.failures = 0
        self.pending = False
        self._interval = self.min_interval

    def note_failure(self, error: BaseException, network_up: bool = True) -> bool:
        """Record a failure; True when a rediscovery is due."""
        if isinstance(error, ZoneMovedError):
            self.pending = True
        elif is_connect_failure(error) and network_up:
            self.failures += 1
            if self.failures >= self.connect_failures:
                self.pending = True
        return self.pending and self._clock.monotonic() >= self._not_before

    async def rediscover_if_due(self) -> bool:
        """Look the zone up again when due; True when the lookup succeeded."""
        if self._rediscover is None or not self.pending:
            return False
        now = self._clock.monotonic()
        if now < self._not_before:
            return False
        self._not_before = now + self._interval
        try:
            await self._rediscover()
        except Exception as error:
            self.last_error = str(error)
            self._interval = min(self.max_interval, self._interval * 2)
            log.warning("zone rediscovery failed: %s", error)
            return False
        self.rediscoveries += 1
        self.last_error = None
        self.failures = 0
        self.pending = False
        self._interval = self.min_interval
        return True


class CredentialsState:
    """Whether Autotask accepted the credentials last time; refused credentials pause syncing."""

    def __init__(self) -> None:
        self.refused = False
        self.message = ""

    def refuse(self, message: str) -> None:
        self.refused = True
        self.message = message

    def updated(self) -> None:
        """The technician entered new credentials: try again."""
        self.refused = False
        self.message = ""
