"""The oldest macOS the pinned PySide6 runs on, from its wheels' platform tags.

The app bundle states a floor (`LSMinimumSystemVersion` in packaging/fieldsync.spec); it must not
be older than what the bundled Qt was built for, or the app is offered to Macs it cannot start on.

    python packaging/macos/wheel_floor.py record   # ask the package index, rewrite the table
    python packaging/macos/wheel_floor.py check    # ask the package index, compare with the spec

Both ask pip which wheel it would install for each macOS architecture (a dry run: the index's
metadata is read, no wheel is downloaded). The answers are kept in pyside6-wheels.json beside
this file, which the tests compare with the spec without a network; the release workflow runs
`check` against the index before building the disk images. Exit status 0 when the floor holds.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from packaging.utils import parse_wheel_filename

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TABLE = HERE / "pyside6-wheels.json"
SPEC = ROOT / "packaging" / "fieldsync.spec"
# PySide6 and the distributions it installs, each with its own wheels.
DISTRIBUTIONS = ("pyside6", "pyside6-essentials", "pyside6-addons", "shiboken6")
# The architectures of the disk images, and the newest macOS pip is told it runs on.
ARCHES = ("arm64", "x86_64")
ASK_AS = "macosx_26_0_{arch}"
PYTHON = "3.11"

Version = tuple[int, int]


def spec_floor(spec_text: str) -> Version:
    """The `MACOS_MINIMUM` the spec puts in the bundle's `LSMinimumSystemVersion`."""
    found = re.findall(r'^MACOS_MINIMUM = "(\d+)\.(\d+)"$', spec_text, flags=re.MULTILINE)
    if len(found) != 1:
        raise ValueError('the spec must set MACOS_MINIMUM once, as "major.minor"')
    if '"LSMinimumSystemVersion": MACOS_MINIMUM' not in spec_text:
        raise ValueError("the spec's LSMinimumSystemVersion is not MACOS_MINIMUM")
    major, minor = found[0]
    return int(major), int(minor)


def wheel_floor(filename: str) -> Version:
    """The oldest macOS a macOS wheel's platform tags accept (the lowest of its tags)."""
    _, _, _, tags = parse_wheel_filename(filename)
    floors = []
    for tag in tags:
        match = re.fullmatch(r"macosx_(\d+)_(\d+)_\w+", tag.platform)
        if match is None:
            raise ValueError(f"{filename} is not a macOS wheel")
        floors.append((int(match[1]), int(match[2])))
    return min(floors)


def bundle_floor(filenames: Iterable[str]) -> Version:
    """What the bundle needs: the newest of its wheels' floors."""
    return max(wheel_floor(name) for name in filenames)


def problems(spec: Version, wheels: dict[str, list[str]]) -> list[str]:
    """Why the spec's floor does not hold for the recorded wheels (empty when it does)."""
    found = []
    for arch in ARCHES:
        names = wheels.get(arch, [])
        if sorted(parse_wheel_filename(n)[0] for n in names) != sorted(DISTRIBUTIONS):
            found.append(f"{arch}: wheels of {sorted(DISTRIBUTIONS)} expected, got {names}")
            continue
        for name in names:
            platforms = {t.platform for t in parse_wheel_filename(name)[3]}
            if not any(p.endswith((f"_{arch}", "_universal2")) for p in platforms):
                found.append(f"{arch}: {name} does not run on {arch}")
        need = bundle_floor(names)
        if spec < need:
            found.append(
                f"{arch}: the spec states macOS {spec[0]}.{spec[1]}, the bundled Qt needs "
                f"{need[0]}.{need[1]} ({', '.join(n for n in names if wheel_floor(n) == need)})"
            )
    return found


def pinned() -> str:
    """The PySide6 requirement of pyproject.toml, e.g. `pyside6>=6.10.1,<6.11`."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = re.findall(r'^\s*"(pyside6[^";]*)"', text, flags=re.MULTILINE | re.IGNORECASE)
    if len(found) != 1:
        raise ValueError("pyproject.toml must require pyside6 once")
    return found[0].replace(" ", "")


def ask_pip(requirement: str, arch: str) -> str:
    """The wheel file pip would install for `requirement` on macOS `arch` (a dry run)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--no-deps"),
                *("--ignore-installed", "--only-binary", ":all:", "--target", tmp),
                *("--platform", ASK_AS.format(arch=arch), "--python-version", PYTHON),
                *("--report", str(report), requirement),
            ],
            check=True,
        )
        installs = json.loads(report.read_text(encoding="utf-8"))["install"]
    url: str = installs[0]["download_info"]["url"]
    return url.rsplit("/", 1)[-1]


def from_index() -> dict[str, object]:
    """Ask the index for the wheels of the pinned PySide6 (the version pip picks, then its parts
    at exactly that version)."""
    wheels: dict[str, list[str]] = {}
    version = ""
    for arch in ARCHES:
        top = ask_pip(pinned(), arch)
        version = str(parse_wheel_filename(top)[1])
        parts = [ask_pip(f"{dist}=={version}", arch) for dist in DISTRIBUTIONS[1:]]
        wheels[arch] = [top, *parts]
    return {"requirement": pinned(), "version": version, "wheels": wheels}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["record", "check"])
    args = parser.parse_args(argv)
    found = from_index()
    if args.action == "record":
        TABLE.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
        print(f"recorded PySide6 {found['version']} in {TABLE.relative_to(ROOT)}")
    wheels = found["wheels"]
    assert isinstance(wheels, dict)
    failures = problems(spec_floor(SPEC.read_text(encoding="utf-8")), wheels)
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    if not failures:
        floor = max(bundle_floor(names) for names in wheels.values())
        print(f"PySide6 {found['version']} needs macOS {floor[0]}.{floor[1]}: the spec agrees")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
