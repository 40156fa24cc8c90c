"""Metrics, time series, trends, alerts and diagnostics of the agent."""

from agent.monitor.alerts import AlertChange, AlertEngine, AlertEvent, AlertInfo
from agent.monitor.registry import MetricKind, MetricsRegistry
from agent.monitor.rules import Severity
from agent.monitor.sampler import Sampler
from agent.monitor.series import Agg, Point, SeriesStore, series_key
from agent.monitor.service import Monitor

__all__ = [
    "Agg",
    "AlertChange",
    "AlertEngine",
    "AlertEvent",
    "AlertInfo",
    "MetricKind",
    "MetricsRegistry",
    "Monitor",
    "Point",
    "Sampler",
    "SeriesStore",
    "Severity",
    "series_key",
]
