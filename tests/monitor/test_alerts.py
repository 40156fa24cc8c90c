"""The alert engine debounces verdicts, deduplicates by key, persists, and tells subscribers."""

from __future__ import annotations

import json

import pytest

from agent.clock import FakeClock
from agent.monitor.alerts import AlertEngine, AlertEvent
from agent.monitor.rules import Context, Reading, Severity, ThresholdRule
from agent.monitor.series import SeriesStore
from agent.store import Store
from agent.store.models import Alert

RULE = ThresholdRule(
    "latency_high",
    "api_latency_seconds:p95",
    raise_at=2.0,
    clear_at=1.0,
    message="p95 {value} s {labels}",
    raise_after=3,
    clear_after=2,
)


class Recorder:
    def __init__(self, engine: AlertEngine) -> None:
        self.events: list[AlertEvent] = []
        engine.subscribe(self.events.append)

    def changes(self) -> list[tuple[str, str]]:
        return [(str(e.change), e.alert.key) for e in self.events]


@pytest.fixture
def engine(store: Store, series: SeriesStore, fake_clock: FakeClock) -> AlertEngine:
    return AlertEngine(store, series, [RULE], fake_clock)


def run(engine: AlertEngine, clock: FakeClock, *values: float) -> None:
    for v in values:
        clock.advance(10)
        engine.evaluate({"api_latency_seconds:p95": v})


def alert_rows(store: Store) -> list[Alert]:
    return store.read(lambda: list(Alert.select().order_by(Alert.id)))


def test_an_alert_is_raised_only_after_enough_consecutive_breaches(
    engine: AlertEngine, fake_clock: FakeClock
) -> None:
    rec = Recorder(engine)
    run(engine, fake_clock, 3.0, 3.0, 1.5, 3.0, 3.0)  # the in-band 1.5 breaks the streak
    assert rec.events == []
    run(engine, fake_clock, 3.0)
    assert rec.changes() == [("raised", "latency_high")]
    alert = rec.events[0].alert
    assert alert.severity == "warning" and alert.state == "active"
    assert alert.message == "p95 3 s "
    assert [a.key for a in engine.active()] == ["latency_high"]


def test_a_value_between_the_thresholds_neither_raises_nor_clears(
    engine: AlertEngine, fake_clock: FakeClock
) -> None:
    rec = Recorder(engine)
    run(engine, fake_clock, 3.0, 3.0, 3.0)
    run(engine, fake_clock, *[1.5] * 10, 0.5, 1.5, 0.5)
    assert rec.changes() == [("raised", "latency_high")]
    run(engine, fake_clock, 0.5)
    assert rec.changes() == [("raised", "latency_high"), ("resolved", "latency_high")]
    assert engine.active() == []


def test_repeats_update_one_alert_row_instead_of_adding_rows(
    store: Store, engine: AlertEngine, fake_clock: FakeClock
) -> None:
    run(engine, fake_clock, 3.0, 3.0, 3.0, 4.0, 5.0)
    (row,) = alert_rows(store)
    assert row.state == "active"
    assert row.last_seen - row.first_seen == 20
    assert row.message == "p95 5 s " and json.loads(row.data) == {"value": 5.0}


def test_a_restarted_engine_keeps_active_alerts_without_announcing_them_again(
    store: Store, series: SeriesStore, engine: AlertEngine, fake_clock: FakeClock
) -> None:
    run(engine, fake_clock, 3.0, 3.0, 3.0)
    restarted = AlertEngine(store, series, [RULE], fake_clock)
    rec = Recorder(restarted)
    assert [a.key for a in restarted.active()] == ["latency_high"]
    run(restarted, fake_clock, 3.0, 3.0, 3.0, 3.0)
    assert rec.events == []
    run(restarted, fake_clock, 0.5, 0.5)
    assert rec.changes() == [("resolved", "latency_high")]
    (row,) = alert_rows(store)
    assert row.state == "resolved" and row.resolved_at == rec.events[0].alert.resolved_at


def test_a_new_occurrence_after_resolution_is_a_new_alert(
    store: Store, engine: AlertEngine, fake_clock: FakeClock
) -> None:
    run(engine, fake_clock, 3.0, 3.0, 3.0, 0.5, 0.5, 3.0, 3.0, 3.0)
    assert [(r.state, r.key) for r in alert_rows(store)] == [
        ("resolved", "latency_high"),
        ("active", "latency_high"),
    ]
    assert [a.state for a in engine.history()] == ["active", "resolved"]


def test_each_labelled_series_is_its_own_alert(engine: AlertEngine, fake_clock: FakeClock) -> None:
    rec = Recorder(engine)
    for _ in range(3):
        fake_clock.advance(10)
        engine.evaluate(
            {
                "api_latency_seconds:p95{endpoint=Tickets}": 3.0,
                "api_latency_seconds:p95{endpoint=TicketNotes}": 0.2,
                "api_latency_seconds:p95_other": 9.0,
            }
        )
    assert rec.changes() == [("raised", "latency_high:endpoint=Tickets")]
    assert rec.events[0].alert.message == "p95 3 s endpoint=Tickets"


def test_alerts_of_a_rule_that_no_longer_exists_are_closed_at_start(
    store: Store, series: SeriesStore, engine: AlertEngine, fake_clock: FakeClock
) -> None:
    run(engine, fake_clock, 3.0, 3.0, 3.0)
    other = AlertEngine(store, series, [], fake_clock)
    assert other.active() == []
    assert [r.state for r in alert_rows(store)] == ["resolved"]


class BrokenRule:
    name = "broken"
    severity = Severity.INFO
    raise_after = 1
    clear_after = 1

    def evaluate(self, ctx: Context) -> list[Reading]:
        raise ZeroDivisionError("bad rule")


def test_a_failing_rule_or_listener_does_not_stop_the_others(
    store: Store, series: SeriesStore, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    engine = AlertEngine(store, series, [BrokenRule(), RULE], fake_clock)

    def bad_listener(event: AlertEvent) -> None:
        raise RuntimeError("tray gone")

    engine.subscribe(bad_listener)
    rec = Recorder(engine)
    run(engine, fake_clock, 3.0, 3.0, 3.0)
    assert rec.changes() == [("raised", "latency_high")]
    assert "alert rule broken failed" in caplog.text
    assert "alert listener failed" in caplog.text


def test_unsubscribed_listeners_hear_nothing(engine: AlertEngine, fake_clock: FakeClock) -> None:
    events: list[AlertEvent] = []
    unsubscribe = engine.subscribe(events.append)
    unsubscribe()
    run(engine, fake_clock, 3.0, 3.0, 3.0)
    assert events == [] and engine.active()[0].rule == "latency_high"


def test_a_threshold_whose_clear_level_is_on_the_wrong_side_is_refused() -> None:
    with pytest.raises(ValueError):
        ThresholdRule("x", "m", raise_at=1.0, clear_at=2.0, message="")
    with pytest.raises(ValueError):
        ThresholdRule("x", "m", raise_at=2.0, clear_at=1.0, message="", above=False)
