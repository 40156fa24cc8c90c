"""One instance per data folder and profile: a second launch brings the first forward and exits."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtNetwork import QLocalServer

from tests.ui.conftest import Shell
from ui import app as ui_app
from ui.mainwindow import MainWindow
from ui.single_instance import SingleInstance, ask_running_instance, claim, server_name


def test_names_differ_by_data_folder_and_profile(tmp_path: Path):
    a = server_name(tmp_path / "a", "default")
    assert a == server_name(tmp_path / "a", "default")
    assert a != server_name(tmp_path / "b", "default")
    assert a != server_name(tmp_path / "a", "work")


def test_no_running_instance_means_nobody_answers(tmp_path: Path):
    assert not ask_running_instance(server_name(tmp_path, "nobody"), timeout_ms=100)


def test_a_second_launch_asks_the_first_to_show_itself(tmp_path: Path, qtbot):
    name = server_name(tmp_path, "default")
    first = SingleInstance(name)
    assert first.listen()
    with qtbot.waitSignal(first.activated, timeout=3000):
        assert ask_running_instance(name)
    first.close()


def test_the_first_brings_its_window_forward(shell: Shell, qtbot):
    window = MainWindow(shell.service, pages=[])
    qtbot.addWidget(window)
    instance = claim(server_name(shell.data_dir, "default"), window.bring_forward)
    assert instance is not None and not window.isVisible()
    assert claim(instance.name, lambda: None) is None  # the second one defers
    qtbot.waitUntil(window.isVisible, timeout=3000)
    instance.close()


def test_run_app_exits_zero_when_another_instance_runs(tmp_path: Path, qtbot):
    name = server_name(str(tmp_path), "default")
    first = SingleInstance(name)
    first.listen()
    with qtbot.waitSignal(first.activated, timeout=3000):
        assert ui_app.run_app(str(tmp_path), "default") == 0
    assert not (tmp_path / "profiles").exists()  # the second launch never opened the profile
    first.close()


def test_a_stale_socket_from_a_crash_does_not_block_start(tmp_path: Path):
    name = server_name(tmp_path, "crashed")
    QLocalServer.removeServer(name)
    stale = QLocalServer()
    stale.listen(name)
    stale.close()  # leaves nothing listening
    instance = SingleInstance(name)
    assert instance.listen()
    instance.close()
