"""Notifications: at most one per kind per interval (on an injected clock), switchable, and fed
by the agent's events through the tray."""

from __future__ import annotations

from agent.settings import Settings
from tests.ui.conftest import Shell
from ui.notifications import Notifier
from ui.tray import Tray


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make(clock: Clock, **kw: object) -> tuple[Notifier, list[tuple[str, str, str]]]:
    shown: list[tuple[str, str, str]] = []
    notifier = Notifier(lambda *m: shown.append(m), clock=clock, min_interval_s=300, **kw)
    return notifier, shown


def test_a_burst_of_one_kind_shows_one_notification():
    clock = Clock()
    notifier, shown = make(clock)
    for _ in range(5):
        notifier.post("conflict", "Conflict", "Choose a value")
        clock.t += 10
    assert len(shown) == 1


def test_the_same_kind_shows_again_after_the_interval():
    clock = Clock()
    notifier, shown = make(clock)
    assert notifier.post("conflict", "Conflict", "a")
    clock.t += 299
    assert not notifier.post("conflict", "Conflict", "b")
    clock.t += 1
    assert notifier.post("conflict", "Conflict", "c")
    assert [m[2] for m in shown] == ["a", "c"]


def test_kinds_are_limited_independently():
    clock = Clock()
    notifier, shown = make(clock)
    for kind in ("conflict", "attention", "credentials", "online"):
        assert notifier.post(kind, kind, "")
    assert [m[0] for m in shown] == ["conflict", "attention", "credentials", "online"]


def test_switched_off_shows_nothing_and_does_not_use_up_the_interval():
    clock = Clock()
    notifier, shown = make(clock, enabled=False)
    assert not notifier.post("online", "Back online", "")
    notifier.enabled = True
    assert notifier.post("online", "Back online", "")
    assert len(shown) == 1


def test_forget_lets_the_next_one_through_at_once():
    clock = Clock()
    notifier, _ = make(clock)
    notifier.post("attention", "Needs attention", "")
    notifier.forget("attention")
    assert notifier.post("attention", "Needs attention", "")


def test_agent_events_reach_the_tray_rate_limited(shell: Shell):
    clock = Clock()
    notifier, shown = make(clock)
    tray = Tray(shell.service, notifier)
    notifier.sink = lambda *m: shown.append(m)  # the tray's balloon, observed
    shell.agent._emit("credentials_rejected")
    shell.agent._emit("credentials_rejected")
    shell.agent._emit("back_online")
    shell.settle()
    assert [m[0] for m in shown] == ["credentials", "online"]
    tray.hide()


def test_the_notifications_setting_switches_the_tray_notifier(shell: Shell):
    notifier = Notifier(lambda *m: None)
    tray = Tray(shell.service, notifier)
    shell.service.update_settings({"notifications": False})
    shell.settle()
    assert notifier.enabled is False
    assert not notifier.post("conflict", "Conflict", "")
    shell.service.settingsChanged.emit(Settings(notifications=True))
    assert notifier.enabled is True
    tray.hide()
