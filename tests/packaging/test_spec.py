"""What the PyInstaller spec builds on each system, and the macOS floor it states.

Windows and macOS builds cannot run here, so the spec itself is run with PyInstaller's build
steps recorded instead of carried out, once as each system: what it would build is then checked.
The macOS floor is compared with the platform tags of the pinned PySide6's wheels, as recorded
from the package index in packaging/macos/pyside6-wheels.json (the tests never reach the network;
`python packaging/macos/wheel_floor.py check` asks the index, and the release workflow runs it).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet

from agent import __version__

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "packaging" / "fieldsync.spec"
TABLE = json.loads((ROOT / "packaging" / "macos" / "pyside6-wheels.json").read_text())


def _load_wheel_floor() -> Any:
    spec = importlib.util.spec_from_file_location(
        "wheel_floor", ROOT / "packaging" / "macos" / "wheel_floor.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wheel_floor = _load_wheel_floor()


class Built:
    """What the spec asked PyInstaller to build."""

    def __init__(self) -> None:
        self.exes: list[dict[str, Any]] = []
        self.collect: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        self.bundle: dict[str, Any] | None = None


class FakeAnalysis:
    def __init__(self, scripts: list[str], **options: Any) -> None:
        self.scripts, self.options = scripts, options
        self.binaries: list[tuple[str, str, str]] = []
        self.datas: list[tuple[str, str, str]] = []
        self.pure: list[Any] = []


def _record(kind: str) -> Any:
    def make(*args: Any, **kwargs: Any) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        return (kind, args, kwargs)

    return make


def _strings(node: Any) -> dict[str, str]:
    """The StringStruct pairs anywhere in a recorded version resource."""
    found: dict[str, str] = {}
    if isinstance(node, tuple) and node and node[0] == "StringStruct":
        key, value = node[1]
        found[key] = value
    elif isinstance(node, tuple | list):
        for child in node:
            found.update(_strings(child))
    elif isinstance(node, dict):
        for child in node.values():
            found.update(_strings(child))
    return found


def build_as(platform: str, monkeypatch: pytest.MonkeyPatch) -> Built:
    built = Built()
    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_submodules = lambda package, filter=None: [package]  # type: ignore[attr-defined]
    versioninfo = types.ModuleType("PyInstaller.utils.win32.versioninfo")
    for kind in ("VSVersionInfo", "FixedFileInfo", "StringFileInfo", "StringTable"):
        setattr(versioninfo, kind, _record(kind))
    for kind in ("StringStruct", "VarFileInfo", "VarStruct"):
        setattr(versioninfo, kind, _record(kind))
    win32 = types.ModuleType("PyInstaller.utils.win32")
    win32.versioninfo = versioninfo  # type: ignore[attr-defined]
    for name, module in {
        "PyInstaller": types.ModuleType("PyInstaller"),
        "PyInstaller.utils": types.ModuleType("PyInstaller.utils"),
        "PyInstaller.utils.hooks": hooks,
        "PyInstaller.utils.win32": win32,
        "PyInstaller.utils.win32.versioninfo": versioninfo,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(subprocess, "run", lambda *a, **kw: None)  # icons are rendered elsewhere

    def exe(*args: Any, **options: Any) -> dict[str, Any]:
        built.exes.append(options)
        return options

    def collect(*args: Any, **options: Any) -> str:
        built.collect = (args, options)
        return "collected"

    def bundle(*args: Any, **options: Any) -> None:
        built.bundle = options

    namespace = {
        "SPECPATH": str(SPEC_PATH.parent),
        "__name__": "__main__",
        "Analysis": FakeAnalysis,
        "PYZ": lambda pure: "pyz",
        "EXE": exe,
        "COLLECT": collect,
        "BUNDLE": bundle,
    }
    exec(compile(SPEC_PATH.read_text(encoding="utf-8"), str(SPEC_PATH), "exec"), namespace)
    return built


def test_windows_gets_the_window_and_a_console_companion_with_version_resources(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = build_as("win32", monkeypatch)
    by_name = {e["name"]: e for e in built.exes}
    assert set(by_name) == {"FieldSync", "FieldSync-cli"}
    assert by_name["FieldSync"]["console"] is False, "the window opens no console"
    assert by_name["FieldSync-cli"]["console"] is True, "--self-test prints and cmd waits"
    assert built.collect is not None
    collected = built.collect[0]
    assert by_name["FieldSync"] in collected and by_name["FieldSync-cli"] in collected
    for name, exe in by_name.items():
        assert exe["exclude_binaries"] is True, "one _internal folder serves both"
        strings = _strings(exe["version"])
        assert strings["OriginalFilename"] == f"{name}.exe"
        assert strings["ProductVersion"] == strings["FileVersion"] == __version__
        ffi = exe["version"][2]["ffi"]
        numbers = tuple(int(n) for n in __version__.split(".")[:3])
        assert ffi[2]["filevers"][:3] == numbers and len(ffi[2]["filevers"]) == 4
    assert built.bundle is None


@pytest.mark.parametrize("platform", ["darwin", "linux"])
def test_macos_and_linux_build_one_executable_without_a_windows_resource(
    platform: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = build_as(platform, monkeypatch)
    assert [e["name"] for e in built.exes] == ["FieldSync"]
    assert built.exes[0]["version"] is None
    assert (built.bundle is not None) == (platform == "darwin")


def test_the_bundles_floor_is_the_one_the_bundled_qt_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = build_as("darwin", monkeypatch)
    assert built.bundle is not None
    stated = built.bundle["info_plist"]["LSMinimumSystemVersion"]
    floor = wheel_floor.spec_floor(SPEC_PATH.read_text(encoding="utf-8"))
    assert stated == f"{floor[0]}.{floor[1]}"
    assert wheel_floor.problems(floor, TABLE["wheels"]) == []
    needed = max(wheel_floor.bundle_floor(names) for names in TABLE["wheels"].values())
    assert floor == needed, "no older than Qt needs, and no newer than it must be"


def test_the_recorded_wheels_are_those_of_the_pinned_and_installed_pyside6() -> None:
    assert TABLE["requirement"] == wheel_floor.pinned()
    pin = SpecifierSet(wheel_floor.pinned().removeprefix("pyside6"))
    assert TABLE["version"] in pin
    installed = importlib.metadata.version("pyside6")
    assert installed.split(".")[:2] == TABLE["version"].split(".")[:2], (
        f"PySide6 {installed} is installed: run `python packaging/macos/wheel_floor.py record`"
    )


def test_a_floor_older_than_the_wheels_is_refused() -> None:
    wheels = TABLE["wheels"]
    refused = wheel_floor.problems((11, 0), wheels)
    assert len(refused) == 2 and all("the bundled Qt needs 13.0" in p for p in refused)
    newer = {
        arch: [n.replace("macosx_13_0", "macosx_14_0") for n in names]
        for arch, names in wheels.items()
    }
    assert wheel_floor.problems((13, 0), newer) != []
    missing = {arch: names[:2] for arch, names in wheels.items()}
    assert all("expected" in p for p in wheel_floor.problems((13, 0), missing))
    intel_only = {
        arch: [n.replace("universal2", "x86_64") for n in names] for arch, names in wheels.items()
    }
    assert any("does not run on arm64" in p for p in wheel_floor.problems((13, 0), intel_only))
