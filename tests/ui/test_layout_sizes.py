"""The main window at laptop and desktop sizes, and at 150 % scaling: My work's title column has
the room, no column is cut off, the Log-time form can be reached, the window fits its screen,
and its size, position, splitter and column widths come back after a restart.

Each case opens the real window in a child process (tests/ui/layout_probe.py) on the offscreen
platform with a screen of that size; the scaled case also sets QT_SCALE_FACTOR=1.5, so Qt lays
the window out on the 853x480 logical pixels a 1280x720 screen at 150 % offers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIZES = [(1280, 720, 1.0), (1920, 1080, 1.0), (1280, 720, 1.5)]


def run_probe(
    tmp_path: Path,
    screens: list[tuple[int, int, int, int]],
    *,
    scale: float = 1.0,
    arrange: dict[str, Any] | None = None,
    run: str = "1",
) -> dict[str, Any]:
    config = tmp_path / f"screens-{run}.json"
    config.write_text(
        json.dumps(
            {
                "windowFrameMargins": True,
                "screens": [
                    {
                        "name": f"screen{n}",
                        "x": x,
                        "y": y,
                        "width": w,
                        "height": h,
                        "logicalDpi": 96,
                        "logicalBaseDpi": 96,
                        "dpr": 1,
                    }
                    for n, (x, y, w, h) in enumerate(screens)
                ],
            }
        )
    )
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
        "QT_SCALE_FACTOR": str(scale),
    }
    cmd = [sys.executable, "-m", "tests.ui.layout_probe", "--memory", str(tmp_path / "window.ini")]
    cmd += ["--data", str(tmp_path / f"data-{run}")]
    if arrange:
        cmd += ["--arrange", json.dumps(arrange)]
    done = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def fits(frame: list[int], available: list[int]) -> bool:
    x, y, w, h = frame
    ax, ay, aw, ah = available
    return ax <= x and ay <= y and x + w <= ax + aw and y + h <= ay + ah


def check_list(shown: dict[str, Any]) -> None:
    view = shown["viewport"]
    assert shown["title"] >= 0.4 * view, shown
    for name, (x, width) in shown["columns"].items():
        assert x >= 0 and x + width <= view, (name, shown)  # wholly inside the viewport
    assert shown["horizontal_scroll"] == 0, shown
    assert shown["inside_window"], shown


@pytest.fixture(scope="module", params=SIZES, ids=["1280x720", "1920x1080", "1280x720@150"])
def seen(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """What the window shows on a screen of each size (one child process per size)."""
    width, height, scale = request.param
    facts = run_probe(tmp_path_factory.mktemp("screen"), [(0, 0, width, height)], scale=scale)
    opened = facts["opened"]
    assert opened["scale"] == scale  # the scaled case really is scaled
    assert opened["available"][2:] == [int(width / scale), int(height / scale)]
    return facts


def test_the_window_fits_the_screen(seen: dict[str, Any]) -> None:
    opened = seen["opened"]
    assert fits(opened["frame"], opened["available"]), opened  # as it opens the first time
    assert fits(seen["filled"]["frame"], seen["filled"]["available"])


def test_the_title_has_the_room_and_no_column_is_cut_off(seen: dict[str, Any]) -> None:
    assert seen["list_alone"] is not None
    check_list(seen["list_alone"])
    if seen["with_ticket"] is not None:  # the list beside or above an open ticket
        check_list(seen["with_ticket"])


def test_the_ticket_tabs_need_no_sideways_scrolling_and_log_time_is_reached(
    seen: dict[str, Any],
) -> None:
    log_time = seen["log_time"]
    assert log_time["scroll_area"] and log_time["panel_inside_window"], log_time
    assert log_time["sideways_scroll"] == {"details": 0, "notes": 0, "time": 0}, log_time
    controls = log_time["controls"]
    assert {"date", "from", "to", "hours", "role", "summary", "save"} <= set(controls)
    for name, state in controls.items():
        assert state == {"in_view": True, "squeezed": False}, (name, log_time)


def test_a_small_scaled_screen_puts_the_ticket_in_place_of_the_list(tmp_path: Path) -> None:
    facts = run_probe(tmp_path, [(0, 0, 1280, 720)], scale=1.5)
    assert facts["mode"] == "single" and facts["with_ticket"] is None
    wide = run_probe(tmp_path, [(0, 0, 1920, 1080)], run="2")
    assert wide["mode"] == "side" and wide["with_ticket"] is not None


def test_size_position_splitter_and_columns_come_back_after_a_restart(tmp_path: Path) -> None:
    screen = [(0, 0, 1920, 1080)]
    arrange = {"geometry": [120, 90, 1500, 900], "splitter": [800, 500], "columns": {"Status": 150}}
    first = run_probe(tmp_path, screen, arrange=arrange)
    left = first["arranged"]
    assert left["frame"][:2] == [120, 90] and left["geometry"][2:] == [1500, 900]
    assert left["columns"]["Status"] == 150
    again = run_probe(tmp_path, screen, run="2")["opened"]
    assert again["frame"] == left["frame"] and again["geometry"] == left["geometry"]
    assert again["splitter"] == left["splitter"]
    assert again["columns"] == left["columns"]


def test_a_window_left_on_a_monitor_that_is_gone_opens_on_the_screen_there_is(
    tmp_path: Path,
) -> None:
    two = [(0, 0, 1920, 1080), (1920, 0, 1920, 1080)]
    first = run_probe(tmp_path, two, arrange={"geometry": [2300, 200, 1400, 850]})
    assert first["arranged"]["frame"][0] >= 1920  # on the second monitor
    again = run_probe(tmp_path, [(0, 0, 1280, 720)], run="2")["opened"]
    assert fits(again["frame"], again["available"]), again
