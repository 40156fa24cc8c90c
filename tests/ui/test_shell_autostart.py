"""Start at login on each platform, against a temporary home and a stand-in registry."""

from __future__ import annotations

import plistlib
from pathlib import Path
from typing import Any

import pytest

from ui import autostart
from ui.autostart import MacLaunchAgent, WindowsRunKey, XdgAutostart

COMMAND = ["/opt/Field Sync/fieldsync", "--profile", "work"]


class FakeRegistry:
    """The part of `winreg` the Run key uses, over a dict of key path -> {name: value}."""

    HKEY_CURRENT_USER = "HKCU"
    KEY_READ = 1
    KEY_SET_VALUE = 2
    REG_SZ = 1

    def __init__(self) -> None:
        self.keys: dict[str, dict[str, tuple[int, str]]] = {}

    class _Key:
        def __init__(self, values: dict[str, tuple[int, str]]) -> None:
            self.values = values

        def __enter__(self) -> FakeRegistry._Key:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

    def OpenKey(self, root: str, path: str, reserved: int = 0, access: int = 1) -> Any:
        if f"{root}\\{path}" not in self.keys:
            raise FileNotFoundError(path)
        return self._Key(self.keys[f"{root}\\{path}"])

    def CreateKeyEx(self, root: str, path: str, reserved: int = 0, access: int = 2) -> Any:
        return self._Key(self.keys.setdefault(f"{root}\\{path}", {}))

    def QueryValueEx(self, key: Any, name: str) -> tuple[str, int]:
        if name not in key.values:
            raise FileNotFoundError(name)
        kind, value = key.values[name]
        return value, kind

    def SetValueEx(self, key: Any, name: str, reserved: int, kind: int, value: str) -> None:
        key.values[name] = (kind, value)

    def DeleteValue(self, key: Any, name: str) -> None:
        if name not in key.values:
            raise FileNotFoundError(name)
        del key.values[name]

    def EnumValue(self, key: Any, index: int) -> tuple[str, str, int]:
        items = list(key.values.items())
        if index >= len(items):
            raise OSError(259, "No more data is available")
        name, (kind, value) = items[index]
        return name, value, kind


def test_xdg_entry_is_written_with_a_quoted_exec_line_and_removed(tmp_path: Path):
    entry = XdgAutostart(COMMAND, tmp_path / ".config")
    assert not entry.is_enabled()
    entry.enable()
    text = (tmp_path / ".config" / "autostart" / "fieldsync.desktop").read_text()
    assert "[Desktop Entry]" in text and "Type=Application" in text
    assert 'Exec="/opt/Field Sync/fieldsync" --profile work' in text
    assert entry.is_enabled()
    entry.disable()
    assert not entry.is_enabled() and not entry.path.exists()
    entry.disable()  # turning off twice is fine


def test_xdg_entry_disabled_by_the_desktop_counts_as_off(tmp_path: Path):
    entry = XdgAutostart(COMMAND, tmp_path)
    entry.enable()
    entry.path.write_text(entry.path.read_text() + "Hidden=true\n")
    assert not entry.is_enabled()


def test_mac_launch_agent_runs_the_program_at_load(tmp_path: Path):
    agent = MacLaunchAgent(COMMAND, tmp_path)
    agent.enable()
    path = tmp_path / "Library" / "LaunchAgents" / "com.fieldsync.agent.plist"
    plist = plistlib.loads(path.read_bytes())
    assert plist["ProgramArguments"] == COMMAND
    assert plist["RunAtLoad"] is True and plist["Label"] == "com.fieldsync.agent"
    assert agent.is_enabled()
    agent.disable()
    assert not path.exists() and not agent.is_enabled()


def test_windows_run_key_holds_the_quoted_command(tmp_path: Path):
    registry = FakeRegistry()
    run = WindowsRunKey(COMMAND, registry, "FieldSync")
    assert not run.is_enabled()
    run.enable()
    values = registry.keys["HKCU\\" + autostart.RUN_KEY]
    assert values["FieldSync"] == (1, '"/opt/Field Sync/fieldsync" --profile work')
    assert run.is_enabled()
    run.disable()
    assert "FieldSync" not in values and not run.is_enabled()
    run.disable()


@pytest.mark.parametrize(
    ("platform", "kind"),
    [("win32", WindowsRunKey), ("darwin", MacLaunchAgent), ("linux", XdgAutostart)],
)
def test_each_platform_gets_its_own_mechanism(tmp_path: Path, platform: str, kind: type):
    chosen = autostart.for_platform(
        platform=platform, home=tmp_path, env={}, registry=FakeRegistry(), command=COMMAND
    )
    assert isinstance(chosen, kind)


def test_xdg_config_home_is_respected_and_profiles_get_their_own_entry(tmp_path: Path):
    chosen = autostart.for_platform(
        profile="work",
        platform="linux",
        home=tmp_path / "home",
        env={"XDG_CONFIG_HOME": str(tmp_path / "cfg")},
        command=COMMAND,
    )
    chosen.enable()
    assert (tmp_path / "cfg" / "autostart" / "fieldsync-work.desktop").exists()


def test_launch_command_restarts_this_program_with_its_profile():
    command = autostart.launch_command("work", "/data")
    assert command[1:3] == ["-m", "agent"]
    assert command[-4:] == ["--data-dir", "/data", "--profile", "work"]


FOLDER = r"C:\Users\Ann Lee\AppData\Local\Programs\FieldSync"


@pytest.mark.parametrize(
    ("started_from", "login_runs"),
    [
        (FOLDER + r"\FieldSync-cli.exe", FOLDER + r"\FieldSync.exe"),
        (FOLDER + r"\FieldSync.exe", FOLDER + r"\FieldSync.exe"),
        (r"D:\FIELDSYNC\FIELDSYNC-CLI.EXE", r"D:\FIELDSYNC\FieldSync.exe"),
    ],
)
def test_a_frozen_windows_build_starts_the_window_at_login_even_from_its_console_companion(
    started_from: str, login_runs: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`FieldSync-cli settings set start_at_login true`, or the window started from it."""
    monkeypatch.setattr(autostart.sys, "frozen", True, raising=False)
    monkeypatch.setattr(autostart.sys, "executable", started_from)
    registry = FakeRegistry()
    entry = autostart.for_platform(
        profile="site-b", platform="win32", registry=registry, home=tmp_path
    )
    entry.enable()
    _, value = registry.keys[f"HKCU\\{autostart.RUN_KEY}"]["FieldSync-site-b"]
    quoted = f'"{login_runs}"' if " " in login_runs else login_runs
    assert value == f"{quoted} --profile site-b"


def test_only_windows_builds_have_a_console_companion_to_map() -> None:
    assert autostart.window_executable("/opt/FieldSync/FieldSync-cli", "linux").endswith("-cli")
    macos = "/Applications/FieldSync.app/Contents/MacOS/FieldSync"
    assert autostart.window_executable(macos, "darwin") == macos
    assert (
        autostart.window_executable(r"D:\tools\other-cli.com", "win32") == r"D:\tools\other-cli.com"
    )


def test_the_window_makes_the_login_entry_follow_the_setting(signed_out_shell, tmp_path):  # type: ignore[no-untyped-def]
    """`settings set start_at_login true` on the command line takes effect at the next start."""
    from ui import app as ui_app
    from ui import autostart

    agent = signed_out_shell.agent
    desktop = ui_app.Desktop(None, None, "default", False)  # type: ignore[arg-type]
    entry = autostart.for_platform(profile="default")
    assert not entry.is_enabled()
    signed_out_shell.loop.run(agent.update_settings(start_at_login=True))
    assert desktop.follow_start_at_login(agent) and entry.is_enabled()
    assert str(tmp_path) in entry.location  # the test's home, never the user's
    assert not desktop.follow_start_at_login(agent)  # already so: nothing to do
    signed_out_shell.loop.run(agent.update_settings(start_at_login=False))
    assert desktop.follow_start_at_login(agent) and not entry.is_enabled()


def test_run_values_naming_a_removed_program_are_deleted_and_others_kept(tmp_path: Path) -> None:
    installed = tmp_path / "Programs" / "FieldSync" / "FieldSync.exe"
    installed.parent.mkdir(parents=True)
    installed.write_bytes(b"MZ")
    gone = tmp_path / "Program Files" / "FieldSync" / "FieldSync.exe"
    registry = FakeRegistry()
    registry.keys[f"HKCU\\{autostart.RUN_KEY}"] = {
        "FieldSync": (1, f'"{gone}"'),
        "FieldSync-work": (1, f'"{gone}" --profile work'),
        "FieldSync-home": (1, f'"{installed}" --profile home'),
        "fieldsync-old": (1, str(tmp_path / "old" / "FieldSync.exe") + " --profile old"),
        "OneDrive": (1, f'"{gone.with_name("OneDrive.exe")}" /background'),
    }
    removed = autostart.remove_stale_entries(registry, platform="win32")
    assert sorted(removed) == ["FieldSync", "FieldSync-work", "fieldsync-old"]
    left = registry.keys[f"HKCU\\{autostart.RUN_KEY}"]
    assert sorted(left) == ["FieldSync-home", "OneDrive"], "another program's value is not ours"
    assert autostart.remove_stale_entries(registry, platform="win32") == []


def test_stale_entries_are_a_windows_matter_and_a_missing_run_key_is_none() -> None:
    assert autostart.remove_stale_entries(FakeRegistry(), platform="win32") == []
    assert autostart.remove_stale_entries(object(), platform="linux") == []


@pytest.mark.parametrize(
    ("value", "program"),
    [
        (
            '"C:\\Program Files\\FieldSync\\FieldSync.exe" --profile work',
            "C:\\Program Files\\FieldSync\\FieldSync.exe",
        ),
        ("C:\\FS\\FieldSync.exe --profile work", "C:\\FS\\FieldSync.exe"),
        ("  ", ""),
    ],
)
def test_the_program_of_a_run_value(value: str, program: str) -> None:
    assert autostart.run_value_executable(value) == program
