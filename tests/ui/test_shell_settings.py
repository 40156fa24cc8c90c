"""The settings dialog: validation, saving through the agent, start at login, signing out."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PySide6.QtWidgets import QCheckBox

from agent.settings import Settings
from tests.ui.conftest import Shell
from ui.autostart import XdgAutostart
from ui.settings_dialog import SettingsDialog, redis_url_problem


@pytest.fixture
def dialog(shell: Shell, tmp_path: Path, qtbot) -> SettingsDialog:
    autostart = XdgAutostart(["fieldsync"], tmp_path / "config")
    dialog = SettingsDialog(shell.service, Settings(), autostart)
    qtbot.addWidget(dialog)
    return dialog


def saved(shell: Shell) -> Settings:
    return shell.loop.run(asyncio.to_thread(lambda: shell.agent.settings))


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("", True),
        ("rediss://fleet.example:6379/0", True),
        ("rediss://user:pw@fleet.example/1", True),
        ("unix:///run/redis.sock", True),
        ("http://fleet.example", False),
        ("redis://fleet.example:6379/0", False),  # off this computer: TLS only
        ("redis://127.0.0.1:6379/0", True),
        ("redis://", False),
        ("redis://host:notaport", False),
    ],
)
def test_redis_urls_are_checked(url: str, ok: bool):
    assert (redis_url_problem(url) is None) == ok


def test_a_bad_redis_url_blocks_saving_with_a_message(dialog: SettingsDialog):
    dialog.redis_url.setText("http://fleet.example")
    assert not dialog.save_button.isEnabled()
    assert "redis://" in dialog.error.text() and not dialog.error.isHidden()
    dialog.redis_url.setText("rediss://fleet.example:6379/0")
    assert dialog.save_button.isEnabled() and dialog.error.isHidden()


def test_plain_redis_to_another_computer_is_refused_before_saving(dialog: SettingsDialog):
    dialog.redis_url.setText("redis://:pw@fleet.example:6379/0")
    assert not dialog.save_button.isEnabled() and "rediss://" in dialog.error.text()


def test_a_redis_password_typed_here_is_kept_in_the_keyring(
    shell: Shell, dialog: SettingsDialog, qtbot
):
    import keyring

    dialog.redis_url.setText("rediss://fleet:typed-pw-123@fleet.example:6380/0")
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        dialog.save_button.click()
        shell.settle()
    assert saved(shell).redis_url == "rediss://fleet@fleet.example:6380/0"
    service = shell.agent.profile.credentials.service
    assert keyring.get_password(service, "redis_password") == "typed-pw-123"
    db = shell.agent.profile.paths.database
    files = [p for p in db.parent.iterdir() if p.name.startswith(db.name)]  # with -wal, -shm
    assert files and all(b"typed-pw-123" not in p.read_bytes() for p in files)


def test_the_dialog_shows_the_current_settings(shell: Shell, tmp_path: Path, qtbot):
    current = Settings(sync_interval_s=300, quota_share=0.25, durability="full", work_offline=True)
    dialog = SettingsDialog(shell.service, current)
    qtbot.addWidget(dialog)
    assert dialog.interval.value() == 300
    assert dialog.quota_share.value() == 25
    assert dialog.durability.currentData() == "full"
    assert dialog.work_offline.isChecked()
    assert dialog.changes() == {}


def test_saving_keeps_the_changes_in_the_agent(shell: Shell, dialog: SettingsDialog, qtbot):
    dialog.interval.setValue(120)
    dialog.notifications.setChecked(False)
    dialog.quota_share.setValue(30)
    dialog.redis_url.setText("rediss://fleet.example:6379/0")
    dialog.durability.setCurrentIndex(dialog.durability.findData("full"))
    assert set(dialog.changes()) == {
        "sync_interval_s",
        "notifications",
        "quota_share",
        "redis_url",
        "durability",
    }
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        dialog.save_button.click()
        shell.settle()
    stored = saved(shell)
    assert stored.sync_interval_s == 120 and stored.notifications is False
    assert stored.quota_share == 0.3 and stored.redis_url == "rediss://fleet.example:6379/0"
    assert stored.durability == "full"
    assert shell.service.settings == stored
    assert dialog.result() == dialog.DialogCode.Accepted


def test_start_at_login_writes_and_removes_the_autostart_entry(
    shell: Shell, dialog: SettingsDialog, qtbot
):
    assert dialog.autostart is not None
    dialog.start_at_login.setChecked(True)
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        dialog.save()
        shell.settle()
    assert dialog.autostart.is_enabled() and saved(shell).start_at_login
    dialog.start_at_login.setChecked(False)
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        dialog.save()
        shell.settle()
    assert not dialog.autostart.is_enabled() and not saved(shell).start_at_login


def test_a_setting_the_agent_refuses_is_shown_and_nothing_is_saved(
    shell: Shell, dialog: SettingsDialog
):
    dialog.initial = Settings(sync_interval_s=999)  # makes the spin box value a change
    dialog.interval.setMaximum(100_000)
    dialog.interval.setValue(50_000)  # beyond the agent's limit of 3600
    dialog.save()
    shell.settle()
    assert "sync_interval_s" in dialog.error.text()
    assert saved(shell).sync_interval_s == 60
    assert dialog.save_button.isEnabled()


def test_sign_out_asks_first_and_can_remove_local_data(shell: Shell, dialog, qtbot):
    shell.loop.run(shell.agent.sync_now())
    assert shell.loop.run(shell.agent.my_tickets())
    dialog.sign_out_button.click()
    confirm = dialog.sign_out_dialog
    assert confirm is not None and confirm.isVisible()
    assert shell.status().signed_in  # nothing happens before the confirmation
    confirm.wipe.setChecked(True)
    with qtbot.waitSignal(dialog.signedOut, timeout=5000) as signal:
        confirm.confirm.click()
        shell.settle()
    assert signal.args == [True]
    assert not shell.status().signed_in
    assert not shell.loop.run(shell.agent.my_tickets())


def test_cancelling_sign_out_keeps_the_session(shell: Shell, dialog: SettingsDialog):
    dialog.sign_out_button.click()
    assert dialog.sign_out_dialog is not None
    dialog.sign_out_dialog.reject()
    shell.settle()
    assert shell.status().signed_in


def test_the_dialog_offers_no_setting_that_nothing_acts_on(dialog: SettingsDialog):
    """The demo tenant is started with --demo; a checkbox saving `demo_mode` onto a real profile
    only ever switched off its encryption."""
    assert not hasattr(dialog, "demo_mode")
    assert "demo_mode" not in dialog.values()
    texts = [w.text() for w in dialog.findChildren(QCheckBox)]
    assert not any("demo" in t.lower() for t in texts)
