"""Breaker and mode changes of the pipeline reach the metrics and the alert rules."""

from __future__ import annotations

from pathlib import Path

from agent.api.observe import Observability
from agent.clock import FakeClock
from agent.monitor import names
from agent.resilience.events import BreakerChanged, ModeChanged
from agent.store import Store


def gauge(obs: Observability, spec: names.GaugeSpec, **labels: str) -> float:
    return float(spec.on(obs.monitor.registry).labels(**labels).value)


def test_an_open_breaker_sets_its_gauge_and_raises_then_clears_an_alert(tmp_path: Path) -> None:
    clock = FakeClock()
    with Store(tmp_path / "a.sqlite3") as store:
        obs = Observability(store, clock)
        obs.on_pipeline_event(BreakerChanged("zone5", "Tickets", "closed", "open", "5xx", 0.0))
        assert obs.last_condition is not None
        obs.last_condition.join()
        assert gauge(obs, names.BREAKER_STATE, endpoint="Tickets") == names.BREAKER_CODES["open"]
        assert [a.rule for a in obs.alerts()] == ["breaker_open"]
        clock.advance(300)
        obs.on_pipeline_event(BreakerChanged("zone5", "Tickets", "open", "closed", "ok", 1.0))
        obs.last_condition.join()
        assert obs.alerts() == []


def test_going_offline_is_charted_and_alerted(tmp_path: Path) -> None:
    clock = FakeClock()
    with Store(tmp_path / "a.sqlite3") as store:
        obs = Observability(store, clock)
        obs.on_pipeline_event(ModeChanged("normal", "offline", "network unreachable"))
        assert obs.last_condition is not None
        obs.last_condition.join()
        assert gauge(obs, names.ONLINE) == 0
        assert gauge(obs, names.DEGRADATION_MODE) == names.MODE_CODES["offline"]
        clock.advance(600)
        obs.monitor.alerts.evaluate()
        assert "offline" in [a.rule for a in obs.alerts()]
