"""In-process retry of reads, bounded by attempts and by total time, naming what it retries.

Modelled on stamina's `retry(on=..., attempts=..., timeout=...)`: callers must say which failure
categories are worth another try. Written here instead of using stamina or tenacity because the
decision is made on our categories (from `classify`) and the clock and randomness must be the
agent's injected ones.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

from agent.clock import SYSTEM_CLOCK, Clock
from agent.resilience.backoff import Backoff
from agent.resilience.classify import Category, Classification, classify

P = ParamSpec("P")
T = TypeVar("T")

READ_RETRY_ON = frozenset({Category.TRANSIENT_NETWORK, Category.TRANSIENT_SERVER})


def _classification_of(error: BaseException) -> Classification:
    # A PipelineError already carries its classification; avoid re-deriving it.
    found = getattr(error, "classification", None)
    return found if isinstance(found, Classification) else classify(error)


@dataclass
class RetryPolicy:
    """Retries an async callable on the categories in `on`, within `attempts` and `timeout`."""

    on: Collection[Category]
    attempts: int = 4
    timeout: float = 30.0
    backoff: Backoff = field(default_factory=lambda: Backoff(base=0.2, cap=5.0))
    clock: Clock = SYSTEM_CLOCK
    rng: random.Random = field(default_factory=random.Random)

    async def run(self, fn: Callable[[], Awaitable[T]]) -> T:
        started = self.clock.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await fn()
            except Exception as error:
                found = _classification_of(error)
                if found.category not in self.on or attempt >= self.attempts:
                    raise
                delay = self.backoff.delay(attempt, self.rng, found.retry_after)
                if self.clock.monotonic() - started + delay > self.timeout:
                    raise
                await self.clock.sleep(delay)


def retry(
    *,
    on: Collection[Category],
    attempts: int = 4,
    timeout: float = 30.0,
    backoff: Backoff | None = None,
    clock: Clock = SYSTEM_CLOCK,
    rng: random.Random | None = None,
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """Decorate an async function so it is retried on the named categories."""
    policy = RetryPolicy(
        on=frozenset(on),
        attempts=attempts,
        timeout=timeout,
        backoff=backoff or Backoff(base=0.2, cap=5.0),
        clock=clock,
        rng=rng or random.Random(),
    )

    def decorate(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            return await policy.run(lambda: fn(*args, **kwargs))

        return wrapper

    return decorate
