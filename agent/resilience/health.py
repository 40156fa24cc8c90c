"""Health checks of everything the sync depends on, rolled up into one status and a reason.

Checks: store (integrity and free disk space, through callables), connectivity, credentials,
zone, breakers, quota, records from Autotask that the client skipped, and the findings of failure
pattern analysis. The overall status is the worst check; its reason names every check that is not
OK. A change of overall status is published as a `HealthChanged` event.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.resilience.breaker import BreakerRegistry, BreakerState
from agent.resilience.connectivity import Connectivity
from agent.resilience.events import EventHub, HealthChanged
from agent.resilience.patterns import FailurePatterns, Finding
from agent.resilience.quota import QuotaPacer
from agent.resilience.recovery import CredentialsState, ZoneRecovery


class Status(enum.IntEnum):
    OK = 0
    DEGRADED = 1
    FAILING = 2

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    reason: str


@dataclass(frozen=True)
class HealthReport:
    status: Status
    reason: str
    checks: list[CheckResult]
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class ServerRecords:
    """Records from Autotask that failed the client's screening: in all, and in the last round."""

    skipped: int = 0
    clamped: int = 0  # kept: an unreadable field left out, or a change marker clamped
    last_reason: str | None = None  # entity, field and fault; never a value
    skipped_last_round: int = 0


@dataclass
class HealthSources:
    """What the monitor looks at; every part is optional so a partial agent can be checked."""

    store_integrity: Callable[[], bool] | None = None
    free_disk_bytes: Callable[[], int] | None = None
    min_free_bytes: int = 200 * 1024 * 1024
    connectivity: Connectivity | None = None
    credentials: CredentialsState | None = None
    zone: ZoneRecovery | None = None
    breakers: BreakerRegistry | None = None
    pacer: QuotaPacer | None = None
    patterns: FailurePatterns | None = None
    server_records: Callable[[], ServerRecords] | None = None


class HealthMonitor:
    """Runs the checks on demand and publishes overall status changes."""

    def __init__(self, sources: HealthSources, hub: EventHub | None = None) -> None:
        self.sources = sources
        self.hub = hub or EventHub()
        self.last: HealthReport | None = None

    def check(self) -> HealthReport:
        checks = [
            self._store(),
            self._connectivity(),
            self._credentials(),
            self._zone(),
            self._breakers(),
            self._quota(),
            self._server_records(),
        ]
        findings = self.sources.patterns.findings() if self.sources.patterns else []
        if findings:
            reasons = "; ".join(f"{f.subject}: {f.reason}" for f in findings)
            checks.append(CheckResult("patterns", Status.DEGRADED, reasons))
        else:
            checks.append(CheckResult("patterns", Status.OK, "no repeating failures"))
        worst = max(c.status for c in checks)
        bad = [f"{c.name}: {c.reason}" for c in checks if c.status is not Status.OK]
        reason = "; ".join(bad) if bad else "everything is working"
        report = HealthReport(worst, reason, checks, findings)
        previous = self.last
        self.last = report
        before = previous.status if previous is not None else Status.OK
        if before is not report.status:
            self.hub.publish(HealthChanged(str(before), str(report.status), reason))
        return report

    def _store(self) -> CheckResult:
        s = self.sources
        if s.store_integrity is not None and not s.store_integrity():
            return CheckResult("store", Status.FAILING, "the local database failed its check")
        if s.free_disk_bytes is not None:
            free = s.free_disk_bytes()
            if free < s.min_free_bytes:
                mib = free // (1024 * 1024)
                return CheckResult("store", Status.DEGRADED, f"only {mib} MiB of disk space left")
        return CheckResult("store", Status.OK, "database healthy")

    def _connectivity(self) -> CheckResult:
        c = self.sources.connectivity
        if c is not None and c.untrusted_certificate:
            return CheckResult("connectivity", Status.FAILING, c.untrusted_certificate)
        if c is None or c.online:
            return CheckResult("connectivity", Status.OK, "online")
        return CheckResult("connectivity", Status.DEGRADED, "offline; changes are queued")

    def _credentials(self) -> CheckResult:
        c = self.sources.credentials
        if c is None or not c.refused:
            return CheckResult("credentials", Status.OK, "accepted")
        return CheckResult("credentials", Status.FAILING, c.message or "credentials refused")

    def _zone(self) -> CheckResult:
        z = self.sources.zone
        if z is None or not z.pending:
            return CheckResult("zone", Status.OK, "zone known")
        why = f" (last lookup failed: {z.last_error})" if z.last_error else ""
        return CheckResult("zone", Status.DEGRADED, f"looking up the Autotask zone again{why}")

    def _breakers(self) -> CheckResult:
        reg = self.sources.breakers
        if reg is None:
            return CheckResult("breakers", Status.OK, "no circuits")
        blocked = [
            f"{zone}/{endpoint} {state}"
            for (zone, endpoint), state in reg.states().items()
            if state is not BreakerState.CLOSED
        ]
        if not blocked:
            return CheckResult("breakers", Status.OK, "all circuits closed")
        return CheckResult("breakers", Status.DEGRADED, ", ".join(sorted(blocked)))

    def _quota(self) -> CheckResult:
        p = self.sources.pacer
        if p is None:
            return CheckResult("quota", Status.OK, "not measured")
        usage = p.usage
        if usage >= 1.0:
            reached = f"hourly request limit reached ({usage:.0%})"
            return CheckResult("quota", Status.FAILING, reached)
        if usage >= 0.75:
            return CheckResult("quota", Status.DEGRADED, f"{usage:.0%} of the hourly limit used")
        return CheckResult("quota", Status.OK, f"{usage:.0%} of the hourly limit used")

    def _server_records(self) -> CheckResult:
        source = self.sources.server_records
        r = source() if source is not None else ServerRecords()
        if not r.skipped and not r.clamped:
            return CheckResult("server_records", Status.OK, "every record from Autotask was usable")
        reason = (
            f"{r.skipped} record(s) from Autotask skipped, {r.clamped} kept with a field left "
            f"out or a change time past the server's clock (last: {r.last_reason})"
        )
        # Degraded while records are being left out; a past fault stays visible as a count.
        return CheckResult(
            "server_records", Status.DEGRADED if r.skipped_last_round else Status.OK, reason
        )
