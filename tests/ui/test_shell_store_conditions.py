"""The database's condition in the window: a profile that cannot be opened (here: its file is
immutable) is explained in a message, not a traceback; a full disk during sync shows a banner."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from pytestqt.qtbot import QtBot

from agent.profile import open_profile
from tests.store.machine import immutable
from tests.ui.conftest import Loop, Shell
from tests.ui.test_shell_mainwindow import status
from ui import app as ui_app
from ui.mainwindow import MainWindow


def test_a_profile_that_cannot_open_is_explained_in_the_window(qloop: Loop, tmp_path: Path):
    data = tmp_path / "data"
    open_profile(data, "t").close()
    database = data / "profiles" / "t" / "agent.sqlite3"
    before = sorted(p.name for p in database.parent.iterdir())
    with immutable(database):
        desktop = ui_app.Desktop(None, str(data), "t", False)  # type: ignore[arg-type]
        task = qloop.loop.create_task(desktop.run())
        qloop.until(lambda: desktop.startup_error is not None or task.done())
        assert not task.done(), task.exception() if task.done() else None
        box = desktop.startup_error
        assert box is not None and box.isVisible()
        assert "read-only" in box.text() and str(database) in box.text()
        assert "\n" not in box.text()
        box.accept()
        assert qloop.run(asyncio.wait_for(task, 5)) == 2
    assert sorted(p.name for p in database.parent.iterdir()) == before  # nothing moved


def test_the_database_condition_shows_in_its_own_banner(shell: Shell, qtbot: QtBot):
    window = MainWindow(shell.service)
    qtbot.addWidget(window)
    notice = "The disk holding /x/agent.sqlite3 is full, so the last change was not saved."
    window.show_status(dataclasses.replace(status(), store_notice=notice))
    assert not window.store_banner.isHidden() and window.store_banner.text.text() == notice
    assert window.banner.isHidden()  # the sync banner is free for what it says
    window.show_status(status(conflicts=2))
    assert window.store_banner.isHidden() and not window.banner.isHidden()
