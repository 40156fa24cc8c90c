"""The running program holds the named mutex the installer's AppMutex waits on (Windows only)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent import app_mutex, cli

ROOT = Path(__file__).resolve().parents[2]
ISS = (ROOT / "packaging" / "windows" / "fieldsync.iss").read_text(encoding="utf-8")


class FakeKernel32:
    """Stands in for Windows' kernel32: records each CreateMutexExW and answers a handle (0, a
    failure, for the names in `refused`)."""

    def __init__(self, handle: int = 0x1A4, refused: tuple[str, ...] = ()) -> None:
        self.handle = handle
        self.refused = refused
        self.calls: list[tuple[Any, str, int, int]] = []

    def CreateMutexExW(self, attributes: Any, name: str, flags: int, access: int) -> int:
        self.calls.append((attributes, name, flags, access))
        return 0 if name in self.refused else self.handle + len(self.calls)


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    held = list(app_mutex._held)
    app_mutex._held.clear()
    yield
    app_mutex._held[:] = held


def test_the_installer_waits_on_both_mutexes_the_program_holds() -> None:
    defines = dict(re.findall(r'^#define (\w*AppMutex) "([^"]+)"$', ISS, flags=re.MULTILINE))
    listed = re.findall(r"^AppMutex=(.*)$", ISS, flags=re.MULTILINE)
    assert len(listed) == 1
    names = [defines[ref.strip()[2:-1]] for ref in listed[0].split(",")]
    assert names == ["FieldSyncForAutotask.Running", "Global\\FieldSyncForAutotask.Running"]
    assert tuple(names) == app_mutex.APP_MUTEXES


def test_both_mutexes_are_created_once_by_name_not_owned_and_kept() -> None:
    kernel32 = FakeKernel32()
    everyone = object()
    assert app_mutex.hold(kernel32, everyone) is True
    assert app_mutex.hold(kernel32, everyone) is True
    assert kernel32.calls == [
        (None, app_mutex.APP_MUTEX, 0, app_mutex.SYNCHRONIZE),
        (everyone, "Global\\" + app_mutex.APP_MUTEX, 0, app_mutex.SYNCHRONIZE),
    ]
    assert app_mutex._held == [kernel32.handle + 1, kernel32.handle + 2]


def test_the_global_mutex_lets_everyone_wait_on_it_and_no_more() -> None:
    aces = re.findall(r"\(A;;([^;]+);;;(\w+)\)", app_mutex.GLOBAL_SDDL)
    assert dict((sid, right) for right, sid in aces) == {
        "SY": "GA",
        "BA": "GA",
        "WD": f"0x{app_mutex.SYNCHRONIZE:08x}",
    }


def test_a_global_mutex_another_user_holds_does_not_stop_the_local_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    kernel32 = FakeKernel32(refused=(app_mutex.GLOBAL_APP_MUTEX,))
    assert app_mutex.hold(kernel32) is True
    assert app_mutex._held == [kernel32.handle + 1]
    assert "Global\\FieldSyncForAutotask.Running could not be created" in caplog.text


def test_a_mutex_that_cannot_be_created_is_logged_and_the_program_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert app_mutex.hold(FakeKernel32(refused=app_mutex.APP_MUTEXES)) is False
    assert app_mutex._held == []
    assert "running-program marker FieldSyncForAutotask.Running could not be" in caplog.text


def test_elsewhere_nothing_is_held(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_mutex.sys, "platform", "linux")
    assert app_mutex.hold() is False and app_mutex._held == []


def test_every_command_holds_the_mutex_before_it_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    kernel32 = FakeKernel32()
    monkeypatch.setattr(app_mutex, "_kernel32", lambda: kernel32)
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert [call[1] for call in kernel32.calls] == list(app_mutex.APP_MUTEXES)
    assert capsys.readouterr().out.strip()
