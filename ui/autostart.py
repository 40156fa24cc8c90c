"""Start Field Sync at login: the Run key on Windows, a LaunchAgent on macOS, an XDG autostart
entry elsewhere. Each takes its location (home folder, registry module) as an argument so tests
use a temporary home and a fake registry.
"""

from __future__ import annotations

import os
import plistlib
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PureWindowsPath
from typing import Any, Protocol

APP_ID = "FieldSync"
LAUNCH_AGENT_LABEL = "com.fieldsync.agent"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
# The windowed executable of a Windows build (packaging/fieldsync.spec), and the installer's.
WINDOW_EXE = f"{APP_ID}.exe"


class Autostart(Protocol):
    location: str

    def is_enabled(self) -> bool: ...
    def enable(self) -> None: ...
    def disable(self) -> None: ...


def launch_command(
    profile: str = "default", data_dir: str | None = None, *, platform: str = sys.platform
) -> list[str]:
    """How this program is started again: the frozen executable, or this Python with `-m agent`."""
    frozen = getattr(sys, "frozen", False)
    if frozen:
        args = [window_executable(sys.executable, platform)]
    else:
        args = [sys.executable, "-m", "agent"]
    if data_dir:
        args += ["--data-dir", str(data_dir)]
    if profile != "default":
        args += ["--profile", profile]
    return args


def window_executable(executable: str, platform: str = sys.platform) -> str:
    """The frozen program that opens the window. On Windows the console companion
    (FieldSync-cli.exe, which opens a console) sits beside the windowed FieldSync.exe: a login
    entry written from the companion names FieldSync.exe instead."""
    if not platform.startswith("win"):
        return executable
    path = PureWindowsPath(executable)
    if path.suffix.lower() == ".exe" and path.stem.lower().endswith("-cli"):
        return str(path.with_name(WINDOW_EXE))
    return executable


def entry_name(profile: str) -> str:
    return APP_ID if profile == "default" else f"{APP_ID}-{profile}"


def set_enabled(autostart: Autostart, enabled: bool) -> None:
    if enabled:
        autostart.enable()
    else:
        autostart.disable()


class WindowsRunKey:
    """A value under HKCU\\...\\Run; `registry` is the `winreg` module (or a stand-in)."""

    def __init__(self, command: Sequence[str], registry: Any, name: str = APP_ID) -> None:
        self.command = list(command)
        self.registry = registry
        self.name = name
        self.location = f"HKEY_CURRENT_USER\\{RUN_KEY}\\{name}"

    def _value(self) -> str:
        return " ".join(f'"{a}"' if " " in a or not a else a for a in self.command)

    def is_enabled(self) -> bool:
        reg = self.registry
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_READ) as key:
                value, _ = reg.QueryValueEx(key, self.name)
        except OSError:
            return False
        return bool(value)

    def enable(self) -> None:
        reg = self.registry
        with reg.CreateKeyEx(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
            reg.SetValueEx(key, self.name, 0, reg.REG_SZ, self._value())

    def disable(self) -> None:
        reg = self.registry
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
                reg.DeleteValue(key, self.name)
        except FileNotFoundError:
            pass  # already off


def run_value_executable(value: str) -> str:
    """The program a Run value starts: its first argument, quoted or not."""
    value = value.strip()
    if value.startswith('"'):
        return value[1:].split('"', 1)[0]
    return value.split(maxsplit=1)[0] if value else ""


def remove_stale_entries(
    registry: Any = None,
    *,
    platform: str = sys.platform,
    exists: Callable[[str], bool] = os.path.exists,
) -> list[str]:
    """Delete this user's Field Sync Run values ("FieldSync", "FieldSync-<profile>") whose program
    is gone; the names deleted. An uninstall for all users removes the machine's value and the
    uninstalling administrator's, but cannot reach the other users' own values: each is left
    naming a deleted executable until the program, installed again and started by that user,
    removes it here. Windows only (elsewhere: nothing)."""
    if not platform.startswith("win"):
        return []
    if registry is None:
        import winreg as registry  # type: ignore[no-redef]
    reg = registry
    try:
        key = reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_READ | reg.KEY_SET_VALUE)
    except OSError:
        return []
    with key:
        values: list[tuple[str, Any]] = []
        while True:
            try:
                name, value, _kind = reg.EnumValue(key, len(values))
            except OSError:  # no more values
                break
            values.append((name, value))
        stale = [
            name
            for name, value in values
            if (name.lower() == APP_ID.lower() or name.lower().startswith(f"{APP_ID.lower()}-"))
            and isinstance(value, str)
            and run_value_executable(value)
            and not exists(run_value_executable(value))
        ]
        for name in stale:
            reg.DeleteValue(key, name)
    return stale


class MacLaunchAgent:
    """A per-user LaunchAgent plist in ~/Library/LaunchAgents that runs the app at login."""

    def __init__(self, command: Sequence[str], home: Path, label: str = LAUNCH_AGENT_LABEL) -> None:
        self.command = list(command)
        self.label = label
        self.path = home / "Library" / "LaunchAgents" / f"{label}.plist"
        self.location = str(self.path)

    def is_enabled(self) -> bool:
        return self.path.exists()

    def enable(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        plist = {
            "Label": self.label,
            "ProgramArguments": self.command,
            "RunAtLoad": True,
            "ProcessType": "Interactive",
            "LimitLoadToSessionType": "Aqua",
        }
        self.path.write_bytes(plistlib.dumps(plist))

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)


def _desktop_quote(arg: str) -> str:
    """Quote one argument for a .desktop Exec line (the XDG Desktop Entry rules)."""
    if arg and not any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`="):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'


class XdgAutostart:
    """A .desktop entry in $XDG_CONFIG_HOME/autostart (usually ~/.config/autostart)."""

    def __init__(self, command: Sequence[str], config_home: Path, name: str = APP_ID) -> None:
        self.command = list(command)
        self.path = config_home / "autostart" / f"{name.lower()}.desktop"
        self.location = str(self.path)

    def is_enabled(self) -> bool:
        if not self.path.exists():
            return False
        text = self.path.read_text(encoding="utf-8")
        return "Hidden=true" not in text and "X-GNOME-Autostart-enabled=false" not in text

    def exec_line(self) -> str:
        return " ".join(_desktop_quote(a) for a in self.command)

    def enable(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(
            "[Desktop Entry]\n"
            "Type=Application\n"
            "Name=Field Sync for Autotask\n"
            "Comment=Keep your Autotask tickets, notes and time in sync, online or not\n"
            f"Exec={self.exec_line()}\n"
            "Icon=fieldsync\n"
            "Terminal=false\n"
            "Categories=Office;Network;\n"
            "X-GNOME-Autostart-enabled=true\n",
            encoding="utf-8",
        )

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)


def for_platform(
    *,
    profile: str = "default",
    command: Sequence[str] | None = None,
    platform: str = sys.platform,
    home: Path | None = None,
    env: Mapping[str, str] | None = None,
    registry: Any = None,
) -> Autostart:
    """The autostart mechanism of `platform` (defaults: this machine)."""
    cmd = list(command) if command is not None else launch_command(profile, platform=platform)
    home = home if home is not None else Path.home()
    env = env if env is not None else os.environ
    if platform.startswith("win"):
        if registry is None:
            import winreg as registry  # type: ignore[no-redef]
        return WindowsRunKey(cmd, registry, entry_name(profile))
    if platform == "darwin":
        label = LAUNCH_AGENT_LABEL if profile == "default" else f"{LAUNCH_AGENT_LABEL}.{profile}"
        return MacLaunchAgent(cmd, home, label)
    config_home = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    return XdgAutostart(cmd, config_home, entry_name(profile))


__all__ = [
    "Autostart",
    "MacLaunchAgent",
    "WindowsRunKey",
    "XdgAutostart",
    "for_platform",
    "launch_command",
    "remove_stale_entries",
    "set_enabled",
    "window_executable",
]
