"""The four-number version Windows keeps in an executable or installer: x.y.z.0 from the release
part of the program's version (1.2.3rc1 -> 1.2.3.0, 1.2 -> 1.2.0.0).

The version resource of the PyInstaller spec and Inno Setup's VersionInfoVersion take only
numbers; the full version (with rc1, .post1, ...) stays in their text fields. Parsed with the
`packaging` library, so "1.2rc1" is release 1.2 and never read as 1.2.1.

    python packaging/windows/numeric_version.py [VERSION]    (default: agent.__version__)
"""

from __future__ import annotations

import sys
from pathlib import Path

from packaging.version import InvalidVersion, Version

MAX_PART = 0xFFFF  # each of the four numbers is 16 bits wide


def version_numbers(version: str) -> tuple[int, int, int, int]:
    """(x, y, z, 0) of `version`; ValueError when it is no version or a part does not fit."""
    try:
        release = Version(version).release
    except InvalidVersion as exc:
        raise ValueError(f"{version!r} is not a version") from exc
    if len(release) > 3:
        raise ValueError(f"{version!r} has more than three release numbers")
    x, y, z = (*release, 0, 0)[:3]
    if max(x, y, z) > MAX_PART:
        raise ValueError(f"{version!r} has a number above {MAX_PART}")
    return (x, y, z, 0)


def numeric_version(version: str) -> str:
    """`version_numbers` as Windows writes it: "x.y.z.0"."""
    return ".".join(str(n) for n in version_numbers(version))


def main(argv: list[str]) -> int:
    if argv:
        version = argv[0]
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
        from agent import __version__ as version
    try:
        print(numeric_version(version))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
