"""One table that turns any failure of an Autotask call into a category, an action and a message.

The table is data (`RULES`), read top to bottom, first match wins; `classify()` is the only place
in the agent that decides what a failure means. It understands the typed errors of
`agent.autotask.errors` and, for callers that talk to the server with plain httpx, httpx's own
exceptions and `HTTPStatusError` answers (status plus the `{"errors": [...]}` body).
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass

import httpx

from agent.autotask import errors as at
from agent.autotask.wire import mended


class Category(enum.StrEnum):
    """What kind of failure happened, in terms that decide what to do next."""

    TRANSIENT_NETWORK = "transient_network"
    # The server's certificate failed its check: a network that intercepts TLS, not an outage.
    CERTIFICATE = "certificate"
    TRANSIENT_SERVER = "transient_server"
    THROTTLED_QUOTA = "throttled_quota"
    THROTTLED_THREADS = "throttled_threads"
    # The integration's attachment byte quota: only attachment uploads wait, not the tenant.
    THROTTLED_ATTACHMENTS = "throttled_attachments"
    AUTHENTICATION = "authentication"
    PERMISSION = "permission"
    VALIDATION = "validation"
    NOT_FOUND = "not_found"
    PROTOCOL = "protocol"
    UNKNOWN = "unknown"


class Action(enum.StrEnum):
    """What the agent does about a failure."""

    RETRY_WITH_BACKOFF = "retry_with_backoff"
    SLOW_DOWN = "slow_down"
    PAUSE_FOR_CREDENTIALS = "pause_for_credentials"
    PARK_NEEDS_ATTENTION = "park_needs_attention"
    RECONCILE = "reconcile"


ACTIONS: dict[Category, Action] = {
    Category.TRANSIENT_NETWORK: Action.RETRY_WITH_BACKOFF,
    # Kept and tried again with growing waits (another network may be trusted), never inside
    # the call (`retry.READ_RETRY_ON`), and named for what it is wherever it is shown.
    Category.CERTIFICATE: Action.RETRY_WITH_BACKOFF,
    Category.TRANSIENT_SERVER: Action.RETRY_WITH_BACKOFF,
    Category.THROTTLED_QUOTA: Action.SLOW_DOWN,
    Category.THROTTLED_THREADS: Action.SLOW_DOWN,
    Category.THROTTLED_ATTACHMENTS: Action.SLOW_DOWN,
    Category.AUTHENTICATION: Action.PAUSE_FOR_CREDENTIALS,
    Category.PERMISSION: Action.PARK_NEEDS_ATTENTION,
    Category.VALIDATION: Action.PARK_NEEDS_ATTENTION,
    # A record just created can be missing for a moment, but an op cannot tell lag from deletion;
    # parking lets the technician (or the sync engine's reconcile step) decide.
    Category.NOT_FOUND: Action.PARK_NEEDS_ATTENTION,
    # A refusal of the request's form (405/406/414/415) parks; an answer that could not be read
    # (truncated, not JSON, odd shape) is retried instead: see `_REFUSED_FORM` in `classify`.
    Category.PROTOCOL: Action.PARK_NEEDS_ATTENTION,
    # Retrying what we do not understand could repeat a harmful write; a person looks first.
    Category.UNKNOWN: Action.PARK_NEEDS_ATTENTION,
}

MESSAGES: dict[Category, str] = {
    Category.TRANSIENT_NETWORK: "Autotask cannot be reached right now. Your changes are kept and "
    "will be sent when the connection is back.",
    Category.CERTIFICATE: "The server's certificate is not trusted, so Field Sync did not connect "
    "and nothing was sent. Your changes are kept; they are sent once a trusted connection works.",
    Category.TRANSIENT_SERVER: "Autotask had a temporary problem. The change will be sent again "
    "automatically.",
    Category.THROTTLED_QUOTA: "Your company has used most of its hourly Autotask request allowance."
    " Changes are sent more slowly until it frees up.",
    Category.THROTTLED_THREADS: "Too many requests were in progress at once. Sending slows down "
    "for a moment.",
    Category.THROTTLED_ATTACHMENTS: "Autotask takes no more attachments from this program for "
    "now. Attachments are sent when it accepts them again; other changes go on as usual.",
    Category.AUTHENTICATION: "Autotask refused the sign-in details. Check the API user name, "
    "secret and integration code; syncing is paused until then.",
    Category.PERMISSION: "The Autotask API user is not allowed to do this. Ask an administrator "
    "to check its security level.",
    Category.VALIDATION: "Autotask refused this change:",
    Category.NOT_FOUND: "The record no longer exists in Autotask (or is not visible yet).",
    Category.PROTOCOL: "Autotask answered in a way this program does not understand.",
    Category.UNKNOWN: "An unexpected error stopped this change. It was kept for you to review.",
}


@dataclass(frozen=True)
class Failure:
    """The facts about one failure that classification looks at."""

    error: BaseException
    status: int | None
    message: str
    is_write: bool
    may_have_reached_server: bool


@dataclass(frozen=True)
class Rule:
    """One row of the table: every given condition must hold for the row to match."""

    category: Category
    error: type[BaseException] | tuple[type[BaseException], ...] | None = None
    status: int | tuple[int, ...] | None = None
    message: re.Pattern[str] | None = None

    def matches(self, failure: Failure) -> bool:
        if self.error is not None and not isinstance(failure.error, self.error):
            return False
        if self.status is not None:
            wanted = self.status if isinstance(self.status, tuple) else (self.status,)
            if failure.status not in wanted:
                return False
        return self.message is None or bool(self.message.search(failure.message))


_THREADS = re.compile(r"thread threshold", re.I)
_AUTH_500 = re.compile(r"zone information could not be determined|integrationcode is invalid", re.I)
# A 500 whose text reads like an apology rather than a rule: nothing the caller can fix.
_GENERIC_500 = re.compile(
    r"^$|internal server error|an (unexpected|unhandled) error|error has occurred|"
    r"timeout|timed out|deadlock|temporarily|try again|service unavailable",
    re.I,
)

# Failures whose own message says more than their category's: an untrusted certificate (which
# names the server and why), an untrusted zone, a refused redirect (where "does not understand"
# would hide that the server sent the request elsewhere), and a refused impersonation (which
# names the entity and what the administrator must allow).
_SELF_EXPLAINED = (
    at.UntrustedCertificateError,
    at.UntrustedZoneError,
    at.RedirectRefusedError,
    at.ImpersonationRefusedError,
)
# A certificate check failing, as httpx reports it to callers that use it directly.
_CERTIFICATE_FAILED = re.compile(r"certificate verify failed", re.I)

# Statuses by which the server refuses the form of a request: asking again cannot help.
_REFUSED_FORM = frozenset({405, 406, 414, 415})

RULES: tuple[Rule, ...] = (
    # Typed errors from agent.autotask (the client already read the answer).
    Rule(Category.AUTHENTICATION, error=at.AuthenticationError),
    Rule(Category.PERMISSION, error=at.PermissionDeniedError),
    Rule(Category.NOT_FOUND, error=at.NotFoundError),
    Rule(Category.VALIDATION, error=at.ValidationError),
    Rule(Category.THROTTLED_THREADS, error=at.ThreadLimitedError),
    # Before the tenant's quota: the attachment byte quota is a 429 too, but of uploads only.
    Rule(Category.THROTTLED_ATTACHMENTS, error=at.AttachmentQuotaError),
    Rule(Category.THROTTLED_QUOTA, error=at.RateLimitedError),
    Rule(Category.CERTIFICATE, error=at.UntrustedCertificateError),
    Rule(Category.TRANSIENT_NETWORK, error=(at.TransportError, at.ZoneMovedError)),
    Rule(Category.PROTOCOL, error=at.ProtocolError),
    Rule(Category.TRANSIENT_SERVER, error=at.ServerError),
    # Plain httpx: an answer with a status.
    Rule(Category.THROTTLED_THREADS, status=429, message=_THREADS),
    Rule(Category.THROTTLED_QUOTA, status=429),
    Rule(Category.AUTHENTICATION, status=401),
    Rule(Category.AUTHENTICATION, status=500, message=_AUTH_500),
    Rule(Category.PERMISSION, status=403),
    Rule(Category.NOT_FOUND, status=404),
    Rule(Category.PROTOCOL, status=(405, 406, 415)),
    Rule(Category.VALIDATION, status=(400, 409, 422)),
    Rule(Category.TRANSIENT_SERVER, status=500, message=_GENERIC_500),
    Rule(Category.VALIDATION, status=500),  # a 500 that explains itself is a business rule
    Rule(Category.TRANSIENT_SERVER, status=(502, 503, 504)),
    # Plain httpx: no answer.
    Rule(Category.CERTIFICATE, error=httpx.ConnectError, message=_CERTIFICATE_FAILED),
    Rule(Category.TRANSIENT_NETWORK, error=(httpx.TransportError, OSError, TimeoutError)),
    Rule(Category.PROTOCOL, error=(httpx.DecodingError, json.JSONDecodeError)),
)


@dataclass(frozen=True)
class Classification:
    """A classified failure: what it is, what to do, and what to tell the technician."""

    category: Category
    action: Action
    message: str
    retry_after: float | None = None

    @property
    def retryable(self) -> bool:
        return self.action in (Action.RETRY_WITH_BACKOFF, Action.SLOW_DOWN)


def failure_of(error: BaseException, *, is_write: bool | None = None) -> Failure:
    """Extract the facts classification needs from a typed Autotask error or an httpx exception."""
    if isinstance(error, at.AutotaskError):
        return Failure(
            error=error,
            status=error.status,
            message=error.message,
            is_write=error.is_write if is_write is None else is_write,
            may_have_reached_server=error.may_have_reached_server,
        )
    write = bool(is_write)
    if isinstance(error, httpx.HTTPStatusError):
        status = error.response.status_code
        # A bare 500/502/504 on a write may have applied it; a refusal with reasons did not.
        reached = write and status in (500, 502, 504) and not _server_messages(error.response)
        return Failure(error, status, _answer_text(error.response), write, reached)
    reached = write and isinstance(
        error, httpx.ReadTimeout | httpx.WriteTimeout | httpx.RemoteProtocolError | httpx.ReadError
    )
    return Failure(error, None, str(error), write, reached)


def classify(error: BaseException, *, is_write: bool | None = None) -> Classification:
    """Map a failure to its category and action; a write that may have landed is reconciled."""
    failure = failure_of(error, is_write=is_write)
    category = next((r.category for r in RULES if r.matches(failure)), Category.UNKNOWN)
    action = ACTIONS[category]
    if category is Category.PROTOCOL and failure.status not in _REFUSED_FORM:
        action = Action.RETRY_WITH_BACKOFF  # a garbled answer is no refusal; asking again may work
    if failure.is_write and failure.may_have_reached_server:
        action = Action.RECONCILE
    message = MESSAGES[category]
    if isinstance(error, _SELF_EXPLAINED):
        # Not "cannot be reached" or "does not understand": what happened, and what to do.
        message = error.message
    elif category is Category.VALIDATION:
        detail = "; ".join(_validation_messages(error)) or failure.message
        message = f"{message} {detail}".strip()
    return Classification(category, action, message, _retry_after(error))


def _validation_messages(error: BaseException) -> list[str]:
    if isinstance(error, at.ValidationError):
        return error.messages
    if isinstance(error, httpx.HTTPStatusError):
        return _server_messages(error.response)
    return []


def _retry_after(error: BaseException) -> float | None:
    if isinstance(error, at.RateLimitedError):
        return error.retry_after
    if isinstance(error, httpx.HTTPStatusError) and error.response.status_code == 429:
        raw = error.response.headers.get("Retry-After")
        try:
            return float(raw) if raw is not None else at.DEFAULT_RETRY_AFTER_SECONDS
        except ValueError:
            return at.DEFAULT_RETRY_AFTER_SECONDS
    return None


def _server_messages(response: httpx.Response) -> list[str]:
    try:
        body = response.json()
    except (ValueError, httpx.ResponseNotRead):
        return []
    if isinstance(body, dict):
        found = body.get("errors") or body.get("Errors")
        if isinstance(found, list):
            return [mended(str(m)) for m in found if m]
        single = body.get("Message") or body.get("message")
        if isinstance(single, str):
            return [mended(single)]
    return []


def _answer_text(response: httpx.Response) -> str:
    return "; ".join(_server_messages(response))
