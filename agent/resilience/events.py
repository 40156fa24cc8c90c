"""A minimal publish/subscribe hub for resilience events (breaker, mode and health changes).

Plain callbacks, no Qt: the UI bridges these to signals. A failing subscriber is logged and
skipped so one broken listener cannot stop the pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

Listener = Callable[[Any], None]


@dataclass(frozen=True)
class BreakerChanged:
    """A circuit breaker moved from one state to another."""

    zone: str
    endpoint: str
    old: str
    new: str
    reason: str
    at: float


@dataclass(frozen=True)
class ModeChanged:
    """The agent's degradation mode changed."""

    old: str
    new: str
    reason: str


@dataclass(frozen=True)
class HealthChanged:
    """The overall health status changed."""

    old: str
    new: str
    reason: str


class EventHub:
    """Delivers each published event to every current subscriber, synchronously."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Register `listener`; the returned function unsubscribes it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def publish(self, event: object) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a subscriber's bug must not break a network call
                log.exception("event listener failed for %r", event)
