"""`--self-test` from source: it passes on a working install, reports failures, spares user data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agent.credentials import InProcessKeyring
from agent.selftest import CheckFailed, HurriedClock, run_self_test

ROOT = Path(__file__).resolve().parents[2]


def test_self_test_passes_from_source_and_leaves_the_users_data_alone(tmp_path: Path) -> None:
    user_data = tmp_path / "user-data"
    env = {**os.environ, "FIELD_SYNC_DATA_DIR": str(user_data), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-m", "agent", "--self-test"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, "the summary is one line of JSON"
    summary = json.loads(lines[0])
    assert summary["ok"] is True and summary["frozen"] is False
    checks = summary["checks"]
    assert set(checks) == {"sync", "keyring", "qt"}
    assert all(c["ok"] for c in checks.values())
    assert checks["sync"]["tickets"] > 0 and checks["sync"]["edited_ticket"] > 0
    assert checks["keyring"]["backend"]
    assert checks["qt"]["ui_modules"] >= 10
    assert not user_data.exists(), "the self-test works in a temporary folder only"


def test_a_failing_check_is_reported_and_the_others_still_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    folders: list[Path] = []

    def broken(folder: Path) -> dict[str, Any]:
        folders.append(folder)
        raise CheckFailed("the SVG image format plugin is missing")

    def fine(folder: Path) -> dict[str, Any]:
        folders.append(folder)
        assert folder.is_dir()
        return {"detail": 1}

    code = run_self_test([("qt", broken), ("other", fine)])
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert code == 1 and summary["ok"] is False
    assert summary["checks"]["qt"]["ok"] is False
    assert "SVG image format plugin" in summary["checks"]["qt"]["error"]
    assert summary["checks"]["other"] == {
        "ok": True,
        "detail": 1,
        "ms": summary["checks"]["other"]["ms"],
    }
    assert "self-test failed: qt: CheckFailed: the SVG image format plugin is missing" in err
    assert len(set(folders)) == 2 and not any(f.exists() for f in folders), "fresh, then removed"


async def test_hurried_clock_skips_waits_but_keeps_real_time() -> None:
    clock = HurriedClock()
    wall, mono = clock.now(), clock.monotonic()
    started = time.perf_counter()
    await clock.sleep(3600)
    assert time.perf_counter() - started < 60.0  # not the hour it was asked to wait
    assert clock.monotonic() - mono >= 3600
    assert (clock.now() - wall).total_seconds() >= 3600


def _keyring_entries() -> dict[tuple[str, str], str]:
    import keyring

    return dict(keyring.get_keyring()._values)  # the test's in-memory keyring


def test_the_sync_check_leaves_nothing_in_the_keyring(capsys: pytest.CaptureFixture[str]) -> None:
    from agent.selftest import CHECKS

    assert run_self_test([c for c in CHECKS if c[0] == "sync"]) == 0, capsys.readouterr().err
    assert _keyring_entries() == {}


def test_a_failing_sync_check_leaves_nothing_in_the_keyring(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.api.facade import Agent
    from agent.selftest import CHECKS

    async def broken(self: Agent) -> None:
        raise RuntimeError("the network went away")

    monkeypatch.setattr(Agent, "sync_now", broken)
    assert run_self_test([c for c in CHECKS if c[0] == "sync"]) == 1
    assert "the network went away" in capsys.readouterr().err
    assert _keyring_entries() == {}


class _LostKeyring:
    """A system keyring whose bridge is missing from the build, as keyring's own backends say."""

    @property
    def priority(self) -> float:
        raise RuntimeError("Requires Windows and pywin32 or win32ctypes")


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_on_windows_and_macos_the_keyring_check_needs_the_systems_own_keyring(
    platform: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent import selftest

    monkeypatch.setattr(selftest.sys, "platform", platform)
    monkeypatch.setitem(selftest.NATIVE_KEYRING, platform, (__name__, "lost_keyring"))
    expected = rf"the system keyring {__name__}\.lost_keyring cannot be used: Requires Windows"
    with pytest.raises(CheckFailed, match=expected):
        selftest.check_keyring()


lost_keyring = _LostKeyring()


class _SystemKeyring:
    priority = 5  # a system keyring that works


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_on_windows_and_macos_a_keyring_that_keeps_nothing_fails_the_check(
    platform: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring
    from keyring.backends import fail

    from agent import selftest

    monkeypatch.setattr(selftest.sys, "platform", platform)
    monkeypatch.setitem(selftest.NATIVE_KEYRING, platform, (__name__, "_SystemKeyring"))
    assert selftest.check_keyring()["usable"] is True  # the test's in-memory keyring
    keyring.set_keyring(fail.Keyring())  # the fixture puts the previous one back
    with pytest.raises(CheckFailed, match=r"keyring chose keyring\.backends\.fail\.Keyring"):
        selftest.check_keyring()


def test_on_linux_a_keyring_is_not_required(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backends import fail

    from agent import selftest

    monkeypatch.setattr(selftest.sys, "platform", "linux")
    keyring.set_keyring(fail.Keyring())
    assert selftest.check_keyring() == {"backend": "keyring.backends.fail.Keyring", "usable": False}


class _RefusingKeyring(InProcessKeyring):
    """A keyring that is there but will not store (access denied, a locked store)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        from keyring.errors import PasswordSetError

        raise PasswordSetError("access denied")


class _ForgetfulKeyring(InProcessKeyring):
    """A keyring that accepts a secret and keeps nothing."""

    def set_password(self, service: str, username: str, password: str) -> None:
        pass


class _StickyKeyring(InProcessKeyring):
    """A keyring whose entries cannot be deleted."""

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        raise PasswordDeleteError("in use")


@pytest.mark.parametrize("platform", ["win32", "darwin", "linux"])
@pytest.mark.parametrize(
    ("keyring_class", "error"),
    [
        (_RefusingKeyring, r"cannot keep a secret: access denied"),
        (_ForgetfulKeyring, r"did not give back the secret it was given"),
        (_StickyKeyring, r"kept the self-test's secret after its deletion"),
    ],
)
def test_a_keyring_that_does_not_keep_a_secret_fails_the_check(
    platform: str,
    keyring_class: type[InProcessKeyring],
    error: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import keyring

    from agent import selftest

    monkeypatch.setattr(selftest.sys, "platform", platform)
    monkeypatch.setitem(selftest.NATIVE_KEYRING, platform, (__name__, "_SystemKeyring"))
    keyring.set_keyring(keyring_class())  # the fixture puts the previous one back
    with pytest.raises(CheckFailed, match=error):
        selftest.check_keyring()


class _WatchedKeyring(InProcessKeyring):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, str]] = []

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls.append(("set", service, username))
        super().set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self.calls.append(("delete", service, username))
        super().delete_password(service, username)


@pytest.mark.parametrize("platform", ["win32", "darwin", "linux"])
def test_the_keyring_check_stores_reads_back_and_deletes_a_secret_of_its_own(
    platform: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring

    from agent import selftest

    monkeypatch.setattr(selftest.sys, "platform", platform)
    monkeypatch.setitem(selftest.NATIVE_KEYRING, platform, (__name__, "_SystemKeyring"))
    watched = _WatchedKeyring()
    keyring.set_keyring(watched)
    assert selftest.check_keyring()["usable"] is True
    assert [c[:2] for c in watched.calls] == [
        ("set", selftest.SELF_TEST_SERVICE),
        ("delete", selftest.SELF_TEST_SERVICE),
    ]
    assert watched.calls[0][2] == watched.calls[1][2], "the entry it made is the one it deleted"
    assert watched._values == {}, "nothing is left in the keyring"
