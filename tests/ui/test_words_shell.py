"""The shell's words: the first download is not "Up to date", the last sync survives a restart,
the demo title names the product once and its tour shows once, the menu tells Pause from Work
offline, the Settings dialog hides the administrators' Redis field and acts on every control,
and a start without a keyring explains itself in a window."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtWidgets import QApplication

from agent.api.facade import Agent
from agent.security.encryption import Protection
from agent.settings import Settings
from agent.store.connection import Durability
from tests.ui.conftest import Loop, Shell
from tests.ui.test_shell_mainwindow import status
from ui import app as ui_app
from ui import wording
from ui.mainwindow import MainWindow
from ui.settings_dialog import SettingsDialog
from ui.tray import Tray

PRODUCT = "Field Sync for Autotask"


def shown_title(title: str, display_name: str = PRODUCT) -> str:
    """The title as the desktop shows it (QPlatformWindow::formatWindowTitle: the display name
    is appended unless the title already ends with it)."""
    if title.endswith(display_name):
        return title
    return f"{title} — {display_name}" if title else display_name


def test_the_first_download_is_neither_up_to_date_nor_never_synced(shell: Shell, qtbot):
    st = shell.status()  # signed in, the first download not done yet
    window = MainWindow(shell.service)
    qtbot.addWidget(window)
    window.show_status(st)
    assert window.sidebar.card.title.text() != "Up to date"
    assert window.last_sync_label.text() == "First download in progress"


def test_the_last_sync_time_survives_a_restart(shell: Shell, qtbot):
    report = shell.loop.run(shell.agent.sync_now())
    assert report is not None and report.error is None
    shell.settle()
    synced_at = shell.status().last_sync_at
    assert synced_at is not None
    options = shell.agent.options
    shell.loop.run(shell.service.shutdown())
    shell.loop.run(shell.agent.close())
    again = shell.loop.run(Agent.open(options))
    try:
        st = shell.loop.run(again.status())
        assert st.last_sync_at == pytest.approx(synced_at)
        window = MainWindow(shell.service)
        qtbot.addWidget(window)
        window.show_status(st)
        assert window.last_sync_label.text().startswith("Last synced")
    finally:
        shell.loop.run(again.close())
    shell.agent = again  # the fixture closes it again: harmless


def test_the_demo_title_names_the_product_once(shell: Shell, qtbot):
    window = MainWindow(shell.service)
    qtbot.addWidget(window)
    window.show_status(status(demo=True))
    assert "Demo tenant" in window.windowTitle()
    assert shown_title(window.windowTitle()).count(PRODUCT) == 1
    window.show_status(status(demo=False))
    assert shown_title(window.windowTitle()) == PRODUCT


def test_the_demo_tour_is_due_once_per_demo_profile(shell: Shell):
    shell.agent.options.demo = True
    assert shell.agent.demo_tour_due()
    assert not shell.agent.demo_tour_due()
    shell.agent.options.demo = False
    assert not shell.agent.demo_tour_due()  # never on a real profile


def test_the_menu_says_how_pause_differs_from_work_offline(shell: Shell):
    tray = Tray(shell.service)
    try:
        pause, offline = tray.pause_action.text(), tray.offline_action.text()
        assert "restart" in pause and "(" in pause
        assert "no contact with Autotask" in offline
        assert tray.menu.toolTipsVisible() and tray.pause_action.toolTip()
    finally:
        tray.hide()
        tray.deleteLater()


def test_the_fleet_redis_url_is_hidden_unless_set_or_asked_for(shell: Shell, qtbot):
    dialog = SettingsDialog(shell.service, Settings())
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.redis_url.isVisible()
    dialog.advanced.setChecked(True)
    assert dialog.redis_url.isVisible()
    set_by_admin = SettingsDialog(shell.service, Settings(redis_url="rediss://fleet:6380/0"))
    qtbot.addWidget(set_by_admin)
    set_by_admin.show()
    assert set_by_admin.redis_url.isVisible()


def test_every_settings_control_takes_effect_at_once(shell: Shell, qtbot):
    agent = shell.agent
    assert agent.pipeline is not None
    dialog = SettingsDialog(shell.service, agent.settings)
    qtbot.addWidget(dialog)
    dialog.quota_share.setValue(20)
    dialog.durability.setCurrentIndex(dialog.durability.findData("full"))
    dialog.save()
    shell.settle()
    assert agent.pipeline.pacer.settings.share == pytest.approx(0.2)
    assert agent.store.durability is Durability.FULL


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.mark.parametrize("choice", ["quit", "continue"])
def test_a_start_without_a_keyring_explains_itself_in_a_window(
    qloop: Loop, tmp_path: Path, no_keyring: None, choice: str
):
    desktop = ui_app.Desktop(QApplication.instance(), str(tmp_path / "d"), "t", False)  # type: ignore[arg-type]
    desktop._start = _stop_at_start(desktop)  # type: ignore[method-assign]
    task = qloop.loop.create_task(desktop.run())
    qloop.until(lambda: desktop.keyring_dialog is not None or task.done())
    assert not task.done(), task.exception() if task.done() else None
    dialog = desktop.keyring_dialog
    assert dialog is not None and dialog.isVisible()
    assert "keyring" in dialog.lead.text() and "without encryption" in dialog.help.text()
    if choice == "quit":
        dialog.quit_button.click()
        assert qloop.run(asyncio.wait_for(task, 10)) == 2
        assert desktop.agent is None and not desktop.allow_unencrypted
    else:
        dialog.unencrypted_button.click()
        assert qloop.run(asyncio.wait_for(task, 10)) == 0
        assert desktop.opened is Protection.CLEAR_NO_KEYRING  # type: ignore[attr-defined]


def _stop_at_start(desktop: ui_app.Desktop):  # type: ignore[no-untyped-def]
    async def start(agent: Agent) -> None:
        desktop.opened = agent.encryption.protection  # type: ignore[attr-defined]
        desktop.quit()

    return start


def test_wording_cuts_at_a_word():
    text = "Change ticket T1: Description → " + "word " * 40
    cut = wording.cut(text, 60)
    assert len(cut) <= 60 and cut.endswith("…") and not cut[:-1].endswith("wor")
    assert wording.cut("short") == "short"
