"""The installers' icons: every size of the app icon, in containers Qt's own readers accept."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from PySide6.QtGui import QImageReader

ROOT = Path(__file__).resolve().parents[2]


def load_make_icons() -> ModuleType:
    # packaging/ is not a package (the name would shadow the PyPI 'packaging' library).
    spec = importlib.util.spec_from_file_location(
        "make_icons", ROOT / "packaging" / "make_icons.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_all(path: Path) -> tuple[bytes, list[tuple[int, int, int]]]:
    """The format Qt detects and, per image, (width, height, alpha at the centre)."""
    reader = QImageReader(str(path))
    images = []
    for index in range(reader.imageCount()):
        assert reader.jumpToImage(index)
        image = reader.read()
        assert not image.isNull(), reader.errorString()
        centre = image.pixelColor(image.width() // 2, image.height() // 2).alpha()
        images.append((image.width(), image.height(), centre))
    return bytes(reader.format().data()), images


@pytest.mark.usefixtures("qapp")
def test_ico_and_icns_hold_every_size_of_the_opaque_app_icon(tmp_path: Path) -> None:
    make_icons = load_make_icons()
    ico, icns = make_icons.make_icons(out=tmp_path)

    fmt, images = read_all(ico)
    assert fmt == b"ico"
    assert [(w, h) for w, h, _ in images] == [(s, s) for s in make_icons.ICO_SIZES]
    assert {16, 32, 48, 256} <= set(make_icons.ICO_SIZES)
    assert all(alpha == 255 for _, _, alpha in images)

    fmt, images = read_all(icns)
    assert fmt == b"icns"
    assert sorted(w for w, _, _ in images) == sorted(s for _, s in make_icons.ICNS_TYPES)
    assert max(w for w, _, _ in images) == 1024  # the 512@2x Retina size
    assert all(alpha == 255 for _, _, alpha in images)
