"""The optional Prometheus endpoint serves the registry in the text format on loopback."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from agent.monitor import names
from agent.monitor.prometheus import start_metrics_server
from agent.monitor.registry import MetricsRegistry


def test_a_scrape_over_loopback_shows_counters_gauges_and_latency_quantiles() -> None:
    registry = names.register_all(MetricsRegistry())
    names.API_REQUESTS.on(registry).labels(endpoint="Tickets").inc(3)
    names.QUEUE_DEPTH.on(registry).labels(state="pending").set(7)
    latency = names.API_LATENCY.on(registry).labels(endpoint="Tickets")
    for i in range(1, 101):
        latency.observe(i / 100)

    with start_metrics_server(registry, 0) as server:
        assert server.url.startswith("http://127.0.0.1:")
        with httpx.Client() as client:
            response = client.get(server.url)
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    assert samples[("fieldsync_api_requests_total", (("endpoint", "Tickets"),))] == 3
    assert samples[("fieldsync_queue_depth", (("state", "pending"),))] == 7
    assert families["fieldsync_api_latency_seconds"].type == "summary"
    assert samples[("fieldsync_api_latency_seconds_count", (("endpoint", "Tickets"),))] == 100
    p95_labels = (("endpoint", "Tickets"), ("quantile", "0.95"))
    p95 = samples[("fieldsync_api_latency_seconds", p95_labels)]
    assert abs(p95 - 0.95) < 0.02
    assert "fieldsync_disk_free_bytes" in families  # registered families show before use


def test_closing_the_server_frees_its_port() -> None:
    server = start_metrics_server(MetricsRegistry(), 0)
    port = server.port
    server.close()
    again = start_metrics_server(MetricsRegistry(), port)
    assert again.port == port
    again.close()
