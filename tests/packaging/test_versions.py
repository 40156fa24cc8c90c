"""Windows keeps four numbers in a version resource: a pre-release version maps to the numbers
of its release part, in the installer (ISCC) and in both executables (the spec)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import agent
from tests.packaging.test_spec import build_as

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "windows" / "numeric_version.py"
ISS = (ROOT / "packaging" / "windows" / "fieldsync.iss").read_text(encoding="utf-8")
RELEASE = (ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("numeric_version", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


numeric_version = _load()

MAPPING = [
    ("1.2.3", "1.2.3.0"),
    ("1.2.3rc1", "1.2.3.0"),
    ("1.2rc1", "1.2.0.0"),  # never 1.2.1.0
    ("2.0.0b2", "2.0.0.0"),
    ("1.4.0.dev3", "1.4.0.0"),
    ("1.2.3.post1", "1.2.3.0"),
    ("3", "3.0.0.0"),
]


@pytest.mark.parametrize(("version", "numeric"), MAPPING)
def test_the_numeric_version_is_the_release_part(version: str, numeric: str) -> None:
    assert numeric_version.numeric_version(version) == numeric


@pytest.mark.parametrize(
    ("version", "why"),
    [("1.2.3.4", "more than three"), ("70000.0", "above 65535"), ("v1.2-final-x", "not a")],
)
def test_what_windows_cannot_hold_is_refused(version: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        numeric_version.numeric_version(version)


def test_the_command_prints_the_programs_numeric_version_or_refuses() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == numeric_version.numeric_version(agent.__version__)
    bad = subprocess.run(
        [sys.executable, str(SCRIPT), "1.2.3.4"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert bad.returncode == 1 and "more than three release numbers" in bad.stderr


@pytest.mark.parametrize(("version", "numeric"), MAPPING[1:3])
def test_the_executables_version_resource_of_a_pre_release(
    version: str, numeric: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agent, "__version__", version)
    built = build_as("win32", monkeypatch)
    numbers = tuple(int(n) for n in numeric.split("."))
    for exe in built.exes:
        resource = exe["version"]
        fixed = resource[2]["ffi"][2]
        assert fixed["filevers"] == fixed["prodvers"] == numbers
        texts = re.findall(r"\('(FileVersion|ProductVersion)', '([^']*)'\)", repr(resource))
        assert dict(texts) == {"FileVersion": version, "ProductVersion": version}


def test_the_installer_takes_its_numeric_version_from_the_same_mapping() -> None:
    assert re.search(r"^VersionInfoVersion=\{#AppNumericVersion\}$", ISS, flags=re.MULTILINE)
    assert re.search(r"^VersionInfoTextVersion=\{#AppVersion\}$", ISS, flags=re.MULTILINE)
    guard = ISS.split("#ifndef AppNumericVersion", 1)[1].split("#endif", 1)[0]
    assert "#error" in guard, "building without it stops"
    assert 'numeric="$(python packaging/windows/numeric_version.py "$version")"' in RELEASE
    assert 'echo "numeric=$numeric"' in RELEASE
    assert '"/DAppNumericVersion=$env:NUMERIC_VERSION"' in RELEASE
    assert "NUMERIC_VERSION: ${{ steps.version.outputs.numeric }}" in RELEASE
