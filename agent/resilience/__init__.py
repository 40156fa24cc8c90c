"""The resilience pipeline every Autotask call passes: classify, back off, break, pace, shed."""

from agent.resilience.allowance import QuotaSettings
from agent.resilience.backoff import AttemptCount, AttemptCounts, Backoff, next_attempt_at
from agent.resilience.breaker import (
    ZONE_WIDE,
    BreakerOpenError,
    BreakerRegistry,
    BreakerSettings,
    BreakerState,
    CircuitBreaker,
)
from agent.resilience.bulkhead import AUTOTASK_THREAD_LIMIT, Bulkheads, EndpointLimiter, Kind
from agent.resilience.classify import ACTIONS, MESSAGES, Action, Category, Classification, classify
from agent.resilience.connectivity import Connectivity, tcp_probe
from agent.resilience.errors import PipelineError
from agent.resilience.events import BreakerChanged, EventHub, HealthChanged, ModeChanged
from agent.resilience.fleet import FleetLink
from agent.resilience.health import HealthMonitor, HealthReport, HealthSources, Status
from agent.resilience.modes import LoadShedder, Mode, ModeController, Shed
from agent.resilience.patterns import FailurePatterns, Finding, Verdict
from agent.resilience.pipeline import Pipeline
from agent.resilience.quota import QuotaPacer, QuotaWaitTooLong, ThresholdInfo
from agent.resilience.recovery import CredentialsState, ZoneRecovery
from agent.resilience.retry import READ_RETRY_ON, RetryPolicy, retry
from agent.resilience.timeouts import AdaptiveTimeouts, TimeoutSettings

__all__ = [
    "ACTIONS",
    "AUTOTASK_THREAD_LIMIT",
    "MESSAGES",
    "READ_RETRY_ON",
    "ZONE_WIDE",
    "Action",
    "AdaptiveTimeouts",
    "AttemptCount",
    "AttemptCounts",
    "Backoff",
    "BreakerChanged",
    "BreakerOpenError",
    "BreakerRegistry",
    "BreakerSettings",
    "BreakerState",
    "Bulkheads",
    "Category",
    "CircuitBreaker",
    "Classification",
    "Connectivity",
    "CredentialsState",
    "EndpointLimiter",
    "EventHub",
    "FailurePatterns",
    "Finding",
    "FleetLink",
    "HealthChanged",
    "HealthMonitor",
    "HealthReport",
    "HealthSources",
    "Kind",
    "LoadShedder",
    "Mode",
    "ModeChanged",
    "ModeController",
    "Pipeline",
    "PipelineError",
    "QuotaPacer",
    "QuotaSettings",
    "QuotaWaitTooLong",
    "RetryPolicy",
    "Shed",
    "Status",
    "ThresholdInfo",
    "TimeoutSettings",
    "Verdict",
    "ZoneRecovery",
    "classify",
    "next_attempt_at",
    "retry",
    "tcp_probe",
]
