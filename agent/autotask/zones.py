"""Finding the Autotask zone (data centre) that hosts a tenant, and forgetting it when it moves.

The lookup needs no credentials, so none are sent. The zone it answers is where the credentials
go next, so the answer is checked before it is used (`agent.security.trust.zone_url_problem`):
https only (this computer excepted), and a host under `autotask.net` when Autotask's own directory
answered. A zone handed in from storage is checked the same way, and looked up again if it fails.
The whole lookup, however slowly the answer trickles in, ends at one deadline. A lookup that
failed is not repeated until its backoff has passed (`LOOKUP_BACKOFF_S`, doubling with each
failure in a row): meanwhile every call that needs the zone fails at once with that lookup's own
error, so a round of calls costs one lookup, not one (each to its deadline) per call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from agent.autotask.convert import (
    RequestContext,
    decode_json,
    error_for_response,
    unexpected_answer,
)
from agent.autotask.errors import (
    AutotaskError,
    NetworkError,
    RequestTimeoutError,
    UnknownUserError,
    UntrustedZoneError,
    ValidationError,
)
from agent.autotask.transport import SendLimits, send
from agent.autotask.wire import lookup, mended, unwritable
from agent.clock import SYSTEM_CLOCK, Clock
from agent.security.trust import shown_url, zone_url_problem

log = logging.getLogger("agent.autotask")

DEFAULT_DIRECTORY_URL = "https://webservices.autotask.net/ATServicesRest/"
ZONE_LOOKUP_ENDPOINT = "ZoneInformation"
# The whole lookup, from connecting to the last byte of the answer, in seconds.
ZONE_LOOKUP_DEADLINE = 30.0
# After a failed lookup the directory is not asked again for this long, doubled with each
# failure in a row up to the cap (seconds); a lookup that succeeds clears it.
LOOKUP_BACKOFF_S = 15.0
LOOKUP_BACKOFF_CAP_S = 300.0

ZoneListener = Callable[["Zone | None"], None]


@dataclass(frozen=True)
class Zone:
    """Where a tenant's API lives; `url` ends in `/ATServicesRest/` as the lookup answers it."""

    name: str
    url: str
    web_url: str = ""
    ci: int | None = None

    @property
    def api_base(self) -> str:
        """The versioned API root, e.g. `https://webservices5.autotask.net/ATServicesRest/V1.0/`."""
        return self.url.rstrip("/") + "/V1.0/"

    @property
    def origin(self) -> tuple[str, str]:
        parts = urlsplit(self.url)
        return parts.scheme.lower(), parts.netloc.lower()

    def to_dict(self) -> dict[str, Any]:
        """A plain form the store can persist; `from_dict` reads it back."""
        return {"name": self.name, "url": self.url, "web_url": self.web_url, "ci": self.ci}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Zone:
        return cls(
            str(data["name"]), str(data["url"]), str(data.get("web_url", "")), data.get("ci")
        )


def zone_from_wire(
    payload: Any, ctx: RequestContext, directory_url: str = DEFAULT_DIRECTORY_URL
) -> Zone:
    """Reads a ZoneInformation answer of `directory_url`; its `url` must be one the credentials
    may be sent to (`UntrustedZoneError` otherwise)."""
    if not isinstance(payload, dict):
        raise unexpected_answer(ctx, "the zone lookup answer is not an object")
    url = lookup(payload, "url")
    if not isinstance(url, str) or not url.strip() or unwritable(url):
        raise unexpected_answer(ctx, "the zone lookup answer has no usable url")
    check_zone_url(url, directory_url, ctx)
    name = lookup(payload, "zoneName")
    web_url = lookup(payload, "webUrl")
    ci = lookup(payload, "ci")
    return Zone(  # the name and web address are only shown: text no store takes is mended
        name=mended(name) if isinstance(name, str) else "",
        url=url if url.endswith("/") else url + "/",
        web_url=mended(web_url) if isinstance(web_url, str) else "",
        ci=ci if isinstance(ci, int) and not isinstance(ci, bool) else None,
    )


def check_zone_url(url: str, directory_url: str, ctx: RequestContext) -> None:
    """Raises `UntrustedZoneError` when the credentials may not go to the zone `url`."""
    problem = zone_url_problem(url, directory_url)
    if problem is not None:
        raise UntrustedZoneError(
            f"The Autotask directory named {shown_url(url)!r} as the zone of this user, and "
            f"{problem}; nothing was sent there (your credentials were not sent). Check the "
            "directory address in the settings, or the network you are on.",
            **ctx.fields(200, may_have_reached_server=False),
        )


class ZoneDirectory:
    """Caches the tenant's zone, looks it up once when unknown, and forgets it on request.

    `on_change` is told every new zone and every `None` (forgotten), so a store can persist it
    and hand it back as `zone` on the next start.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        username: str,
        *,
        directory_url: str = DEFAULT_DIRECTORY_URL,
        zone: Zone | None = None,
        on_change: ZoneListener | None = None,
        limits: SendLimits | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._http = http
        self._clock = clock
        # The last lookup's failure, failures in a row, and when (monotonic) to ask again.
        self._failure: AutotaskError | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._username = username
        self._directory_url = directory_url.rstrip("/") + "/"
        if zone is not None and zone_url_problem(zone.url, self._directory_url) is not None:
            # Kept by an older version, or edited in the database: looked up again instead.
            log.warning("stored zone %s is not trusted; looking it up again", shown_url(zone.url))
            zone = None
        self._zone = zone
        self._on_change = on_change
        limits = limits or SendLimits()
        deadline = limits.deadline
        self._limits = SendLimits(
            ZONE_LOOKUP_DEADLINE if deadline is None else deadline, limits.max_response_bytes
        )
        self._lock = asyncio.Lock()

    @property
    def cached(self) -> Zone | None:
        return self._zone

    async def current(self, deadline: float | None = None) -> Zone:
        """The cached zone, looked up first when none is (one lookup for concurrent callers);
        `deadline` shortens the lookup's own (the caller's whole call has no more time)."""
        zone = self._zone
        if zone is not None:
            return zone
        self._refuse_while_backing_off()
        async with self._lock:
            if self._zone is None:
                self._refuse_while_backing_off()  # it failed while this caller waited
                self._set(await self._looked_up(deadline))
            assert self._zone is not None
            return self._zone

    async def rediscover(self) -> Zone:
        """Looks the zone up again now (whatever the backoff), replacing the cached one."""
        async with self._lock:
            self._set(await self._looked_up())
            assert self._zone is not None
            return self._zone

    def network_returned(self) -> None:
        """The network is back: a lookup that failed to connect is tried at the next call. One
        that the directory answered, however badly (slowly, wrongly), keeps its backoff."""
        failure = self._failure
        if isinstance(failure, NetworkError | RequestTimeoutError) and failure.phase == "connect":
            self._retry_at = 0.0

    def _refuse_while_backing_off(self) -> None:
        failure = self._failure
        if failure is not None and self._clock.monotonic() < self._retry_at:
            raise _again(failure)

    async def _looked_up(self, deadline: float | None = None) -> Zone:
        try:
            zone = await self.lookup(deadline)
        except AutotaskError as exc:
            self._failures += 1
            wait = min(LOOKUP_BACKOFF_CAP_S, LOOKUP_BACKOFF_S * 2 ** min(self._failures - 1, 16))
            self._failure, self._retry_at = exc, self._clock.monotonic() + wait
            log.warning("zone lookup failed; the directory is asked again in %.0f s", wait)
            raise
        self._failure, self._failures = None, 0
        return zone

    def forget(self, stale: Zone | None = None) -> None:
        """Drops the cached zone so the next call looks it up; ignores an already replaced one."""
        if self._zone is not None and (stale is None or stale == self._zone):
            self._set(None)

    async def lookup(self, deadline: float | None = None) -> Zone:
        """Asks the zone directory where this user's tenant lives, within the lookup's deadline
        (or `deadline`, when shorter)."""
        ctx = RequestContext.for_call("GET", ZONE_LOOKUP_ENDPOINT, is_write=False)
        url = self._directory_url + "V1.0/ZoneInformation"
        limits = self._limits
        if deadline is not None and limits.deadline is not None and deadline < limits.deadline:
            limits = SendLimits(deadline, limits.max_response_bytes)
        request = self._http.build_request(
            "GET", url, params={"user": self._username}, timeout=limits.deadline
        )
        try:
            answer = await send(self._http, request, ctx, limits)
        except RequestTimeoutError as exc:
            raise RequestTimeoutError(
                f"the Autotask zone directory did not answer in time ({ctx.where})",
                phase=exc.phase,
                **ctx.fields(None, may_have_reached_server=False),
            ) from None
        if answer.status != 200:
            error = error_for_response(answer.status, answer.headers, answer.body, ctx)
            if isinstance(error, ValidationError):
                # The directory explains a failure only for a user name it does not know.
                error = UnknownUserError(
                    "Autotask does not know this API user name; check the user name in the "
                    "account settings",
                    **ctx.fields(answer.status, may_have_reached_server=False),
                )
            raise error
        return zone_from_wire(decode_json(answer.body, ctx), ctx, self._directory_url)

    def _set(self, zone: Zone | None) -> None:
        if zone == self._zone:
            return
        self._zone = zone
        if self._on_change is not None:
            self._on_change(zone)


def _again(error: AutotaskError) -> AutotaskError:
    """`error` once more: a new exception of its type and fields (a raised exception carries
    its traceback, so the one stored is never raised twice)."""
    again = type(error).__new__(type(error))
    again.__dict__.update(error.__dict__)
    again.args = error.args
    return again
