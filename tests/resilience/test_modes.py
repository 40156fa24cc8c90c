"""Degradation modes and load shedding: background work yields, a technician's edit never drops."""

from __future__ import annotations

import pytest

from agent.clock import FakeClock
from agent.resilience.breaker import BreakerState
from agent.resilience.bulkhead import Kind
from agent.resilience.events import EventHub, ModeChanged
from agent.resilience.modes import LoadShedder, Mode, ModeController, Shed

CLOSED = [BreakerState.CLOSED] * 4


def update(c: ModeController, quota: float = 0.1, states=CLOSED, online=True, throttled=False):
    return c.update(quota_share=quota, breaker_states=states, online=online, throttled=throttled)


@pytest.mark.parametrize(
    ("quota", "states", "online", "throttled", "mode"),
    [
        (0.1, CLOSED, True, False, Mode.NORMAL),
        (0.55, CLOSED, True, False, Mode.CONSERVE),
        (0.1, [BreakerState.HALF_OPEN, *CLOSED], True, False, Mode.CONSERVE),
        (0.95, CLOSED, True, False, Mode.CRITICAL),
        (0.1, CLOSED, True, True, Mode.CRITICAL),
        (0.1, [BreakerState.OPEN] * 3 + [BreakerState.CLOSED], True, False, Mode.CRITICAL),
        (0.1, CLOSED, False, False, Mode.OFFLINE),
        (0.99, [BreakerState.OPEN] * 4, False, True, Mode.OFFLINE),
    ],
)
def test_mode_follows_quota_breakers_and_connectivity(quota, states, online, throttled, mode):
    assert update(ModeController(), quota, states, online, throttled) is mode


def test_mode_changes_are_published_once_per_change():
    hub = EventHub()
    seen: list[ModeChanged] = []
    hub.subscribe(seen.append)
    c = ModeController(hub=hub)
    update(c, 0.1)
    update(c, 0.6)
    update(c, 0.62)
    update(c, online=False)
    assert [(e.old, e.new) for e in seen] == [("normal", "conserve"), ("conserve", "offline")]
    assert "offline" in c.mode and c.reason


def test_quota_modes_have_hysteresis():
    c = ModeController()
    assert update(c, 0.51) is Mode.CONSERVE
    assert update(c, 0.48) is Mode.CONSERVE  # within 5 points of the entry level
    assert update(c, 0.44) is Mode.NORMAL
    assert update(c, 0.91) is Mode.CRITICAL
    assert update(c, 0.87) is Mode.CRITICAL
    assert update(c, 0.84) is Mode.CONSERVE


@pytest.mark.parametrize("mode", list(Mode))
def test_a_technicians_write_is_never_dropped_in_any_mode(mode):
    shedder = LoadShedder(clock=FakeClock())
    for _ in range(50):
        assert shedder.decide(Kind.WRITE, mode).verdict is not Shed.DROP


def test_conserve_postpones_refresh_but_admits_writes_and_metadata():
    shedder = LoadShedder(clock=FakeClock())
    assert shedder.decide(Kind.READ, Mode.CONSERVE).verdict is Shed.POSTPONE
    assert shedder.decide(Kind.WRITE, Mode.CONSERVE).verdict is Shed.ADMIT
    assert shedder.decide(Kind.METADATA, Mode.CONSERVE).verdict is Shed.ADMIT


def test_critical_admits_only_writes_at_a_capped_rate():
    clock = FakeClock()
    shedder = LoadShedder(clock=clock)
    assert shedder.decide(Kind.READ, Mode.CRITICAL).verdict is Shed.DROP
    assert shedder.decide(Kind.METADATA, Mode.CRITICAL).verdict is Shed.DROP
    verdicts = [shedder.decide(Kind.WRITE, Mode.CRITICAL) for _ in range(5)]
    admitted = [d for d in verdicts if d.verdict is Shed.ADMIT]
    assert len(admitted) == 2  # the burst, then the cap
    postponed = [d for d in verdicts if d.verdict is Shed.POSTPONE]
    assert postponed and postponed[0].retry_in > 0
    clock.advance(2.0)
    assert shedder.decide(Kind.WRITE, Mode.CRITICAL).verdict is Shed.ADMIT


def test_offline_keeps_writes_queued_and_sends_nothing():
    shedder = LoadShedder(clock=FakeClock())
    assert shedder.decide(Kind.WRITE, Mode.OFFLINE).verdict is Shed.POSTPONE
    assert shedder.decide(Kind.READ, Mode.OFFLINE).verdict is Shed.DROP
