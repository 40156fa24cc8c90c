"""What the facade tells about health: metrics recording, chart series, alerts and forecasts.

Wires the profile's `Monitor` (metrics registry, time series, alert engine) to the sync engine
and the resilience pipeline, and turns their state into the plain views the window shows.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from agent.autotask.screening import RecordProblem
from agent.clock import Clock
from agent.monitor import forecast, names
from agent.monitor.alerts import AlertInfo
from agent.monitor.series import Point, series_key
from agent.monitor.service import Monitor
from agent.monitor.standard_rules import BREAKER_OPEN, CREDENTIALS_REJECTED, OFFLINE
from agent.resilience.events import BreakerChanged, ModeChanged
from agent.resilience.health import ServerRecords
from agent.resilience.pipeline import Pipeline
from agent.store.connection import Store
from agent.store.screened import ScreenedSummary

# Chart name -> the stored series it draws.
CHARTS = {
    # Every operation not yet finished: waiting, in flight (leased) or waiting for a retry.
    "queue_depth": names.QUEUE_UNSENT.name,
    # Derived series carry their suffix on the name, before the labels (as the sampler stores).
    "throughput": series_key(
        names.SYNC_OPS.name + names.RATE, {"category": "all", "outcome": "success"}
    ),
    "api_latency_p95": series_key(names.API_LATENCY.name + names.P95, {"endpoint": "all"}),
    "error_rate": names.SYNC_ERROR_RATIO.name,
    "quota_use": names.QUOTA_SHARE_USED.name,
}


@dataclass(frozen=True)
class HealthView:
    status: str
    reason: str
    checks: list[tuple[str, str, str]]
    breakers: list[tuple[str, str]]
    findings: list[str]
    forecasts: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertView:
    id: int
    rule: str
    severity: str
    message: str
    first_seen: float
    last_seen: float
    state: str


class Observability:
    def __init__(self, store: Store, clock: Clock, *, retention_days: float = 30.0) -> None:
        self.clock = clock
        self.monitor = Monitor(store, clock, retention_days=retention_days)
        reg = self.monitor.registry
        self._calls = names.API_REQUESTS.on(reg)
        self._latency = names.API_LATENCY.on(reg)
        self._ops = names.SYNC_OPS.on(reg)
        self._errors = names.SYNC_ERRORS.on(reg)
        self._screened = names.SERVER_RECORDS_SCREENED.on(reg)
        self.server_records = ServerRecords()  # read by the pipeline's health check
        self._all_latency = self._latency.labels(endpoint="all")
        self._ok = self._ops.labels(category="all", outcome="success")
        self._bad = self._ops.labels(category="all", outcome="failure")
        self.last_condition: threading.Thread | None = None
        self._quota: tuple[int, int, float] | None = None  # the last reading
        self._calls_since_reading = 0
        self._live = [0, 0]  # successes and failures counted by `record_op` this round

    def start(self) -> None:
        self.monitor.start()

    def set_online(self, online: bool) -> None:
        """Whether changes can be sent now (Autotask reachable, not working offline): alert
        rules such as a growing queue only mean something while it is 1."""
        names.ONLINE.on(self.monitor.registry).labels().set(1 if online else 0)

    def set_retention_days(self, days: float) -> None:
        """How long the hourly rollups are kept (the `metrics_retention_days` setting)."""
        self.monitor.series.rollup_retention_s = days * 86400.0

    async def stop(self) -> None:
        await self.monitor.stop()

    def record_call(self, endpoint: str, seconds: float) -> None:
        self._calls.labels(endpoint=endpoint).inc()
        if self._quota is not None:  # between two readings, this agent's own calls count
            self._calls_since_reading += 1
            self._publish_quota()
        self._latency.labels(endpoint=endpoint).observe(seconds)
        self._all_latency.observe(seconds)

    def on_pipeline_event(self, event: object) -> None:
        """Breaker and mode changes become gauges (charts, Prometheus) and alert conditions."""
        reg = self.monitor.registry
        if isinstance(event, BreakerChanged):
            code = names.BREAKER_CODES.get(str(event.new), 0)
            names.BREAKER_STATE.on(reg).labels(endpoint=event.endpoint or "zone").set(code)
            self._condition(
                BREAKER_OPEN,
                str(event.new) in ("open", "isolated"),
                event.endpoint or "zone",
                event.reason,
            )
        elif isinstance(event, ModeChanged):
            names.DEGRADATION_MODE.on(reg).labels().set(names.MODE_CODES.get(str(event.new), 0))
            offline = str(event.new) == "offline"
            names.ONLINE.on(reg).labels().set(0 if offline else 1)
            self._condition(OFFLINE, offline, "", event.reason)

    def record_quota(self, used: int, threshold: int, share: float) -> None:
        """A ThresholdInformation reading; until the next one, each call this agent makes adds
        to it (the reading is refreshed only every few minutes)."""
        self._quota = (used, threshold, share)
        self._calls_since_reading = 0
        self._publish_quota()

    def _publish_quota(self) -> None:
        if self._quota is None:
            return
        reading, threshold, share = self._quota
        used = reading + self._calls_since_reading
        reg = self.monitor.registry
        names.QUOTA_USED.on(reg).labels().set(used)
        names.QUOTA_THRESHOLD.on(reg).labels().set(threshold)
        names.QUOTA_SHARE_USED.on(reg).labels().set(used / max(1.0, threshold * share))

    def credentials_rejected(self, rejected: bool, message: str = "") -> None:
        self._condition(CREDENTIALS_REJECTED, rejected, "", message)

    def _condition(self, name: str, active: bool, key: str, message: str) -> threading.Thread:
        # The alert engine writes to the store: never on the caller's (event loop) thread.
        worker = threading.Thread(
            target=self.monitor.alerts.set_condition,
            args=(name, active, key, message),
            name="alert-condition",
            daemon=True,
        )
        worker.start()
        self.last_condition = worker
        return worker

    def record_op(self, succeeded: bool) -> None:
        """One operation's outcome as the push learns it (the chart moves during a drain)."""
        (self._ok if succeeded else self._bad).inc()
        self._live[0 if succeeded else 1] += 1

    def record_ops(self, succeeded: int, failed: int, categories: list[str]) -> None:
        """A round's totals: what `record_op` has not counted yet."""
        counted_ok, counted_bad = self._live
        self._live = [0, 0]
        if succeeded > counted_ok:
            self._ok.inc(succeeded - counted_ok)
        if failed > counted_bad:
            self._bad.inc(failed - counted_bad)
        for category in categories:
            self._errors.labels(error=category).inc()

    def load_screened(self, tally: ScreenedSummary) -> None:
        """The stored tally of records from Autotask that failed the screening (at start)."""
        self.server_records = ServerRecords(tally.skipped, tally.clamped, tally.last_reason)

    def record_screened(self, problems: Sequence[RecordProblem]) -> None:
        """One round's records that failed the screening (the engine stored them already)."""
        before = self.server_records
        skipped = sum(p.skipped for p in problems)
        for p in problems:
            action = "skipped" if p.skipped else "clamped"
            self._screened.labels(entity=p.entity, field=p.field, action=action).inc()
        self.server_records = ServerRecords(
            skipped=before.skipped + skipped,
            clamped=before.clamped + len(problems) - skipped,
            last_reason=problems[-1].reason if problems else before.last_reason,
            skipped_last_round=skipped,
        )

    def series(
        self, name: str, start: float, end: float, resolution: float | None = None
    ) -> list[tuple[float, float]]:
        key = CHARTS.get(name, name)
        return [(p.at, p.value) for p in self.monitor.series.series(key, start, end, resolution)]

    def alerts(self) -> list[AlertView]:
        return [_alert(a) for a in self.monitor.alerts.active()]

    def health(self, pipeline: Pipeline | None) -> HealthView:
        now = self.clock.now().timestamp()
        depth = [Point(t, v) for t, v in self.series("queue_depth", now - 900, now)]
        share = [Point(t, v) for t, v in self.series("quota_use", now - 900, now)]
        errors = [Point(t, v) for t, v in self.series("error_rate", now - 1800, now)]
        forecasts = {
            "queue_drain_s": forecast.time_to_drain(depth),
            # A burst that has ended is not a pace: with nothing left to send, the hour's own.
            "quota_exhaust_s": forecast.quota_eta_from_series(
                share, steady=not (depth and depth[-1].value > 0)
            ),
            "error_rate_slope": forecast.slope_per_hour(errors, 1800.0),
        }
        if pipeline is None:
            return HealthView("unknown", "Not signed in to Autotask.", [], [], [], forecasts)
        report = pipeline.health()
        breakers = [
            (f"{zone}/{endpoint}", state.value)
            for (zone, endpoint), state in pipeline.breakers.states().items()
        ]
        return HealthView(
            status=str(report.status),
            reason=report.reason,
            checks=[(c.name, str(c.status), c.reason) for c in report.checks],
            breakers=breakers,
            findings=[f"{f.subject}: {f.reason}" for f in report.findings],
            forecasts=forecasts,
        )

    async def aseries(
        self, name: str, start: float, end: float, resolution: float | None = None
    ) -> list[tuple[float, float]]:
        return await asyncio.to_thread(self.series, name, start, end, resolution)


def _alert(a: AlertInfo) -> AlertView:
    return AlertView(a.id, a.rule, a.severity, a.message, a.first_seen, a.last_seen, a.state)
