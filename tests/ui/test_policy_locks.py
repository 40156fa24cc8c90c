"""The window under an administrator's policy: the settings it sets are shown locked, saying so
(and where they were set), and are never saved from the dialog; the sign-in dialog asks only
for what the policy does not give, down to the technician's e-mail alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME
from tests.config.helpers import use_policy, write_policy
from tests.ui.conftest import Loop, Shell, _open
from ui.service import AgentService
from ui.settings_dialog import LOCKED_NOTE, SettingsDialog
from ui.signin import SignInDialog


def _shell(qloop: Loop, tmp_path: Path, **overrides: object) -> Iterator[Shell]:
    sim, agent, clock = _open(qloop, tmp_path, **overrides)
    service = AgentService(agent)
    try:
        yield Shell(sim, agent, service, clock, tmp_path, qloop)
    finally:
        qloop.run(service.shutdown())
        qloop.run(agent.close())


@pytest.fixture
def policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_policy(
        tmp_path / "etc" / "policy.json",
        {
            "sync_interval_s": 600,
            "quota_share": 0.2,
            "redis_url": "rediss://redis.office.example:6380/0",
            "api_user": DEMO_USERNAME,
            "api_secret": DEMO_SECRET,
            "integration_code": DEMO_INTEGRATION_CODE,
        },
    )
    use_policy(monkeypatch, [path])
    return path


@pytest.fixture
def managed_shell(qloop: Loop, tmp_path: Path, policy: Path) -> Iterator[Shell]:
    yield from _shell(qloop, tmp_path)


@pytest.fixture
def managed_signed_out(qloop: Loop, tmp_path: Path, policy: Path) -> Iterator[Shell]:
    yield from _shell(qloop, tmp_path, credentials=None, technician_resource_id=None)


def test_settings_the_policy_sets_are_locked_and_say_so(
    managed_shell: Shell, policy: Path, qtbot
) -> None:
    settings = managed_shell.agent.settings
    dialog = SettingsDialog(managed_shell.service, settings)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.interval.value() == 600 and dialog.quota_share.value() == 20
    assert dialog.redis_url.text() == "rediss://redis.office.example:6380/0"
    for name, control in (
        ("sync_interval_s", dialog.interval),
        ("quota_share", dialog.quota_share),
        ("redis_url", dialog.redis_url),
    ):
        assert not control.isEnabled(), name
        assert LOCKED_NOTE in control.toolTip() and str(policy) in control.toolTip()
        assert dialog.lock_notes[name].isVisible()
    assert dialog.notifications.isEnabled() and not dialog.durability.isHidden()
    assert "notifications" not in dialog.lock_notes


def test_saving_leaves_the_locked_settings_alone(managed_shell: Shell, qtbot) -> None:
    dialog = SettingsDialog(managed_shell.service, managed_shell.agent.settings)
    qtbot.addWidget(dialog)
    dialog.interval.setValue(30)  # cannot happen by hand (disabled); the dialog still ignores it
    dialog.notifications.setChecked(False)
    assert dialog.changes() == {"notifications": False}
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        dialog.save_button.click()
        managed_shell.settle()
    stored = managed_shell.loop.run(asyncio.to_thread(lambda: managed_shell.agent.settings))
    assert stored.notifications is False and stored.sync_interval_s == 600


def test_without_a_policy_nothing_is_locked(shell: Shell, qtbot) -> None:
    dialog = SettingsDialog(shell.service, shell.agent.settings)
    qtbot.addWidget(dialog)
    assert dialog.lock_notes == {} and dialog.interval.isEnabled()
    assert dialog.quota_share.isEnabled() and dialog.redis_url.isEnabled()


def test_sign_in_asks_only_for_the_e_mail_when_the_policy_gives_the_rest(
    managed_signed_out: Shell, qtbot
) -> None:
    shell = managed_signed_out
    dialog = SignInDialog(shell.service)
    qtbot.addWidget(dialog)
    dialog.show()
    for field in (dialog.username, dialog.secret, dialog.integration_code):
        assert not field.isVisible()
    assert dialog.email.isVisible()
    dialog.hide()  # shown only to see which fields are; the sign-in runs as in the other tests
    assert not dialog.sign_in_button.isEnabled() and dialog.test_button.isEnabled()
    resource = shell.sim.tenant.records["Resources"][shell.sim.technician_resource_id]
    dialog.email.setText(str(resource["email"]))
    assert dialog.sign_in_button.isEnabled()
    with qtbot.waitSignal(dialog.signedIn, timeout=5000):
        dialog.sign_in_button.click()
        shell.settle()
    assert shell.status().signed_in
    assert shell.agent.settings.technician_resource_id == shell.sim.technician_resource_id
