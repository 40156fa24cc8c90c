"""Every Mach-O binary in the app bundle runs on the macOS floor the bundle states.

`LSMinimumSystemVersion` (packaging/fieldsync.spec) promises the app starts on that macOS; a
library built for a newer one (a wheel bumped its deployment target, Python's own build, a
dependency's dylib) would fail to load there. Each binary's minimum is read with
`otool -arch all -l`: the `minos` of LC_BUILD_VERSION (platform macOS), or the `version` of the
older LC_VERSION_MIN_MACOSX; a binary that states neither is counted but not judged.

    python packaging/macos/binary_floor.py dist/FieldSync.app      (macOS; build_dmg.sh runs it)

Prints each binary newer than the floor; exit status 1 when there is one, 0 otherwise.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from wheel_floor import SPEC, spec_floor  # noqa: E402

Version = tuple[int, int]

# The first four bytes of a Mach-O file: thin 32/64-bit (either byte order) or universal ("fat").
THIN_MAGIC = {bytes.fromhex(m) for m in ("feedface", "cefaedfe", "feedfacf", "cffaedfe")}
FAT_MAGIC = {bytes.fromhex(m) for m in ("cafebabe", "cafebabf")}  # its header is big-endian
PLATFORM_MACOS = "1"  # LC_BUILD_VERSION's platform number (or name, in newer otool) for macOS


def is_macho(path: Path) -> bool:
    """Whether `path` is a Mach-O binary. A universal binary shares its magic with Java class
    files, which then hold a version number of 45 or more where a binary has its slice count."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError:
        return False
    if head[:4] in THIN_MAGIC:
        return True
    return head[:4] in FAT_MAGIC and len(head) == 8 and 0 < int.from_bytes(head[4:8], "big") < 45


def _version(text: str) -> Version:
    parts = text.split(".")
    return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0


def minimums(otool_output: str) -> dict[str, Version]:
    """The macOS minimum of each architecture in `otool -arch all -l` output ("" when thin)."""
    found: dict[str, Version] = {}
    arch = ""
    command = ""
    platform = ""
    for raw in otool_output.splitlines():
        line = raw.strip()
        header = re.search(r"\(architecture (\w+)\):$", line)
        if header:
            arch = header[1]
            continue
        key, _, value = line.partition(" ")
        value = value.strip()
        if key == "cmd":
            command, platform = value, ""
        elif command == "LC_BUILD_VERSION" and key == "platform":
            platform = value
        elif command == "LC_BUILD_VERSION" and key == "minos":
            if platform in (PLATFORM_MACOS, "MACOS", "macos"):
                found[arch] = _version(value)
        elif command == "LC_VERSION_MIN_MACOSX" and key == "version":
            found[arch] = _version(value)
    return found


def binaries(bundle: Path) -> Iterator[Path]:
    for path in sorted(bundle.rglob("*")):
        if path.is_file() and not path.is_symlink() and is_macho(path):
            yield path


def too_new(floor: Version, found: dict[str, Version]) -> dict[str, Version]:
    return {arch: v for arch, v in found.items() if v > floor}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="the .app bundle (or a folder) to check")
    args = parser.parse_args(argv)
    floor = spec_floor(SPEC.read_text(encoding="utf-8"))
    checked = unstated = 0
    offenders: list[str] = []
    for path in binaries(args.bundle):
        output = subprocess.run(
            ["otool", "-arch", "all", "-l", str(path)], capture_output=True, text=True, check=True
        ).stdout
        found = minimums(output)
        checked += 1
        unstated += not found
        for arch, version in sorted(too_new(floor, found).items()):
            where = f" ({arch})" if arch else ""
            offenders.append(
                f"{path.relative_to(args.bundle)}{where}: macOS {version[0]}.{version[1]}"
            )
    wanted = f"{floor[0]}.{floor[1]}"
    if checked == 0:
        print(f"no Mach-O binary found in {args.bundle}", file=sys.stderr)
        return 1
    for line in offenders:
        print(f"needs a newer macOS than {wanted}: {line}", file=sys.stderr)
    print(
        f"{checked} Mach-O binaries checked against macOS {wanted}: "
        f"{len(offenders)} too new, {unstated} without a stated minimum"
    )
    return 1 if offenders else 0


if __name__ == "__main__":
    raise SystemExit(main())
