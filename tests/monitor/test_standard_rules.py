"""Each standard alert rule, driven by synthetic samples and series on a fake clock."""

from __future__ import annotations

import pytest

from agent.clock import FakeClock
from agent.monitor.alerts import AlertEngine, AlertEvent
from agent.monitor.series import SeriesStore
from agent.monitor.standard_rules import PENDING, standard_rules
from agent.store import Store
from tests.monitor.conftest import now

GB = 1024**3


class Harness:
    """Steps the clock 10 s at a time, storing each sample as the sampler would, then evaluates."""

    def __init__(self, store: Store, clock: FakeClock) -> None:
        self.clock = clock
        self.series = SeriesStore(store, clock)
        self.engine = AlertEngine(store, self.series, standard_rules(), clock)
        self.events: list[AlertEvent] = []
        self.engine.subscribe(self.events.append)

    def step(self, **sample: float) -> None:
        self.clock.advance(10)
        values = {k.replace("__", ":"): v for k, v in sample.items()}
        self.series.append(now(self.clock), values)
        self.engine.evaluate(values)

    def feed(self, samples: list[dict[str, float]]) -> None:
        for s in samples:
            self.step(**s)

    def changes(self) -> list[tuple[str, str]]:
        return [(str(e.change), e.alert.key) for e in self.events]

    def active(self) -> dict[str, AlertEvent | str]:
        return {a.key: a.severity for a in self.engine.active()}


@pytest.fixture
def h(store: Store, fake_clock: FakeClock) -> Harness:
    return Harness(store, fake_clock)


def test_error_rate_high_needs_three_bad_samples_and_three_good_ones_to_clear(h: Harness) -> None:
    h.feed([{"sync_error_ratio": 0.4}] * 2)
    assert h.events == []
    h.step(sync_error_ratio=0.4)
    assert h.changes() == [("raised", "error_rate_high")]
    assert h.events[0].alert.message == "40% of recent sync attempts failed"
    h.feed([{"sync_error_ratio": 0.15}] * 5 + [{"sync_error_ratio": 0.05}] * 2)
    assert "error_rate_high" in h.active()
    h.step(sync_error_ratio=0.05)
    assert h.changes()[-1] == ("resolved", "error_rate_high")


def test_queue_stuck_raises_past_an_hour_and_clears_under_half_an_hour(h: Harness) -> None:
    h.step(queue_oldest_pending_age_seconds=3000)
    h.step(queue_oldest_pending_age_seconds=3700)
    assert h.changes() == [("raised", "queue_stuck")]
    assert "62 min" in h.events[0].alert.message
    h.step(queue_oldest_pending_age_seconds=2000)
    assert h.active() == {"queue_stuck": "warning"}
    h.step(queue_oldest_pending_age_seconds=0)
    assert h.changes()[-1] == ("resolved", "queue_stuck")


def test_quota_share_high_raises_at_ninety_percent_and_clears_below_75_percent(h: Harness) -> None:
    h.feed([{"quota_share_used": v} for v in (0.5, 0.85, 0.92, 0.88, 0.8)])
    mine = [c for c in h.changes() if c[1] == "quota_share_high"]
    assert mine == [("raised", "quota_share_high")]
    h.step(quota_share_used=0.7)
    assert h.changes()[-1] == ("resolved", "quota_share_high")


def test_disk_space_low_is_critical_and_alarms_on_a_low_value(h: Harness) -> None:
    h.step(disk_free_bytes=20 * GB)
    h.step(disk_free_bytes=0.3 * GB)
    assert h.active() == {"disk_space_low": "critical"}
    assert "307 MB" in h.events[0].alert.message
    h.step(disk_free_bytes=0.8 * GB)
    assert "disk_space_low" in h.active()
    h.step(disk_free_bytes=2 * GB)
    assert h.changes()[-1] == ("resolved", "disk_space_low")


def test_queue_growing_while_online_raises_and_going_offline_clears_it(h: Harness) -> None:
    # 20 pending, +1 every 10 s (360 an hour) while online.
    h.feed([{PENDING: 20 + i, "online": 1} for i in range(8)])
    assert h.changes() == [("raised", "queue_growing")]
    assert "grows by 360 changes an hour" in h.events[0].alert.message
    h.feed([{PENDING: 28 + i, "online": 0} for i in range(3)])
    assert h.changes()[-1] == ("resolved", "queue_growing")


def test_a_small_queue_is_not_reported_as_growing(h: Harness) -> None:
    h.feed([{PENDING: i % 5 + i / 2, "online": 1} for i in range(12)])  # rising, but tiny
    assert "queue_growing" not in h.active()


def test_a_shrinking_queue_is_not_reported_as_growing(h: Harness) -> None:
    h.feed([{PENDING: 100 - i + 3 * (i % 2), "online": 1} for i in range(12)])
    assert h.events == []


def test_error_rate_climbing_raises_on_a_rising_failure_share(h: Harness) -> None:
    # 5 % -> 13 % in 80 s: far more than 20 points an hour.
    h.feed([{"sync_error_ratio": 0.05 + 0.01 * i} for i in range(9)])
    assert ("raised", "error_rate_climbing") in h.changes()
    h.feed([{"sync_error_ratio": 0.12 - 0.01 * i} for i in range(12)])
    assert ("resolved", "error_rate_climbing") in h.changes()


def test_an_open_breaker_raises_one_alert_per_endpoint_and_closing_resolves_it(h: Harness) -> None:
    h.engine.set_condition("breaker_open", True, key="Tickets", message="5 failures in 60 s")
    h.engine.set_condition("breaker_open", True, key="TimeEntries")
    h.engine.set_condition("breaker_open", True, key="Tickets")  # repeat: same alert
    assert h.changes() == [
        ("raised", "breaker_open:Tickets"),
        ("raised", "breaker_open:TimeEntries"),
    ]
    assert "Tickets" in h.events[0].alert.message and "5 failures" in h.events[0].alert.message
    h.engine.set_condition("breaker_open", False, key="Tickets")
    assert h.changes()[-1] == ("resolved", "breaker_open:Tickets")
    assert list(h.active()) == ["breaker_open:TimeEntries"]


def test_offline_is_reported_only_after_a_minute_without_a_connection(h: Harness) -> None:
    h.engine.set_condition("offline", True)
    h.feed([{"online": 0}] * 5)  # 50 s
    assert h.events == []
    h.step(online=0)
    assert h.active() == {"offline": "info"}
    h.engine.set_condition("offline", False)
    assert h.changes() == [("raised", "offline"), ("resolved", "offline")]


def test_a_short_drop_of_the_connection_raises_nothing(h: Harness) -> None:
    h.engine.set_condition("offline", True)
    h.step(online=0)
    h.engine.set_condition("offline", False)
    h.engine.set_condition("offline", True)  # a new outage starts its minute afresh
    h.feed([{"online": 0}] * 5)
    assert h.events == []


def test_rejected_credentials_raise_a_critical_alert_at_once(h: Harness) -> None:
    h.engine.set_condition("credentials_rejected", True, message="401 from webservices5")
    assert h.active() == {"credentials_rejected": "critical"}
    assert "401 from webservices5" in h.events[0].alert.message


def test_a_queue_draining_too_slowly_raises_a_capacity_warning(h: Harness) -> None:
    # 5,000 pending, shrinking by 1 a minute: more than three days to drain.
    h.feed([{PENDING: 5000 - i / 6, "online": 1} for i in range(12)])
    assert ("raised", "queue_drain_slow") in h.changes()
    alert = next(e.alert for e in h.events if e.alert.rule == "queue_drain_slow")
    assert "days to drain" in alert.message
    # Draining fast now (20 a second): cleared after three such evaluations.
    h.feed([{PENDING: 4998 - 200 * i, "online": 1} for i in range(95)])
    assert ("resolved", "queue_drain_slow") in h.changes()


def test_quota_running_out_warns_before_the_share_is_used(h: Harness) -> None:
    # Share climbing 1 point a minute from 50 %: ~48 min left, no warning.
    h.feed([{"quota_share_used": 0.5 + 0.01 * i / 6} for i in range(12)])
    assert "quota_running_out" not in h.active()
    # Then 1 point every 10 s: under 20 min left from the 7th sample, raised at the 9th.
    h.feed([{"quota_share_used": 0.52 + 0.01 * i} for i in range(8)])
    assert "quota_running_out" not in h.active()
    h.step(quota_share_used=0.60)
    assert "quota_running_out" in h.active()
    alert = next(a for a in h.engine.active() if a.rule == "quota_running_out")
    assert "runs out in" in alert.message
    h.feed([{"quota_share_used": 0.60} for _ in range(100)])  # steady at 60 %: never runs out
    assert "quota_running_out" not in h.active()
