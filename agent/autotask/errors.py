"""The typed errors every Autotask call raises, so callers decide by category, never by status code.

Errors are created in one place (`agent.autotask.convert`), which maps httpx exceptions and
HTTP answers onto this tree:

    AutotaskError
     ├── AuthenticationError            credentials refused; retrying cannot help
     │    ├── UnknownUserError          zone lookup or 500 for an unknown API user name
     │    ├── WrongSecretError          401: right user name, wrong secret
     │    └── InvalidIntegrationCodeError   500 "IntegrationCode is invalid"
     ├── PermissionDeniedError          403: the API user's security level forbids it
     │    └── ImpersonationRefusedError writes to `.entity` may not be made in the
     │                                  technician's name (impersonation not allowed)
     ├── NotFoundError                  404, or 200 with {"item": null}
     ├── ValidationError                400, or 500 carrying business-rule messages (.messages)
     │    ├── UnknownFieldError         a field the entity does not have (.entity, .field)
     │    ├── UnsupportedCallError      a path or verb the API does not offer (also a ValueError)
     │    └── AttachmentTooLargeError   a file above the API's limit per attachment
     ├── RateLimitedError               429: the tenant's hourly quota is used up (.retry_after)
     │    └── AttachmentQuotaError      429: the integration's attachment bytes per period
     ├── ThreadLimitedError             429 "Thread Threshold Exceeded": too many concurrent calls
     ├── ServerError                    500 without a business message, 502, 503, 504
     ├── TransportError                 no usable HTTP answer arrived
     │    ├── RequestTimeoutError       connect/read/write/pool timeout (.phase)
     │    └── NetworkError              refused or unreachable (.phase "connect"), reset or
     │         │                        closed mid-answer (.phase "exchange")
     │         └── UntrustedCertificateError   the server's certificate failed the check
     ├── ZoneMovedError                 the cached zone no longer hosts the tenant
     └── ProtocolError                  an answer we cannot read: not JSON, wrong shape or types
          ├── UntrustedZoneError        the directory named a zone the credentials may not go to
          └── RedirectRefusedError      the server redirected; redirects are never followed

Every error carries where it happened (`method`, `endpoint` without ids, `is_write`), the HTTP
`status` when one arrived, and `may_have_reached_server`: True only when a *write* may have taken
effect although no answer says so (a timeout while waiting for the answer, a connection dropped
after the request was sent, a bare 500/502/504, an unreadable 200). A caller must reconcile such
a write before sending it again, or it may create a duplicate. Answers that refuse the request
outright (4xx, business-rule 500, 429) set it to False: the server said it did nothing.

Messages are written for a technician and never contain the API secret or integration code; the
converter scrubs them from anything the server echoes back.
"""

from __future__ import annotations

from typing import Literal, TypedDict, Unpack

TimeoutPhase = Literal["connect", "read", "write", "pool"]


class ErrorContext(TypedDict, total=False):
    """Where an error happened; every error accepts these keywords."""

    status: int | None
    method: str | None
    endpoint: str | None
    is_write: bool
    may_have_reached_server: bool


class AutotaskError(Exception):
    """Base of every failure of an Autotask call; `str()` is safe to show a technician."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        endpoint: str | None = None,
        is_write: bool = False,
        may_have_reached_server: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.method = method
        self.endpoint = endpoint
        self.is_write = is_write
        self.may_have_reached_server = may_have_reached_server

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status={self.status!r}, "
            f"method={self.method!r}, endpoint={self.endpoint!r}, is_write={self.is_write!r}, "
            f"may_have_reached_server={self.may_have_reached_server!r})"
        )


class AuthenticationError(AutotaskError):
    """The credentials were refused; the technician must fix them before anything can sync."""


class UnknownUserError(AuthenticationError):
    """No Autotask zone knows this API user name."""


class WrongSecretError(AuthenticationError):
    """The API user exists but the secret (password) is wrong."""


class InvalidIntegrationCodeError(AuthenticationError):
    """The API tracking identifier (integration code) is not valid."""


class UnsendableCredentialsError(AuthenticationError):
    """A part of the sign-in holds a character no HTTP header can carry (a letter outside ASCII,
    a control character): nothing was sent. The message never shows the value."""


class PermissionDeniedError(AutotaskError):
    """The API user's security level does not allow this call."""


class ImpersonationRefusedError(PermissionDeniedError):
    """The security levels do not let the API user write `entity` on the technician's behalf.

    Autotask did nothing; sending the change without impersonation would put it in the API
    user's name, so it is never retried that way: an administrator has to allow it.
    """

    def __init__(self, message: str, *, entity: str, **context: Unpack[ErrorContext]):
        super().__init__(message, **context)
        self.entity = entity


class NotFoundError(AutotaskError):
    """The record does not exist (or does not exist *yet*: Autotask has read-after-write lag)."""


class ValidationError(AutotaskError):
    """The server refused the request for a reason it explained; retrying the same call will fail.

    `messages` holds the server's business-rule texts, e.g. "When assigning a Resource, you must
    assign both a assignedResourceID and assignedResourceRoleID."
    """

    def __init__(
        self, message: str, *, messages: list[str] | None = None, **context: Unpack[ErrorContext]
    ):
        super().__init__(message, **context)
        self.messages: list[str] = list(messages or [])


class UnknownFieldError(ValidationError):
    """A query, include list or write named a field `entity` does not have."""

    def __init__(
        self,
        message: str,
        *,
        entity: str,
        field: str,
        messages: list[str] | None = None,
        **context: Unpack[ErrorContext],
    ):
        super().__init__(message, messages=messages, **context)
        self.entity = entity
        self.field = field


class UnsupportedCallError(ValidationError, ValueError):
    """The API offers no such call: the vendor's Swagger has no path of this shape, or not with
    this verb (`DELETE Tickets/{id}`, `POST Resources`). Raised before anything is sent; it is a
    `ValueError` too, since the caller asked for something that cannot exist."""


class AttachmentTooLargeError(ValidationError):
    """A file larger than the API accepts for one attachment (`limit` bytes)."""

    def __init__(
        self,
        message: str,
        *,
        limit: int,
        messages: list[str] | None = None,
        **context: Unpack[ErrorContext],
    ):
        super().__init__(message, messages=messages, **context)
        self.limit = limit


DEFAULT_RETRY_AFTER_SECONDS = 60.0


class RateLimitedError(AutotaskError):
    """The tenant's request quota is exhausted; `retry_after` says how long to wait, in seconds."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float = DEFAULT_RETRY_AFTER_SECONDS,
        **context: Unpack[ErrorContext],
    ):
        super().__init__(message, **context)
        self.retry_after = retry_after


class AttachmentQuotaError(RateLimitedError):
    """The integration sent as many attachment bytes as the API takes in its period; attachment
    uploads are refused for `retry_after` seconds (other calls are not)."""


class ThreadLimitedError(AutotaskError):
    """Too many concurrent calls on one endpoint for this integration (Autotask allows three)."""


class ServerError(AutotaskError):
    """The server failed without explaining why (500 with no business message, 502, 503, 504)."""


class TransportError(AutotaskError):
    """No usable HTTP answer arrived."""


class RequestTimeoutError(TransportError):
    """A phase of the request took too long; `phase` is "connect", "read", "write" or "pool"."""

    def __init__(self, message: str, *, phase: TimeoutPhase, **context: Unpack[ErrorContext]):
        super().__init__(message, **context)
        self.phase: TimeoutPhase = phase


NetworkPhase = Literal["connect", "exchange"]


class NetworkError(TransportError):
    """The connection could not be made (`phase` "connect"), or broke during the exchange."""

    def __init__(
        self, message: str, *, phase: NetworkPhase = "exchange", **context: Unpack[ErrorContext]
    ):
        super().__init__(message, **context)
        self.phase: NetworkPhase = phase


class UntrustedCertificateError(NetworkError):
    """The server's TLS certificate failed the check (`phase` "connect"): nothing was sent.

    Something between us and the server may be intercepting the connection; `str()` says so in
    plain words. To retries, breakers and connectivity it is a connection that failed.
    """


class ZoneMovedError(AutotaskError):
    """The cached zone no longer hosts the tenant; the next call looks the zone up again."""


class ProtocolError(AutotaskError):
    """The server answered something we cannot read: not JSON, or not the shape we expect."""


class UntrustedZoneError(ProtocolError):
    """The directory named a zone the credentials may not go to (not https, or not Autotask's
    when Autotask's own directory answered); nothing was sent there."""


class RedirectRefusedError(ProtocolError):
    """The server answered with a redirect, which is never followed (the credentials would go
    along to wherever it points); `str()` names the server and where it pointed."""


class UnreadableRecordError(ProtocolError):
    """The server answered a record by its id, but the record failed the client's screening
    (`agent.autotask.screening`): it exists, yet cannot be used."""
