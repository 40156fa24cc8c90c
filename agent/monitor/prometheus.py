"""An optional Prometheus endpoint (`--metrics-port`) serving the registry on loopback.

Uses the official `prometheus_client`: a custom collector translates our registry at scrape time
(counters, gauges, and histograms as summaries with 0.5/0.95/0.99 quantiles since start), and the
client's own threaded HTTP server serves the text format.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from agent.monitor.registry import MetricKind, MetricsRegistry

NAMESPACE = "fieldsync"


class RegistryCollector(Collector):
    """Exposes every family of a `MetricsRegistry` under the `fieldsync_` prefix."""

    def __init__(self, registry: MetricsRegistry, namespace: str = NAMESPACE) -> None:
        self.registry = registry
        self.namespace = namespace

    def collect(self) -> Iterator[Metric]:
        for family in self.registry.snapshot():
            name = f"{self.namespace}_{family.name}"
            labels = list(family.labelnames)
            metric: Metric
            if family.kind is MetricKind.COUNTER:
                metric = CounterMetricFamily(name, family.help or family.name, labels=labels)
                for values, value in family.values.items():
                    metric.add_metric(list(values), value)
            elif family.kind is MetricKind.GAUGE:
                metric = GaugeMetricFamily(name, family.help or family.name, labels=labels)
                for values, value in family.values.items():
                    metric.add_metric(list(values), value)
            else:
                metric = SummaryMetricFamily(name, family.help or family.name, labels=labels)
                for values, q in family.summaries.items():
                    metric.add_metric(list(values), q.count, q.total)
                    base = dict(zip(labels, values, strict=True))
                    for quantile, value in (("0.5", q.p50), ("0.95", q.p95), ("0.99", q.p99)):
                        if not math.isnan(value):
                            metric.add_sample(name, {**base, "quantile": quantile}, value)
            yield metric


@dataclass
class MetricsServer:
    """The running endpoint; `close()` stops it and frees the port."""

    server: WSGIServer
    thread: threading.Thread
    host: str

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_metrics_server(
    registry: MetricsRegistry, port: int, host: str = "127.0.0.1"
) -> MetricsServer:
    """Serve `registry` at http://host:port/metrics (port 0 picks a free one)."""
    exposed = CollectorRegistry(auto_describe=False)
    exposed.register(RegistryCollector(registry))
    server, thread = start_http_server(port, addr=host, registry=exposed)
    return MetricsServer(server, thread, host)
