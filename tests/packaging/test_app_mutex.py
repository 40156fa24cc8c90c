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
    """Stands in for Windows' kernel32: records each CreateMutexW and answers a handle."""

    def __init__(self, handle: int = 0x1A4) -> None:
        self.handle = handle
        self.calls: list[tuple[Any, bool, str]] = []

    def CreateMutexW(self, attributes: Any, owned: bool, name: str) -> int:
        self.calls.append((attributes, owned, name))
        return self.handle


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    held = list(app_mutex._held)
    app_mutex._held.clear()
    yield
    app_mutex._held[:] = held


def test_the_installer_waits_on_the_mutex_the_program_holds() -> None:
    defined = re.findall(r'^#define AppMutex "([^"]+)"$', ISS, flags=re.MULTILINE)
    assert defined == [app_mutex.APP_MUTEX]
    assert re.findall(r"^AppMutex=(.*)$", ISS, flags=re.MULTILINE) == ["{#AppMutex}"]


def test_the_mutex_is_created_once_by_name_not_owned_and_kept() -> None:
    kernel32 = FakeKernel32()
    assert app_mutex.hold(kernel32) is True
    assert app_mutex.hold(kernel32) is True
    assert kernel32.calls == [(None, False, app_mutex.APP_MUTEX)]
    assert app_mutex._held == [kernel32.handle]


def test_a_mutex_that_cannot_be_created_is_logged_and_the_program_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert app_mutex.hold(FakeKernel32(handle=0)) is False
    assert app_mutex._held == []
    assert "running-program marker could not be created" in caplog.text


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
    assert kernel32.calls == [(None, False, app_mutex.APP_MUTEX)]
    assert capsys.readouterr().out.strip()
