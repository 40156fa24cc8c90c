"""The resilience pipeline every Autotask call passes, composed from the small policies here.

    mode check / shedding -> bulkhead (kind) -> endpoint limit (3) -> quota pacer
        -> breakers (zone, endpoint) -> adaptive timeout -> fn(timeout)

The outcome is recorded everywhere it matters (latency, breakers, pacer, connectivity, zone,
failure patterns) and a failure leaves as a `PipelineError` carrying its category, action, the
time a retry may happen and the original error. The pipeline itself never retries: reads wrap it
in `RetryPolicy`, queued writes store `retry_at` in the outbox.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import httpx

from agent.autotask.errors import AutotaskError, UntrustedCertificateError
from agent.clock import SYSTEM_CLOCK, Clock
from agent.resilience.backoff import AttemptCounts, Backoff, next_attempt_at
from agent.resilience.breaker import (
    ZONE_WIDE,
    BreakerOpenError,
    BreakerRegistry,
    BreakerState,
    CircuitBreaker,
    Permit,
)
from agent.resilience.bulkhead import Bulkheads, EndpointLimiter, Kind
from agent.resilience.byte_budget import spares_other_work
from agent.resilience.classify import Category, Classification, classify
from agent.resilience.connectivity import Connectivity
from agent.resilience.errors import (
    USAGE_UNKNOWN_MESSAGE,
    PipelineError,
    connect_failure,
    got_answer,
    refusal,
)
from agent.resilience.events import BreakerChanged, EventHub, Listener, ModeChanged
from agent.resilience.fleet import FleetLink
from agent.resilience.health import HealthMonitor, HealthReport, HealthSources
from agent.resilience.modes import Cause, LoadShedder, Mode, ModeController, Shed
from agent.resilience.patterns import FailurePatterns, FailureRecord
from agent.resilience.quota import QuotaPacer, QuotaWaitTooLong
from agent.resilience.recovery import CredentialsState, ZoneRecovery
from agent.resilience.timeouts import AdaptiveTimeouts
from agent.store.errors import StoreError

__all__ = ["Pipeline", "PipelineError"]

T = TypeVar("T")
KindName = Literal["write", "read", "metadata"]

_BREAKER_FAILURES = frozenset(
    {
        Category.TRANSIENT_NETWORK,
        Category.CERTIFICATE,
        Category.TRANSIENT_SERVER,
        Category.PROTOCOL,
        Category.UNKNOWN,
    }
)
_SHED_CATEGORY = {
    Cause.NONE: Category.THROTTLED_QUOTA,
    Cause.QUOTA: Category.THROTTLED_QUOTA,
    Cause.BREAKERS: Category.TRANSIENT_SERVER,
    Cause.CONNECTIVITY: Category.TRANSIENT_NETWORK,
}
_NEUTRAL = frozenset(
    {Category.THROTTLED_QUOTA, Category.THROTTLED_THREADS, Category.THROTTLED_ATTACHMENTS}
)


def is_attachment_upload(endpoint: str, kind: Kind) -> bool:
    """A write to an attachment route (`Tickets/{parentId}/Attachments`, likewise for the other
    parents): what the integration's attachment byte quota limits."""
    return kind is Kind.WRITE and "attachment" in endpoint.lower()


class Pipeline:
    """Composes every policy; each part has a default and can be replaced by the caller."""

    def __init__(
        self,
        *,
        zone: str | Callable[[], str] = "default",
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
        hub: EventHub | None = None,
        breakers: BreakerRegistry | None = None,
        bulkheads: Bulkheads | None = None,
        limiter: EndpointLimiter | None = None,
        pacer: QuotaPacer | None = None,
        timeouts: AdaptiveTimeouts | None = None,
        modes: ModeController | None = None,
        shedder: LoadShedder | None = None,
        connectivity: Connectivity | None = None,
        zone_recovery: ZoneRecovery | None = None,
        credentials: CredentialsState | None = None,
        patterns: FailurePatterns | None = None,
        backoff: Backoff | None = None,
        fleet: FleetLink | None = None,
        store_integrity: Callable[[], bool] | None = None,
        free_disk_bytes: Callable[[], int] | None = None,
    ) -> None:
        self.zone = zone
        self.clock = clock
        self.rng = rng or random.Random()
        self.hub = hub or EventHub()
        self.breakers = breakers or BreakerRegistry(clock=clock, hub=self.hub)
        self.breakers.hub = self.hub
        self.bulkheads = bulkheads or Bulkheads()
        self.limiter = limiter or EndpointLimiter()
        self.pacer = pacer or QuotaPacer(clock=clock, budget=fleet)
        self.timeouts = timeouts or AdaptiveTimeouts()
        self.modes = modes or ModeController(hub=self.hub)
        self.modes.hub = self.hub
        self.shedder = shedder or LoadShedder(clock=clock)
        self.connectivity = connectivity
        self.zone_recovery = zone_recovery or ZoneRecovery(None, clock)
        self.credentials = credentials or CredentialsState()
        self.patterns = patterns or FailurePatterns()
        self.backoff = backoff or Backoff()
        self.fleet = fleet
        self.store_integrity = store_integrity
        self.free_disk_bytes = free_disk_bytes
        self.attempts = AttemptCounts()
        self.monitor = HealthMonitor(
            HealthSources(
                store_integrity=self.store_integrity,
                free_disk_bytes=self.free_disk_bytes,
                connectivity=self.connectivity,
                credentials=self.credentials,
                zone=self.zone_recovery,
                breakers=self.breakers,
                pacer=self.pacer,
                patterns=self.patterns,
            ),
            self.hub,
        )
        self._lowered: set[str] = set()
        # Monotonic time until which attachment uploads wait (the attachment byte quota's 429);
        # every other call goes on, and the tenant's request pacing is not touched.
        self._attachments_until = float("-inf")
        self._prober: asyncio.Task[None] | None = None
        self.hub.subscribe(self._on_event)
        if self.fleet is not None:
            self.hub.subscribe(self.fleet.on_breaker_event)
        if self.connectivity is not None:
            self.connectivity.subscribe(self._on_connectivity)

    # -- lifecycle and observation ---------------------------------------------------------------
    async def __aenter__(self) -> Pipeline:
        if self.connectivity is not None:
            self._prober = asyncio.create_task(self.connectivity.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._prober is not None:
            if self.connectivity is not None:
                self.connectivity.stop()
            self._prober.cancel()
            await asyncio.gather(self._prober, return_exceptions=True)
            self._prober = None
        await self.pacer.save_sent()
        if self.fleet is not None:
            await self.fleet.close()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Breaker, mode and health changes, as plain callbacks."""
        return self.hub.subscribe(listener)

    @property
    def mode(self) -> Mode:
        return self.modes.mode

    def health(self) -> HealthReport:
        return self.monitor.check()

    def network_changed(self) -> None:
        if self.connectivity is not None:
            self.connectivity.network_changed()

    def current_zone(self) -> str:
        return self.zone() if callable(self.zone) else self.zone

    # -- the call --------------------------------------------------------------------------------
    async def call(
        self,
        *,
        endpoint: str,
        kind: Kind | KindName,
        fn: Callable[[httpx.Timeout], Awaitable[T]],
        op_id: str | None = None,
    ) -> T:
        kind = Kind(kind)
        if self.credentials.refused:
            raise self._refused(Category.AUTHENTICATION, None, endpoint, kind, op_id)
        if self.fleet is not None:
            await self.fleet.sync(self.breakers)
        decision = self.shedder.decide(kind, await self.refresh_usage())
        if decision.verdict is not Shed.ADMIT and not self._is_probe(endpoint):
            category = _SHED_CATEGORY[self.modes.cause]
            if category is Category.TRANSIENT_NETWORK:
                category = self._network_category()
            raise self._refused(category, decision.retry_in, endpoint, kind, op_id, decision.reason)
        if is_attachment_upload(endpoint, kind):
            wait = self._attachments_until - self.clock.monotonic()
            if wait > 0:
                raise self._refused(Category.THROTTLED_ATTACHMENTS, wait, endpoint, kind, op_id)
        # The endpoint's slot first: a call queued behind its endpoint's three must not hold one
        # of its kind's pool slots meanwhile, or calls to other endpoints wait for nothing.
        async with self.limiter.slot(endpoint, kind), self.bulkheads.slot(kind):
            try:
                await self.pacer.acquire(kind)
            except QuotaWaitTooLong as wait:
                unknown = wait.usage_unknown  # waiting for a reading, not for the hour
                raise self._refused(
                    Category.THROTTLED_QUOTA,
                    wait.retry_in,
                    endpoint,
                    kind,
                    op_id,
                    "" if unknown else str(wait),
                    message=USAGE_UNKNOWN_MESSAGE if unknown else None,
                ) from None
            zone = self.current_zone()
            permits = self._admit(zone, endpoint, kind, op_id)
            timeout = self.timeouts.for_endpoint(endpoint)
            started = self.clock.monotonic()
            try:
                result = await fn(timeout)
            except (asyncio.CancelledError, StoreError):
                # Cancelled, or this computer's disk refused a write made on the way out (a
                # create's send marking): not the server's doing, nothing to classify or retry.
                for breaker, permit in permits:
                    breaker.release(permit)
                raise
            except Exception as error:
                duration = self.clock.monotonic() - started
                raise await self._failed(error, permits, duration, endpoint, kind, op_id) from error
            self._succeeded(permits, self.clock.monotonic() - started, endpoint, op_id)
            return result

    async def refresh_usage(self) -> Mode:
        """Read the tenant's usage when its interval has passed, before anything is shed, and
        return the mode it gives: a mode entered on a high reading is left when usage falls even
        if every call meanwhile was shed (skipped offline or with refused credentials)."""
        online = self.connectivity is None or self.connectivity.online
        if online and not self.credentials.refused:
            await self.pacer.refresh_if_due()
        return self._refresh_mode()

    def _is_probe(self, endpoint: str) -> bool:
        """Whether a call shed for open circuits must go anyway, because it may be what tests
        them: a call to a half-open endpoint is its probe, and once no circuit is in its break
        (all are closed or half-open) background work resumes, since it may be the only traffic
        that reaches a half-open endpoint (the pull's later stages behind its first call)."""
        if self.modes.cause is not Cause.BREAKERS:
            return False
        if self.breakers.get(self.current_zone(), endpoint).state is BreakerState.HALF_OPEN:
            return True
        return all(b.state is not BreakerState.OPEN for b in self.breakers)

    def _admit(
        self, zone: str, endpoint: str, kind: Kind, op_id: str | None
    ) -> list[tuple[CircuitBreaker, Permit]]:
        permits: list[tuple[CircuitBreaker, Permit]] = []
        for breaker in (self.breakers.get(zone), self.breakers.get(zone, endpoint)):
            try:
                permits.append((breaker, breaker.acquire()))
            except BreakerOpenError as refused:
                for held, permit in permits:
                    held.release(permit)
                # A zone circuit opens on connection failures, an endpoint's on failed answers.
                category = (
                    self._network_category()
                    if breaker.endpoint == ZONE_WIDE
                    else Category.TRANSIENT_SERVER
                )
                raise self._refused(
                    category, refused.retry_in, endpoint, kind, op_id, str(refused)
                ) from None
        return permits

    def _succeeded(
        self,
        permits: list[tuple[CircuitBreaker, Permit]],
        duration: float,
        endpoint: str,
        op_id: str | None,
    ) -> None:
        self.timeouts.observe(endpoint, duration)
        for breaker, permit in permits:
            breaker.success(permit, duration)
        if self.connectivity is not None:
            self.connectivity.report_success()
        self.zone_recovery.note_success()
        self.patterns.record_success(endpoint, op_id)
        self.attempts.succeed(op_id or endpoint)
        if endpoint in self._lowered and self.patterns.flapping(endpoint) is None:
            self._lowered.discard(endpoint)
            self.limiter.set_limit(endpoint, self.limiter.default_limit)
        self._refresh_mode()

    async def _failed(
        self,
        error: Exception,
        permits: list[tuple[CircuitBreaker, Permit]],
        duration: float,
        endpoint: str,
        kind: Kind,
        op_id: str | None,
    ) -> PipelineError:
        found = classify(error, is_write=kind is Kind.WRITE)
        category = found.category
        answered = got_answer(error)
        self._record_breakers(permits, error, category, duration)
        if category is Category.THROTTLED_QUOTA and not spares_other_work(error):
            # The op waits for the pacer's stop (capped, ended early by a reading showing room),
            # not for whatever the server's Retry-After said.
            wait = self.pacer.on_quota_exceeded(found.retry_after or 60.0)
            found = dataclasses.replace(found, retry_after=wait)
        elif category is Category.THROTTLED_THREADS:
            self.pacer.on_thread_limited()
        elif category is Category.THROTTLED_ATTACHMENTS:
            resume = self.clock.monotonic() + (found.retry_after or 300.0)
            self._attachments_until = max(self._attachments_until, resume)
        elif category is Category.AUTHENTICATION:
            self.credentials.refuse(found.message)
        if self.connectivity is not None:
            if answered:
                self.connectivity.report_success()
            elif category in (Category.TRANSIENT_NETWORK, Category.CERTIFICATE):
                untrusted = error.message if isinstance(error, UntrustedCertificateError) else None
                self.connectivity.report_network_failure(untrusted)
        network_up = self.connectivity is None or self.connectivity.online
        if self.zone_recovery.note_failure(error, network_up=network_up):
            await self.zone_recovery.rediscover_if_due()
        self._note_pattern(found, error, endpoint, op_id)
        now = self.clock.monotonic()
        attempt = self.attempts.fail(op_id or endpoint, now)
        retry_at = next_attempt_at(found, attempt, self.clock.now(), self.rng, self.backoff)
        self._refresh_mode()
        if self.fleet is not None:
            await self.fleet.sync(self.breakers)
        return PipelineError(
            found,
            retry_at=retry_at,
            error=error,
            endpoint=endpoint,
            kind=kind,
            op_id=op_id,
            attempted=True,
        )

    def _record_breakers(
        self,
        permits: list[tuple[CircuitBreaker, Permit]],
        error: Exception,
        category: Category,
        duration: float,
    ) -> None:
        """Connection failures count against the zone; failures of an answer, the endpoint."""
        (zone, zone_permit), (endpoint, endpoint_permit) = permits
        if connect_failure(error):
            zone.failure(zone_permit, duration)
            endpoint.release(endpoint_permit)
            if self.connectivity is not None and zone.state is not BreakerState.CLOSED:
                # No call will test the link while the circuit is open: let the prober do it.
                self.connectivity.mark_offline()
            return
        if got_answer(error):
            zone.success(zone_permit, duration)
        else:
            zone.release(zone_permit)
        if category in _BREAKER_FAILURES:
            endpoint.failure(endpoint_permit, duration)
        elif category in _NEUTRAL:
            endpoint.release(endpoint_permit)
        else:
            endpoint.success(endpoint_permit, duration)

    def _note_pattern(
        self, found: Classification, error: Exception, endpoint: str, op_id: str | None
    ) -> None:
        """Remember the failure: a flapping endpoint runs with less concurrency. An op failing the
        same way again and again shows in the health report but is not parked for it: a
        transient failure is retried with growing backoff however long it lasts, and only a
        refusal a retry cannot fix (classify's park action) waits for the technician."""
        text = error.message if isinstance(error, AutotaskError) else str(error)
        self.patterns.record_failure(
            FailureRecord(self.clock.monotonic(), endpoint, found.category, op_id, text)
        )
        if self.patterns.flapping(endpoint) is not None and endpoint not in self._lowered:
            self._lowered.add(endpoint)
            self.limiter.set_limit(endpoint, 1)

    def _network_category(self) -> Category:
        """Why calls are held back for want of a link: the certificate, when that is what the
        last failed calls said (a network that intercepts TLS is no outage), else the network."""
        c = self.connectivity
        if c is not None and c.untrusted_certificate is not None:
            return Category.CERTIFICATE
        return Category.TRANSIENT_NETWORK

    def _refused(
        self,
        category: Category,
        retry_in: float | None,
        endpoint: str,
        kind: Kind,
        op_id: str | None,
        reason: str = "",
        message: str | None = None,
    ) -> PipelineError:
        now = self.clock.now()
        return refusal(category, retry_in, now, endpoint, kind, op_id, reason, message)

    # -- mode and events -------------------------------------------------------------------------
    def _refresh_mode(self) -> Mode:
        online = self.connectivity is None or self.connectivity.online
        return self.modes.update(
            quota_share=self.pacer.usage,
            breaker_states=self.breakers.states().values(),
            online=online,
            throttled=self.pacer.multiplier < 0.5,
        )

    def _on_connectivity(self, online: bool) -> None:
        if online:
            # The zone circuits opened because the network was gone; it is back, so probe now.
            for breaker in self.breakers:
                if breaker.endpoint == ZONE_WIDE:
                    breaker.end_break()
        self._refresh_mode()

    def _on_event(self, event: Any) -> None:
        if isinstance(event, BreakerChanged | ModeChanged):
            if isinstance(event, BreakerChanged):
                self._refresh_mode()
            self.monitor.check()
