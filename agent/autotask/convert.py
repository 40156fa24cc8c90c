"""The one place where httpx exceptions and HTTP answers become `agent.autotask.errors` types.

Autotask answers business-rule violations, an unknown user, a bad integration code and a moved
zone all as HTTP 500 with `{"errors": [...]}`; telling them apart needs the message text, so the
patterns below are the only place that text is interpreted.
"""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from agent.autotask.errors import (
    DEFAULT_RETRY_AFTER_SECONDS,
    AttachmentQuotaError,
    AutotaskError,
    ErrorContext,
    ImpersonationRefusedError,
    InvalidIntegrationCodeError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    ThreadLimitedError,
    TimeoutPhase,
    UnknownFieldError,
    UnknownUserError,
    UntrustedCertificateError,
    ValidationError,
    WrongSecretError,
    ZoneMovedError,
)
from agent.autotask.lenient import read_records_apart
from agent.autotask.routes import CHILD_ROUTES
from agent.autotask.wire import mended
from agent.security.trust import certificate_problem

# An answer nested deeper than this is refused whole. Autotask's records are nearly flat; a
# single record nested deeply is the screening's to leave out (`agent.autotask.screening`), so
# the cap on the whole answer only guards the parse itself.
MAX_JSON_DEPTH = 512
# A JSON whole number with more digits than this is never one Autotask means (64-bit ids have
# 19); it is read as a `HugeNumber`, which the screening refuses, instead of being converted
# (Python refuses to convert over 4300 digits, and the work grows with the square of them).
MAX_NUMBER_DIGITS = 40
_MAX_SERVER_MESSAGE_CHARS = 500
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

ZONE_MOVED_MARKER = "not hosted in this zone"
INVALID_INTEGRATION_CODE_MARKER = "integrationcode is invalid"
THREAD_LIMIT_MARKER = "thread threshold exceeded"
ATTACHMENT_QUOTA_MARKER = "attachment upload limit"
# Autotask's words for a field the entity does not have (in a query, include list or filter).
UNKNOWN_FIELD = re.compile(r"Unable to find (?P<field>[\w.]+) in the (?P<entity>\w+) Entity", re.I)
# Autotask's refusal of a write made in another resource's name (its security level does not
# allow impersonation for the entity); the entity is named when the text names it.
IMPERSONATION_REFUSED = re.compile(
    r"imperson\w*\b.*?\bnot (allowed|permitted)(?: for (?P<entity>[A-Za-z]+))?", re.I
)
# Plain words for the entities a technician writes most, in messages.
ENTITY_WORDS = {"Tickets": "tickets", "TicketNotes": "ticket notes", "TimeEntries": "time entries"}
# 500s whose text describes a failure of the server itself, not a rule the request broke.
SERVER_FAULT_MARKERS = (
    "server encountered an error",
    "an unexpected error",
    "internal server error",
    "timeout expired",
    "deadlock",
    "service unavailable",
    "try again later",
)
UNKNOWN_USER_MARKERS = (
    "zone information could not be determined",
    "not recognised as an api user",
    "not recognized as an api user",
    "user not found",
    "unknown user",
    "username is invalid",
    "user name is invalid",
)


@dataclass(frozen=True)
class RequestContext:
    """Which call failed: fills the context fields of every error raised for it.

    `is_write` is about the effect, not the verb: a POST query reads, a POST create writes.
    """

    method: str
    endpoint: str
    is_write: bool
    secrets: tuple[str, ...] = ()

    @classmethod
    def for_call(
        cls,
        method: str,
        endpoint: str,
        *,
        is_write: bool | None = None,
        secrets: tuple[str, ...] = (),
    ) -> RequestContext:
        write = method.upper() in _WRITE_METHODS if is_write is None else is_write
        return cls(method.upper(), endpoint, write, secrets)

    def fields(self, status: int | None, *, may_have_reached_server: bool) -> ErrorContext:
        return ErrorContext(
            status=status,
            method=self.method,
            endpoint=self.endpoint,
            is_write=self.is_write,
            may_have_reached_server=may_have_reached_server,
        )

    def scrub(self, text: str) -> str:
        """Removes credential values from text the server or a library produced."""
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    @property
    def where(self) -> str:
        return f"{self.method} {self.endpoint}"


# Timeouts and broken connections -----------------------------------------------------------

_TIMEOUT_PHASES: tuple[tuple[type[httpx.TimeoutException], TimeoutPhase], ...] = (
    (httpx.ConnectTimeout, "connect"),
    (httpx.ReadTimeout, "read"),
    (httpx.WriteTimeout, "write"),
    (httpx.PoolTimeout, "pool"),
)


def timeout_error(ctx: RequestContext, phase: TimeoutPhase) -> RequestTimeoutError:
    """A write may have landed when the request left us but the answer did not come back."""
    reached = ctx.is_write and phase in ("read", "write")
    messages = {
        "connect": "Autotask could not be reached in time",
        "pool": "no connection to Autotask became free in time",
        "read": "Autotask did not answer in time",
        "write": "sending the request to Autotask took too long",
    }
    return RequestTimeoutError(
        f"{messages[phase]} ({ctx.where})",
        phase=phase,
        **ctx.fields(None, may_have_reached_server=reached),
    )


def transport_error(exc: httpx.HTTPError | httpx.InvalidURL, ctx: RequestContext) -> AutotaskError:
    """Maps one httpx exception onto the error tree."""
    for kind, phase in _TIMEOUT_PHASES:
        if isinstance(exc, kind):
            return timeout_error(ctx, phase)
    if isinstance(exc, httpx.TimeoutException):
        return timeout_error(ctx, "read")
    if isinstance(exc, httpx.ConnectError):
        untrusted = certificate_problem(exc, _host_of(exc))
        if untrusted is not None:
            return UntrustedCertificateError(
                untrusted, phase="connect", **ctx.fields(None, may_have_reached_server=False)
            )
        return NetworkError(
            f"could not connect to Autotask ({ctx.where})",
            phase="connect",
            **ctx.fields(None, may_have_reached_server=False),
        )
    if isinstance(exc, httpx.LocalProtocolError | httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ProtocolError(
            f"the request could not be sent: {ctx.scrub(str(exc))} ({ctx.where})",
            **ctx.fields(None, may_have_reached_server=False),
        )
    if isinstance(exc, httpx.DecodingError | httpx.TooManyRedirects):
        return ProtocolError(
            f"Autotask's answer could not be read ({ctx.where})",
            **ctx.fields(None, may_have_reached_server=ctx.is_write),
        )
    # ReadError, WriteError, RemoteProtocolError, CloseError and anything new: the request may
    # have been sent and processed before the connection broke.
    return NetworkError(
        f"the connection to Autotask broke ({ctx.where})",
        **ctx.fields(None, may_have_reached_server=ctx.is_write),
    )


def _host_of(exc: httpx.RequestError) -> str | None:
    try:
        return exc.request.url.host or None
    except RuntimeError:  # raised without its request (a test transport, a library's own)
        return None


@contextmanager
def converting_transport_errors(ctx: RequestContext) -> Iterator[None]:
    """Turns httpx exceptions raised inside the block into `AutotaskError`s."""
    try:
        yield
    except httpx.HTTPError as exc:
        raise transport_error(exc, ctx) from None
    except httpx.InvalidURL as exc:  # not an HTTPError: an address httpx will not send to
        raise ProtocolError(
            f"the request could not be sent: {ctx.scrub(str(exc))} ({ctx.where})",
            **ctx.fields(None, may_have_reached_server=False),
        ) from None
    except UnicodeError as exc:
        # httpx decodes header values and URLs; a peer sending garbage there is a protocol fault.
        raise ProtocolError(
            f"Autotask's answer could not be read ({ctx.where})",
            **ctx.fields(None, may_have_reached_server=ctx.is_write),
        ) from exc


# Bodies --------------------------------------------------------------------------------------


def unexpected_answer(
    ctx: RequestContext, what: str, *, status: int | None = 200, write_landed: bool = False
) -> ProtocolError:
    """An answer that parsed but does not have the shape Autotask documents.

    `write_landed` marks a successful write whose answer we cannot use: its effect is real.
    """
    return ProtocolError(
        f"Autotask's answer is not as expected: {what} ({ctx.where})",
        **ctx.fields(status, may_have_reached_server=write_landed),
    )


class HugeNumber:
    """A JSON whole number too long to be anything Autotask means (only its sign is kept)."""

    __slots__ = ("negative",)

    def __init__(self, negative: bool) -> None:
        self.negative = negative

    def __repr__(self) -> str:
        return "HugeNumber(-)" if self.negative else "HugeNumber(+)"


def _parse_int(text: str) -> int | HugeNumber:
    if len(text) > MAX_NUMBER_DIGITS:
        return HugeNumber(text.startswith("-"))
    return int(text)


def _check_depth(value: Any, ctx: RequestContext, status: int | None) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ProtocolError(
                f"Autotask's answer is nested too deeply ({ctx.where})",
                **ctx.fields(status, may_have_reached_server=ctx.is_write),
            )
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)


def decode_json(body: bytes, ctx: RequestContext, status: int | None = 200) -> Any:
    """Parses a JSON body; anything unreadable is a `ProtocolError`, never a crash.

    A successful write whose answer cannot be read did happen, hence `may_have_reached_server`.
    """
    try:
        value = json.loads(body, parse_int=_parse_int)
        _check_depth(value, ctx, status)
        return value
    except (ValueError, RecursionError, ProtocolError) as exc:
        # One record too deep to read must not cost the others: a query answer is read again
        # record by record (`agent.autotask.lenient`), the unreadable one left for the
        # screening to skip and count.
        apart = read_records_apart(body, lambda piece: _read_piece(piece, ctx, status))
        if apart is not None:
            return apart
        if isinstance(exc, ProtocolError):
            raise
        # ValueError covers JSONDecodeError and UnicodeDecodeError (invalid UTF-8).
        raise ProtocolError(
            f"Autotask's answer is not valid JSON ({ctx.where})",
            **ctx.fields(status, may_have_reached_server=ctx.is_write),
        ) from None


def _read_piece(piece: bytes, ctx: RequestContext, status: int | None) -> Any:
    """One part of an answer, read as `decode_json` reads a whole one (ValueError if it cannot)."""
    value = json.loads(piece, parse_int=_parse_int)
    try:
        _check_depth(value, ctx, status)
    except ProtocolError as exc:
        raise ValueError(str(exc)) from None
    return value


def server_messages(body: bytes) -> list[str]:
    """The `errors` (or ASP.NET `Message`) texts of an error body; [] when there are none."""
    try:
        value = json.loads(body, parse_int=_parse_int)
    except (ValueError, RecursionError):
        return []
    if not isinstance(value, dict):
        return []
    lowered = {str(k).lower(): v for k, v in value.items()}
    errors = lowered.get("errors")
    messages: list[str] = []
    if isinstance(errors, list):
        messages = [str(e) for e in errors if isinstance(e, str | int | float) and str(e).strip()]
    elif isinstance(errors, str) and errors.strip():
        messages = [errors]
    message = lowered.get("message")
    if not messages and isinstance(message, str) and message.strip():
        messages = [message]
    # Text no store could take (a lone surrogate, from the JSON escape `\\ud800`) is shown with
    # U+FFFD in its place: a refusal's reason is kept with the edit it refused.
    return [mended(m[:_MAX_SERVER_MESSAGE_CHARS]) for m in messages]


def retry_after_seconds(headers: Mapping[str, str]) -> float:
    """Reads `Retry-After` as seconds or as an HTTP date (against the answer's own `Date`)."""
    raw = headers.get("retry-after")
    if raw is None:
        return DEFAULT_RETRY_AFTER_SECONDS
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
            sent = email.utils.parsedate_to_datetime(headers.get("date", ""))
        except (TypeError, ValueError):
            return DEFAULT_RETRY_AFTER_SECONDS
        seconds = (when - sent).total_seconds()
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        return DEFAULT_RETRY_AFTER_SECONDS
    return seconds


def _contains(messages: list[str], markers: tuple[str, ...] | str) -> bool:
    wanted = (markers,) if isinstance(markers, str) else markers
    return any(marker in message.lower() for message in messages for marker in wanted)


def _impersonation_refused(messages: list[str], status: int, ctx: RequestContext) -> str | None:
    """The entity whose impersonated write was refused (a 403 or a 500 saying so), or None."""
    if status not in (403, 500):
        return None
    for message in messages:
        found = IMPERSONATION_REFUSED.search(message)
        if found is not None:
            return found["entity"] or entity_of_endpoint(ctx.endpoint)
    return None


def entity_of_endpoint(endpoint: str) -> str:
    """The entity an endpoint writes: `TicketNotes` for `Tickets/{parentId}/Notes`."""
    parts = endpoint.split("/")
    if len(parts) >= 3 and parts[1] == "{parentId}":
        for entity, child in CHILD_ROUTES.items():
            if (child.parent, child.child) == (parts[0], parts[2]):
                return entity
    return parts[0]


def error_for_response(
    status: int, headers: Mapping[str, str], body: bytes, ctx: RequestContext
) -> AutotaskError:
    """Maps a non-2xx answer onto the error tree."""
    messages = [ctx.scrub(m) for m in server_messages(body)]
    detail = "; ".join(messages)
    refused = ctx.fields(status, may_have_reached_server=False)

    if _contains(messages, ZONE_MOVED_MARKER):
        return ZoneMovedError(
            f"the Autotask data centre moved; looking it up again ({ctx.where})", **refused
        )
    if _contains(messages, INVALID_INTEGRATION_CODE_MARKER):
        return InvalidIntegrationCodeError(
            "Autotask rejected the API integration code (tracking identifier); check it in the "
            "account settings",
            **refused,
        )
    if _contains(messages, UNKNOWN_USER_MARKERS):
        return UnknownUserError(
            "Autotask does not know this API user name; check the user name in the account "
            "settings",
            **refused,
        )
    refused_for = _impersonation_refused(messages, status, ctx)
    if refused_for is not None:
        return ImpersonationRefusedError(
            f"Autotask does not allow changes to {ENTITY_WORDS.get(refused_for, refused_for)} "
            f"in your name: the API user's security level does not permit impersonation for "
            f"{refused_for}. Ask your Autotask administrator to allow it; the change is kept "
            f"here and is not sent in the API user's name.",
            entity=refused_for,
            **refused,
        )
    if status == 401:
        return WrongSecretError(
            "Autotask rejected the API secret for this user; check the secret in the account "
            "settings",
            **refused,
        )
    if status == 403:
        return PermissionDeniedError(
            f"the API user is not allowed to do this ({ctx.where})"
            + (f": {detail}" if detail else ""),
            **refused,
        )
    if status == 404:
        return NotFoundError(f"the record was not found ({ctx.where})", **refused)
    if status == 429:
        if _contains(messages, ATTACHMENT_QUOTA_MARKER):
            wait = retry_after_seconds(headers)
            return AttachmentQuotaError(
                f"Autotask takes no more attachments from this integration for now; retry in "
                f"{wait:.0f} s",
                retry_after=wait,
                **refused,
            )
        if _contains(messages, THREAD_LIMIT_MARKER):
            return ThreadLimitedError(
                f"too many simultaneous calls to Autotask ({ctx.where})", **refused
            )
        wait = retry_after_seconds(headers)
        return RateLimitedError(
            f"the Autotask hourly request limit is reached; retry in {wait:.0f} s",
            retry_after=wait,
            **refused,
        )
    if status in (405, 406, 414, 415):
        return ProtocolError(
            f"Autotask does not accept this request (HTTP {status}, {ctx.where})"
            + (f": {detail}" if detail else ""),
            **refused,
        )
    if 400 <= status < 500:
        return ValidationError(
            detail or f"Autotask refused the request (HTTP {status}, {ctx.where})",
            messages=messages,
            **refused,
        )
    if status == 500 and messages and not _contains(messages, SERVER_FAULT_MARKERS):
        unknown = next(filter(None, (UNKNOWN_FIELD.search(m) for m in messages)), None)
        if unknown is not None:
            return UnknownFieldError(
                f"{unknown['entity']} has no field '{unknown['field']}' ({ctx.where})",
                entity=unknown["entity"],
                field=unknown["field"],
                messages=messages,
                **refused,
            )
        return ValidationError(detail, messages=messages, **refused)
    # A bare 500, 502 or 504 may come after the work was done; 503 means it was not started.
    unsure = ctx.is_write and status != 503
    return ServerError(
        f"Autotask had a server error (HTTP {status}, {ctx.where})",
        **ctx.fields(status, may_have_reached_server=unsure),
    )
