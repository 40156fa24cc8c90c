"""The metric names every layer records, with their labels and meaning, in one place.

The queue, the resilience pipeline and the sync engine take their metrics from here
(`names.API_LATENCY.on(registry).labels(endpoint="Tickets").observe(0.21)`), so the charts, the
alert rules and a Prometheus scrape all read the same names.

How the sampler stores each kind as time series (see `agent.monitor.series`):
- a gauge as its value, under its name (`queue_depth{state=pending}`);
- a counter as its rate per second over the sampling interval, under `<name>:rate`;
- a histogram as `<name>:p50`, `:p95`, `:p99` of the interval and `<name>:rate` (observations/s).

Label vocabularies:
- state: pending, leased, parked, conflict (the outbox states that are still work to do)
- priority: critical, high, normal, low, background
- category: the kind of entity an operation changes: ticket, ticket_note, time_entry, ...
- outcome: success, failure
- error: the error category of `agent.resilience.classify` (transient_network, certificate, ...)
- endpoint: the REST entity path the call went to (Tickets, TicketNotes, ...)
- entity, field: the entity and field of a record from Autotask that failed the screening
- action: skipped (the record was left out) or clamped (kept, its change marker clamped)
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.monitor.registry import Counter, Family, Gauge, Histogram, MetricsRegistry


@dataclass(frozen=True)
class CounterSpec:
    name: str
    help: str
    labels: tuple[str, ...] = ()

    def on(self, registry: MetricsRegistry) -> Family[Counter]:
        return registry.counter(self.name, self.help, self.labels)


@dataclass(frozen=True)
class GaugeSpec:
    name: str
    help: str
    labels: tuple[str, ...] = ()

    def on(self, registry: MetricsRegistry) -> Family[Gauge]:
        return registry.gauge(self.name, self.help, self.labels)


@dataclass(frozen=True)
class HistogramSpec:
    name: str
    help: str
    labels: tuple[str, ...] = ()

    def on(self, registry: MetricsRegistry) -> Family[Histogram]:
        return registry.histogram(self.name, self.help, self.labels)


# Queue (set by the collectors from the outbox table; the queue may also set them directly).
QUEUE_DEPTH = GaugeSpec("queue_depth", "Operations in the outbox by state", ("state",))
QUEUE_WAITING = GaugeSpec(
    "queue_waiting", "Pending or leased operations by priority", ("priority",)
)
QUEUE_OLDEST_AGE = GaugeSpec(
    "queue_oldest_pending_age_seconds", "Age of the oldest pending or leased operation"
)
QUEUE_UNSENT = GaugeSpec(
    "queue_unsent", "Operations not yet sent: pending, in flight or waiting for a retry"
)
QUEUE_ENQUEUED = CounterSpec("queue_enqueued_total", "Operations written to the outbox")

# Sync engine.
SYNC_OPS = CounterSpec(
    "sync_ops_total", "Operations finished by the sync engine", ("category", "outcome")
)
SYNC_ERRORS = CounterSpec("sync_errors_total", "Failed attempts by error category", ("error",))
SYNC_ERROR_RATIO = GaugeSpec(
    "sync_error_ratio",
    "Failures / (successes + failures) over the last interval (derived by the sampler)",
)
CONFLICTS_OPEN = GaugeSpec("conflicts_open", "Conflicts waiting for the technician")
SERVER_RECORDS_SCREENED = CounterSpec(
    "server_records_screened_total",
    "Records from Autotask skipped, or kept with their change marker clamped, by what was wrong",
    ("entity", "field", "action"),
)

# Autotask API and the resilience pipeline.
API_REQUESTS = CounterSpec("api_requests_total", "Calls made to the Autotask API", ("endpoint",))
API_LATENCY = HistogramSpec("api_latency_seconds", "Duration of Autotask API calls", ("endpoint",))
BREAKER_STATE = GaugeSpec(
    "breaker_state", "Circuit breaker state code (see BREAKER_CODES)", ("endpoint",)
)
QUOTA_USED = GaugeSpec(
    "quota_used_requests", "Requests in the tenant's rolling hour (ThresholdInformation)"
)
QUOTA_THRESHOLD = GaugeSpec("quota_threshold_requests", "The tenant's hourly request limit")
QUOTA_SHARE_USED = GaugeSpec(
    "quota_share_used", "Used requests / (threshold x this agent's share); 1.0 = share used up"
)
QUOTA_LOCAL_REQUESTS = CounterSpec(
    "quota_local_requests_total", "Requests this agent counted against the quota itself"
)
DEGRADATION_MODE = GaugeSpec("degradation_mode", "Degradation mode code (see MODE_CODES)")
ONLINE = GaugeSpec("online", "1 when Autotask is reachable, 0 when offline")

# Host and database (set by the collectors).
DATABASE_SIZE = GaugeSpec("database_size_bytes", "Size of the SQLite file and its WAL")
DISK_FREE = GaugeSpec("disk_free_bytes", "Free space on the disk holding the database")
PROCESS_MEMORY = GaugeSpec("process_resident_memory_bytes", "Resident memory of the agent")
PROCESS_CPU = GaugeSpec("process_cpu_percent", "CPU used by the agent since the last sample")

ALL_SPECS: tuple[CounterSpec | GaugeSpec | HistogramSpec, ...] = (
    QUEUE_DEPTH,
    QUEUE_WAITING,
    QUEUE_OLDEST_AGE,
    QUEUE_UNSENT,
    QUEUE_ENQUEUED,
    SYNC_OPS,
    SYNC_ERRORS,
    SYNC_ERROR_RATIO,
    CONFLICTS_OPEN,
    SERVER_RECORDS_SCREENED,
    API_REQUESTS,
    API_LATENCY,
    BREAKER_STATE,
    QUOTA_USED,
    QUOTA_THRESHOLD,
    QUOTA_SHARE_USED,
    QUOTA_LOCAL_REQUESTS,
    DEGRADATION_MODE,
    ONLINE,
    DATABASE_SIZE,
    DISK_FREE,
    PROCESS_MEMORY,
    PROCESS_CPU,
)

# Numeric codes so a state can be charted and alerted on; ordered from best to worst.
BREAKER_CODES = {"closed": 0, "half_open": 1, "open": 2, "isolated": 3}
MODE_CODES = {"normal": 0, "conserve": 1, "critical": 2, "offline": 3}
QUEUE_STATES = ("pending", "leased", "parked", "conflict")
PRIORITY_NAMES = ("critical", "high", "normal", "low", "background")

# Suffixes of derived series (see the module docstring).
RATE = ":rate"
P50, P95, P99 = ":p50", ":p95", ":p99"


def register_all(registry: MetricsRegistry) -> MetricsRegistry:
    """Create every family up front so a scrape lists them even before anything is recorded."""
    for spec in ALL_SPECS:
        spec.on(registry)
    return registry
