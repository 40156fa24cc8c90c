"""The alert rules the agent runs by default, with their thresholds and hysteresis bands.

Conditions fed from outside (`AlertEngine.set_condition`): `breaker_open` keyed by endpoint,
`offline`, and `credentials_rejected`.
"""

from __future__ import annotations

from agent.monitor import names
from agent.monitor.forecast import quota_eta_from_series, time_to_drain
from agent.monitor.rules import (
    ConditionRule,
    Context,
    ForecastRule,
    Rule,
    Severity,
    ThresholdRule,
    TrendRule,
)
from agent.monitor.series import series_key

PENDING = series_key(names.QUEUE_DEPTH.name, {"state": "pending"})
MB = 1024 * 1024

# The names of conditions the facade feeds in.
BREAKER_OPEN = "breaker_open"
OFFLINE = "offline"
CREDENTIALS_REJECTED = "credentials_rejected"


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _minutes(value: float) -> str:
    return f"{value / 60:.0f} min"


def _megabytes(value: float) -> str:
    return f"{value / MB:.0f} MB"


def _drain_eta(ctx: Context) -> float | None:
    if ctx.sample.get(names.ONLINE.name) != 1:
        return None  # offline, nothing drains; the offline alert says so
    return time_to_drain(ctx.recent(PENDING, 900.0), window_s=900.0)


def _quota_eta(ctx: Context) -> float | None:
    return quota_eta_from_series(ctx.recent(names.QUOTA_SHARE_USED.name, 900.0), window_s=900.0)


def standard_rules() -> list[Rule]:
    return [
        ThresholdRule(
            "error_rate_high",
            names.SYNC_ERROR_RATIO.name,
            raise_at=0.25,
            clear_at=0.10,
            message="{value} of recent sync attempts failed",
            fmt=_percent,
            raise_after=3,
            clear_after=3,
        ),
        ThresholdRule(
            "queue_stuck",
            names.QUEUE_OLDEST_AGE.name,
            raise_at=3600.0,
            clear_at=1800.0,
            message="A change has been waiting to sync for {value}",
            fmt=_minutes,
        ),
        ThresholdRule(
            "quota_share_high",
            names.QUOTA_SHARE_USED.name,
            raise_at=0.90,
            clear_at=0.75,
            message="{value} of this agent's hourly Autotask request share is used",
            fmt=_percent,
        ),
        ThresholdRule(
            "disk_space_low",
            names.DISK_FREE.name,
            raise_at=500 * MB,
            clear_at=1024 * MB,
            above=False,
            severity=Severity.CRITICAL,
            message="Only {value} free on the disk that holds the local database",
            fmt=_megabytes,
        ),
        TrendRule(
            "queue_growing",
            PENDING,
            window_s=900.0,
            raise_per_hour=20.0,
            clear_per_hour=0.0,
            only_when=names.ONLINE.name,
            min_value=10.0,
            message="The queue grows by {slope} changes an hour although Autotask is reachable",
        ),
        TrendRule(
            "error_rate_climbing",
            names.SYNC_ERROR_RATIO.name,
            window_s=1800.0,
            raise_per_hour=0.20,
            clear_per_hour=0.0,
            min_value=0.05,
            message="Sync failures are climbing ({value} now, +{slope} an hour)",
        ),
        ConditionRule(
            BREAKER_OPEN,
            BREAKER_OPEN,
            message="Calls to {key} are paused after repeated failures ({detail})",
        ),
        ConditionRule(
            OFFLINE,
            OFFLINE,
            raise_after_s=60.0,
            severity=Severity.INFO,
            message="Autotask is not reachable; changes are kept and will sync later",
        ),
        ConditionRule(
            CREDENTIALS_REJECTED,
            CREDENTIALS_REJECTED,
            severity=Severity.CRITICAL,
            message="Autotask rejected the saved credentials; sign in again ({detail})",
        ),
        ForecastRule(
            "queue_drain_slow",
            _drain_eta,
            raise_at_s=8 * 3600.0,
            clear_at_s=4 * 3600.0,
            soon=False,
            message="At the current pace the queue needs {eta} to drain",
        ),
        ForecastRule(
            "quota_running_out",
            _quota_eta,
            raise_at_s=20 * 60.0,
            clear_at_s=40 * 60.0,
            message="At the current pace this agent's request share runs out in {eta}",
        ),
    ]
