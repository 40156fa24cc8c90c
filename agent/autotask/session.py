"""`ApiSession`: the one path every Autotask call takes, from zone and credentials to decoded JSON.

It attaches the credentials, sends through the size- and deadline-bounded transport, converts
failures to typed errors in one place, and keeps the zone honest: a call that cannot connect, or
that the zone says it no longer hosts, drops the cached zone so the next call looks it up again.
It never retries; that belongs to the resilience layer.

It also tells what a caller needs to find a write whose answer was lost: `sending` runs a hook
just before a write leaves (with the deadline in force for it), and `clock_skew` is the server's
clock minus ours, read from each answer's `Date` header. `reporting_upload` streams a write's
body in chunks and tells how many of its bytes were handed to the connection (an upload).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx

from agent.autotask.convert import RequestContext, decode_json, error_for_response
from agent.autotask.credentials import ApiCredentials
from agent.autotask.errors import NetworkError, ProtocolError, RequestTimeoutError, ZoneMovedError
from agent.autotask.transport import DEFAULT_MAX_RESPONSE_BYTES, SendLimits, send
from agent.autotask.zones import (
    DEFAULT_DIRECTORY_URL,
    ZONE_LOOKUP_DEADLINE,
    Zone,
    ZoneDirectory,
    ZoneListener,
)
from agent.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger("agent.autotask")

# Autotask refuses GET URLs past about 2,000 characters. A GET query's next-page URL repeats
# the search and adds a paging token, so the first URL keeps room for that token.
MAX_GET_URL_CHARS = 1700
# With an httpx timeout of the same length, httpx names the phase that stalled; the asyncio
# deadline only backs it up (and is the only guard on transports that ignore timeouts).
_DEADLINE_SLACK = 1.1

_call_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "autotask_call_deadline", default=None
)


@dataclass(frozen=True)
class SendInfo:
    """What is known as a write leaves: how long the call may take at most (None: no deadline
    but httpx's per-phase timeouts) and the server's clock minus ours (None: not measured)."""

    deadline: float | None
    skew: float | None
    # How far the true skew may be from `skew` either way: our wall clock moved apart from our
    # monotonic clock since it was measured (a step, or a sleep that monotonic time skipped).
    skew_spread: float = 0.0


SendHook = Callable[[SendInfo], Awaitable[None]]
_send_hook: contextvars.ContextVar[SendHook | None] = contextvars.ContextVar(
    "autotask_send_hook", default=None
)
# (bytes of the body taken by the connection so far, the body's size)
UploadHook = Callable[[int, int], None]
_upload_hook: contextvars.ContextVar[UploadHook | None] = contextvars.ContextVar(
    "autotask_upload_hook", default=None
)
UPLOAD_CHUNK = 64 * 1024


async def _chunks(body: bytes, hook: UploadHook) -> AsyncIterator[bytes]:
    """`body` in chunks; `hook` hears of each one as it is handed to the connection."""
    total = len(body)
    hook(0, total)
    for start in range(0, total, UPLOAD_CHUNK):
        end = min(total, start + UPLOAD_CHUNK)
        hook(end, total)
        yield body[start:end]


@dataclass(frozen=True)
class ClientOptions:
    """Tunables; the defaults suit the production API."""

    directory_url: str = DEFAULT_DIRECTORY_URL
    deadline: float | None = None
    # The whole zone lookup (connect to last byte), however slowly its answer drips in.
    zone_lookup_deadline: float = ZONE_LOOKUP_DEADLINE
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_get_url_chars: int = MAX_GET_URL_CHARS
    # The clock the caller stamps its own times with (the skew is measured against it).
    clock: Clock = field(default=SYSTEM_CLOCK, compare=False)


class ApiSession:
    """One API user's calls to its tenant's zone. `http` is owned (and closed) by the caller."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: ApiCredentials,
        *,
        options: ClientOptions | None = None,
        zone: Zone | None = None,
        on_zone_change: ZoneListener | None = None,
    ) -> None:
        self._http = http
        self._credentials = credentials
        self._options = options or ClientOptions()
        # The last skew measured, with our wall and monotonic clocks at that moment.
        self._skew: tuple[float, float, float] | None = None
        lookup_deadline = self._options.zone_lookup_deadline
        if self._options.deadline is not None:
            lookup_deadline = min(lookup_deadline, self._options.deadline)
        self._zones = ZoneDirectory(
            http,
            credentials.username,
            directory_url=self._options.directory_url,
            zone=zone,
            on_change=on_zone_change,
            limits=SendLimits(lookup_deadline, self._options.max_response_bytes),
            clock=self._options.clock,
        )

        # The tasks with a call under way, those `abandon_calls` cancelled, and whether it did.
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._abandoned: set[asyncio.Task[Any]] = set()
        self._abandoning = False

    def __repr__(self) -> str:
        return f"ApiSession({self._credentials!r}, zone={self.zone!r})"

    # Zones ----------------------------------------------------------------------------------

    @property
    def zone(self) -> Zone | None:
        """The cached zone, or None until the first call (or after it was dropped)."""
        return self._zones.cached

    async def current_zone(self) -> Zone:
        """The cached zone, looked up first if there is none."""
        return await self._zones.current()

    async def rediscover_zone(self) -> Zone:
        return await self._zones.rediscover()

    def network_returned(self) -> None:
        """The network is back: a zone lookup that could not connect is tried again at once."""
        self._zones.network_returned()

    # Deadlines ------------------------------------------------------------------------------

    @staticmethod
    @contextmanager
    def deadline(seconds: float | None) -> Iterator[None]:
        """Bounds every call made inside the block (in this task) to `seconds`."""
        token = _call_deadline.set(seconds)
        try:
            yield
        finally:
            _call_deadline.reset(token)

    @staticmethod
    @contextmanager
    def sending(hook: SendHook | None) -> Iterator[None]:
        """Awaits `hook` just before each write made inside the block (in this task) leaves:
        the moment from which it may reach the server, and the deadline it then has."""
        token = _send_hook.set(hook)
        try:
            yield
        finally:
            _send_hook.reset(token)

    @staticmethod
    @contextmanager
    def reporting_upload(hook: UploadHook | None) -> Iterator[None]:
        """Streams the body of each write made inside the block (in this task) in chunks, with
        its length declared (no chunked encoding), calling `hook(sent, total)` as each
        chunk is handed to the connection: how far an upload is. A retry starts again from 0."""
        token = _upload_hook.set(hook)
        try:
            yield
        finally:
            _upload_hook.reset(token)

    def _note_date(self, headers: httpx.Headers) -> None:
        """The server's clock minus ours, from the answer's `Date` (whole seconds, stamped
        before we read it: the true skew is up to a second and a round trip larger)."""
        text = headers.get("date")
        if not text:
            return
        try:
            served = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return
        if served.tzinfo is None:
            return
        clock = self._options.clock
        wall = clock.now()
        self._skew = ((served - wall).total_seconds(), wall.timestamp(), clock.monotonic())

    @property
    def clock_skew(self) -> float | None:
        """The server's clock minus ours, as last measured."""
        return None if self._skew is None else self._skew[0]

    def skew_now(self) -> tuple[float, float] | None:
        """The server's clock minus ours now, and how far it may be off either way. Since the
        measurement our wall clock may have moved apart from our monotonic clock by `d`: a step
        (set by hand, a time sync; the skew is then the measurement less `d`) or a sleep that
        monotonic time skipped (the skew is then unchanged). Which one cannot be told, so the
        answer covers both."""
        if self._skew is None:
            return None
        measured, wall_then, mono_then = self._skew
        clock = self._options.clock
        moved = (clock.now().timestamp() - wall_then) - (clock.monotonic() - mono_then)
        if abs(moved) < 1.0:
            return measured, 0.0
        return measured - moved / 2, abs(moved) / 2

    # The one request path -------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        is_write: bool | None = None,
        absolute_url: str | None = None,
    ) -> Any:
        """Sends one call to the tenant's zone and returns its decoded JSON answer.

        `path` is relative to the zone's `V1.0/`; `absolute_url` (a next-page address) must
        stay on the zone's own host, because the credentials travel with it. A call under way
        when `abandon_calls` is called ends at once with a `NetworkError` (so does every later
        one).
        """
        ctx = RequestContext.for_call(
            method, endpoint, is_write=is_write, secrets=self._credentials.secret_values()
        )
        if self._abandoning:
            raise _abandoned(ctx, left=False)
        left = [False]  # whether the request was handed to the transport
        task = asyncio.current_task()
        if task is None:  # outside a task nothing can end it early
            return await self._call(ctx, path, params, body, absolute_url, left)
        self._in_flight.add(task)
        try:
            return await self._call(ctx, path, params, body, absolute_url, left)
        except asyncio.CancelledError:
            # Only the cancellation `abandon_calls` asked for becomes an error; any other
            # (the caller's own) goes on as it came.
            if task in self._abandoned and task.uncancel() == 0:
                raise _abandoned(ctx, left=left[0]) from None
            raise
        finally:
            self._in_flight.discard(task)
            self._abandoned.discard(task)

    def abandon_calls(self) -> None:
        """End every call under way now, the zone lookup it may wait on included, and refuse
        every later one: the program is closing and must not wait for a server that drips."""
        self._abandoning = True
        for task in list(self._in_flight):
            self._abandoned.add(task)
            task.cancel()

    async def _call(
        self,
        ctx: RequestContext,
        path: str,
        params: Mapping[str, str] | None,
        body: Any,
        absolute_url: str | None,
        left: list[bool],
    ) -> Any:
        deadline = _call_deadline.get()
        if deadline is None:
            deadline = self._options.deadline
        zone = await self._zones.current(deadline)
        url = self._resolve(zone, path, absolute_url, ctx)
        headers = {"Accept": "application/json", **self._credentials.headers()}
        content: bytes | AsyncIterator[bytes] | None = None
        if body is not None:
            content = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
            progress = _upload_hook.get() if ctx.is_write else None
            if progress is not None:
                headers["Content-Length"] = str(len(content))
                content = _chunks(content, progress)
        request = self._http.build_request(
            ctx.method,
            url,
            params=params,
            content=content,
            headers=headers,
            timeout=deadline if deadline is not None else httpx.USE_CLIENT_DEFAULT,
        )
        limits = SendLimits(
            deadline * _DEADLINE_SLACK if deadline is not None else None,
            self._options.max_response_bytes,
        )
        hook = _send_hook.get() if ctx.is_write else None
        if hook is not None:
            skew = self.skew_now()
            await hook(
                SendInfo(limits.deadline, None)
                if skew is None
                else SendInfo(limits.deadline, skew[0], skew[1])
            )
        left[0] = True
        try:
            answer = await send(self._http, request, ctx, limits)
        except (NetworkError, RequestTimeoutError) as exc:
            if exc.phase == "connect":
                self._zones.forget(zone)
            log.debug("autotask %s failed: %s", ctx.where, type(exc).__name__)
            raise
        log.debug("autotask %s -> %s", ctx.where, answer.status)
        self._note_date(answer.headers)
        if not 200 <= answer.status < 300:
            error = error_for_response(answer.status, answer.headers, answer.body, ctx)
            if isinstance(error, ZoneMovedError):
                self._zones.forget(zone)
            raise error
        return decode_json(answer.body, ctx, answer.status)

    def get_url_fits(self, path: str, search: str) -> bool:
        """Whether `path?search=...` stays short enough for a GET (Autotask fails past ~2,000)."""
        zone = self._zones.cached
        base = zone.api_base if zone is not None else self._options.directory_url + "V1.0/"
        url = f"{base}{path}?search={quote(search, safe='')}"
        return len(url) <= self._options.max_get_url_chars

    def _resolve(self, zone: Zone, path: str, absolute_url: str | None, ctx: RequestContext) -> str:
        if absolute_url is None:
            return zone.api_base + path
        url = urljoin(zone.api_base, absolute_url)
        parts = urlsplit(url)
        if (parts.scheme.lower(), parts.netloc.lower()) != zone.origin:
            raise ProtocolError(
                f"the server pointed the next page at another host ({ctx.where})",
                **ctx.fields(200, may_have_reached_server=False),
            )
        return url


def _abandoned(ctx: RequestContext, *, left: bool) -> NetworkError:
    """The error of a call ended (or refused) because the program is closing; a write that had
    left may have reached the server (it is reconciled at the next start)."""
    return NetworkError(  # never "connect": the zone and the link are not to blame
        f"the call was abandoned: Field Sync is closing ({ctx.where})",
        phase="exchange",
        **ctx.fields(None, may_have_reached_server=ctx.is_write and left),
    )
