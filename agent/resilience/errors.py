"""`PipelineError`, what a call through the pipeline raises, and facts about failed calls."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from agent.autotask.errors import AutotaskError, TransportError
from agent.resilience.bulkhead import Kind
from agent.resilience.classify import MESSAGES, Action, Category, Classification
from agent.resilience.recovery import is_connect_failure


class PipelineError(Exception):
    """A call did not succeed; says what kind of failure, what to do and when to try again.

    `attempted` is False when the pipeline refused the call before sending it (shed, breaker
    open, no budget, credentials paused): then nothing can have reached the server.
    """

    def __init__(
        self,
        classification: Classification,
        *,
        retry_at: datetime | None,
        error: BaseException | None,
        endpoint: str,
        kind: Kind,
        op_id: str | None,
        attempted: bool,
    ) -> None:
        super().__init__(classification.message)
        self.classification = classification
        self.category = classification.category
        self.action = classification.action
        self.retry_at = retry_at
        self.error = error
        self.endpoint = endpoint
        self.kind = kind
        self.op_id = op_id
        self.attempted = attempted

    def __repr__(self) -> str:
        return (
            f"PipelineError({self.category}, {self.action}, endpoint={self.endpoint!r}, "
            f"retry_at={self.retry_at!r}, attempted={self.attempted})"
        )


def connect_failure(error: BaseException) -> bool:
    """The request never got through to a server: nothing about the endpoint is known."""
    return is_connect_failure(error) or isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)


def got_answer(error: BaseException) -> bool:
    """Whether the server answered at all (so the network and zone work)."""
    if isinstance(error, AutotaskError):
        return error.status is not None and not isinstance(error, TransportError)
    return isinstance(error, httpx.HTTPStatusError)


# Said of calls that wait for a threshold reading that answers (`QuotaWaitTooLong.usage_unknown`).
USAGE_UNKNOWN_MESSAGE = (
    "Autotask does not say how much of your company's hourly request allowance is used, so "
    "Field Sync waits before it sends more. Your changes are kept and sent once it can tell."
)


def refusal(
    category: Category,
    retry_in: float | None,
    now: datetime,
    endpoint: str,
    kind: Kind,
    op_id: str | None,
    reason: str = "",
    message: str | None = None,
) -> PipelineError:
    """The error of a call the pipeline refused before sending it (nothing reached the server);
    `message` in place of the category's own when it would say the wrong thing."""
    action = {
        Category.AUTHENTICATION: Action.PAUSE_FOR_CREDENTIALS,
        Category.THROTTLED_QUOTA: Action.SLOW_DOWN,
    }.get(category, Action.RETRY_WITH_BACKOFF)
    message = (message or MESSAGES[category]) + (f" ({reason})" if reason else "")
    return PipelineError(
        Classification(category, action, message),
        retry_at=None if retry_in is None else now + timedelta(seconds=retry_in),
        error=None,
        endpoint=endpoint,
        kind=kind,
        op_id=op_id,
        attempted=False,
    )
