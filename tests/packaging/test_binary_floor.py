"""packaging/macos/binary_floor.py: the minimum macOS of every Mach-O binary in the bundle,
read from `otool -l`, against the spec's floor (otool is stood in for: this is not a Mac)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "macos" / "binary_floor.py"


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("binary_floor", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


binary_floor = _load()

UNIVERSAL = """\
/x/QtCore (architecture x86_64):
Load command 0
      cmd LC_SEGMENT_64
  cmdsize 72
  segname __PAGEZERO
Load command 9
      cmd LC_BUILD_VERSION
  cmdsize 32
 platform 1
    minos 13.0
      sdk 14.0
   ntools 1
     tool 3
  version 1015.7
/x/QtCore (architecture arm64):
Load command 9
      cmd LC_BUILD_VERSION
  cmdsize 32
 platform MACOS
    minos 14.2
      sdk 14.2
"""
OLD_STYLE = """\
/x/_ssl.so:
Load command 8
      cmd LC_VERSION_MIN_MACOSX
  cmdsize 16
  version 10.9
      sdk 11.0
"""
OTHER_PLATFORM = """\
/x/ios.dylib:
Load command 3
      cmd LC_BUILD_VERSION
 platform 2
    minos 17.0
"""


def test_the_minimum_of_each_architecture_is_read() -> None:
    assert binary_floor.minimums(UNIVERSAL) == {"x86_64": (13, 0), "arm64": (14, 2)}
    assert binary_floor.minimums(OLD_STYLE) == {"": (10, 9)}
    assert binary_floor.minimums(OTHER_PLATFORM) == {}, "an iOS minimum is not a macOS one"
    found = binary_floor.minimums(UNIVERSAL)
    assert binary_floor.too_new((13, 0), found) == {"arm64": (14, 2)}
    assert binary_floor.too_new((14, 2), found) == {}


MACHO_64 = bytes.fromhex("cffaedfe") + b"\0" * 60
UNIVERSAL_2 = bytes.fromhex("cafebabe00000002") + b"\0" * 56
JAVA_CLASS = bytes.fromhex("cafebabe00000037") + b"\0" * 56


def _bundle(tmp_path: Path) -> Path:
    app = tmp_path / "FieldSync.app" / "Contents"
    (app / "MacOS").mkdir(parents=True)
    (app / "Frameworks").mkdir()
    (app / "MacOS" / "FieldSync").write_bytes(MACHO_64)
    (app / "Frameworks" / "QtCore").write_bytes(UNIVERSAL_2)
    (app / "Frameworks" / "_ssl.so").write_bytes(MACHO_64)
    (app / "Frameworks" / "Main.class").write_bytes(JAVA_CLASS)
    (app / "Info.plist").write_text("<plist/>")
    return tmp_path / "FieldSync.app"


def test_only_mach_o_files_are_binaries(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    names = [p.name for p in binary_floor.binaries(bundle)]
    assert names == ["QtCore", "_ssl.so", "FieldSync"]


def _fake_otool(tmp_path: Path, answers: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "answers.json").write_text(json.dumps(answers))
    otool = bin_dir / "otool"
    otool.write_text(
        f"#!{sys.executable}\n"
        "import json, sys, pathlib\n"
        f"answers = json.loads(pathlib.Path({str(tmp_path / 'answers.json')!r}).read_text())\n"
        "assert sys.argv[1:4] == ['-arch', 'all', '-l'], sys.argv\n"
        "print(answers[pathlib.Path(sys.argv[4]).name])\n"
    )
    otool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.skipif(sys.platform == "win32", reason="a stand-in otool script on PATH")
def test_a_library_built_for_a_newer_macos_than_the_floor_fails_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = _bundle(tmp_path)
    _fake_otool(
        tmp_path,
        {"FieldSync": OLD_STYLE, "QtCore": UNIVERSAL, "_ssl.so": "/x/_ssl.so:\n"},
        monkeypatch,
    )
    assert binary_floor.main([str(bundle)]) == 1
    out, err = capsys.readouterr()
    assert "needs a newer macOS than 13.0: Contents/Frameworks/QtCore (arm64): macOS 14.2" in err
    assert len(err.splitlines()) == 1, "the binaries within the floor are not named"
    assert "3 Mach-O binaries checked against macOS 13.0: 1 too new, 1 without" in out


@pytest.mark.skipif(sys.platform == "win32", reason="a stand-in otool script on PATH")
def test_a_bundle_within_the_floor_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = _bundle(tmp_path)
    within = UNIVERSAL.replace("14.2", "13.0")
    _fake_otool(
        tmp_path, {"FieldSync": OLD_STYLE, "QtCore": within, "_ssl.so": OLD_STYLE}, monkeypatch
    )
    assert binary_floor.main([str(bundle)]) == 0
    assert "3 Mach-O binaries checked against macOS 13.0: 0 too new" in capsys.readouterr().out


def test_build_dmg_checks_the_bundle_before_making_the_disk_image() -> None:
    script = (ROOT / "packaging" / "macos" / "build_dmg.sh").read_text(encoding="utf-8")
    check = script.index('"$PY" packaging/macos/binary_floor.py "$APP"')
    assert check < script.index("hdiutil create")
