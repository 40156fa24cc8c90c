"""`--self-test`: prove an installed or frozen build works, without touching the user's data.

In a temporary folder it opens a database, serves the embedded simulator on a loopback socket,
runs a first sync, captures one ticket edit, sends it and reads it back from the server. Its
profile's data key and credentials go to a keyring that lives in this process only, installed for
the check and removed after it whatever happens (so the check runs, encrypted, on machines
without a system keyring). It then checks that the keyring interface and its backends load, and
that the chosen keyring keeps a secret: a random one is saved under a service of the self-test's
own, read back and deleted, so nothing is left in the user's keyring. On Windows and macOS the
system's own keyring (Credential Manager, Keychain) must work and keep it, as every install there
has one (a build missing its bridge to it would otherwise pass); on Linux a machine without a
keyring is reported, not failed (servers and CI machines have none), but one that is there must
keep the secret too. When PySide6 is bundled, it checks that Qt's platform, SVG image and SVG
icon plugins are present and draw the application icon offscreen (no window is
opened). It prints one line of JSON and returns 0 when every check passed, 1 otherwise (the
failures go to stderr).

Qt is imported by name here, as in `agent.cli`, so the core still loads without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import json
import logging
import os
import pkgutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agent import __version__

KEYRING_BACKENDS = ("Windows", "macOS", "SecretService", "kwallet", "chainer", "fail")
# The native platform plugin each system needs to show the window and tray (not loaded here).
NATIVE_PLATFORM = {"win32": "qwindows", "darwin": "qcocoa"}
# The system keyring every Windows and macOS install has: (module, class).
NATIVE_KEYRING = {
    "win32": ("keyring.backends.Windows", "WinVaultKeyring"),
    "darwin": ("keyring.backends.macOS", "Keyring"),
}
SELF_TEST_TITLE = "Field Sync self-test edit"
# The keyring service of the secret the keyring check saves, reads back and deletes; apart from
# the program's own (`field-sync-autotask/...`, see agent.credentials).
SELF_TEST_SERVICE = "field-sync-self-test"


Check = Callable[[Path], dict[str, Any]]  # given a private temporary folder; raises on failure


class HurriedClock:
    """Real time, except that waiting is skipped: the request pacer's pauses would only slow a
    check of whether the build works. The simulator shares it, so both sides agree on the time."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.skipped

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.skipped)

    async def sleep(self, seconds: float) -> None:
        self.skipped += max(0.0, seconds)
        await asyncio.sleep(0)


class CheckFailed(Exception):
    """One self-test check found the build broken; the message says what is missing."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


@contextlib.contextmanager
def private_keyring() -> Iterator[None]:
    """Install a keyring of this process only for the duration, then put the user's back."""
    import keyring

    from agent.credentials import InProcessKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(InProcessKeyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


async def check_sync(data_dir: Path) -> dict[str, Any]:
    """First sync, one captured edit, its push, and the server holding the edited value."""
    with private_keyring():
        return await _check_sync(data_dir)


async def _check_sync(data_dir: Path) -> dict[str, Any]:
    import httpx

    from agent.api.facade import Agent, AgentOptions
    from agent.api.types import SyncState
    from agent.credentials import ApiSecretBundle
    from agent.simulator import (
        DEMO_INTEGRATION_CODE,
        DEMO_SECRET,
        DEMO_USERNAME,
        Simulator,
        serve_in_thread,
    )

    clock = HurriedClock()
    sim = Simulator(seed="self-test", tickets=40, clock=clock)
    sim.limits.latency_enabled = False  # the API's added latency would only slow the check
    with serve_in_thread(sim) as base:
        agent = await Agent.open(
            AgentOptions(
                data_dir=data_dir,
                profile="self-test",
                directory_url=f"{base}/ATServicesRest/",
                credentials=ApiSecretBundle(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE),
                technician_resource_id=sim.technician_resource_id,
                clock=clock,
                sample_metrics=False,
            )
        )
        try:
            first = await agent.sync_now()
            if first is None or first.error is not None:
                raise CheckFailed(f"the first sync failed: {first}")
            tickets = await agent.my_tickets()
            _require(bool(tickets), "the first sync brought no tickets")
            ticket_id = tickets[0].id
            await agent.update_ticket(ticket_id, title=SELF_TEST_TITLE)
            _require((await agent.status()).pending == 1, "the edit was not queued")
            second = await agent.sync_now()
            if second is None or second.push.succeeded != 1:
                raise CheckFailed(f"the edit was not sent: {second}")
            async with httpx.AsyncClient() as http:
                reply = await http.get(
                    f"{base}/_sim/state", params={"entity": "Tickets", "id": str(ticket_id)}
                )
            server_title = reply.json()["item"]["title"]
            _require(server_title == SELF_TEST_TITLE, f"the server has {server_title!r}")
            status = await agent.status()
            _require(status.state is SyncState.SYNCED, f"state is {status.state}: {status.reason}")
            database = agent.profile.paths.database
            _require(database.is_relative_to(data_dir), "the database left the temporary folder")
            return {
                "tickets": len(tickets),
                "api_calls": first.api_calls + second.api_calls,
                "edited_ticket": ticket_id,
            }
        finally:
            await agent.close()


def check_keyring() -> dict[str, Any]:
    """The keyring package and every backend module import, a backend is chosen and, when it is
    one that keeps secrets, it keeps one; on Windows and macOS it must be such a backend and the
    system's own keyring must work (Linux: maybe 'fail', reported as not usable)."""
    import keyring

    from agent.credentials import is_safe_backend

    for name in KEYRING_BACKENDS:
        importlib.import_module(f"keyring.backends.{name}")
    backend = keyring.get_keyring()
    _require(backend is not None, "keyring chose no backend")
    chosen = f"{type(backend).__module__}.{type(backend).__name__}"
    usable = is_safe_backend(backend)
    native = NATIVE_KEYRING.get(sys.platform)
    if native is not None:
        module, name = native
        system_keyring = getattr(importlib.import_module(module), name)
        try:
            system_keyring.priority  # noqa: B018 (raises, saying why, when it cannot be used)
        except Exception as exc:
            raise CheckFailed(f"the system keyring {module}.{name} cannot be used: {exc}") from exc
        _require(usable, f"keyring chose {chosen}, which does not keep secrets")
    if usable:
        _keeps_a_secret(backend, chosen)
    return {"backend": chosen, "usable": usable}


def _keeps_a_secret(backend: Any, chosen: str) -> None:
    """Save a random secret under SELF_TEST_SERVICE, read it back and delete it (whatever
    happened, so nothing is left behind); CheckFailed when the keyring does not keep it."""
    import secrets
    import uuid

    user = f"check-{uuid.uuid4().hex}"
    value = secrets.token_urlsafe(16)
    try:
        try:
            backend.set_password(SELF_TEST_SERVICE, user, value)
            read = backend.get_password(SELF_TEST_SERVICE, user)
        except Exception as exc:  # the message names the backend's reason, never the value
            raise CheckFailed(f"the keyring {chosen} cannot keep a secret: {exc}") from exc
        _require(read == value, f"the keyring {chosen} did not give back the secret it was given")
    finally:
        with contextlib.suppress(Exception):  # checked below: the secret must be gone
            backend.delete_password(SELF_TEST_SERVICE, user)
    try:
        left = backend.get_password(SELF_TEST_SERVICE, user)
    except Exception as exc:
        raise CheckFailed(f"the keyring {chosen} cannot be read after a delete: {exc}") from exc
    _require(left is None, f"the keyring {chosen} kept the self-test's secret after its deletion")


def _plugins(qt_core: Any, kind: str) -> list[str]:
    root = Path(qt_core.QLibraryInfo.path(qt_core.QLibraryInfo.LibraryPath.PluginsPath))
    folder = root / kind
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _app_icon() -> Path:
    try:
        resources: Any = importlib.import_module("ui.resources")
    except ImportError:
        return Path(__file__).resolve().parents[1] / "resources" / "icons" / "app.svg"
    return Path(resources.icon_file("app"))


def check_qt() -> dict[str, Any]:
    """Qt's plugins for the window are bundled and the app icon renders offscreen."""
    if importlib.util.find_spec("PySide6") is None:
        return {"skipped": "PySide6 is not installed"}
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a self-test never opens a window
    qt_core: Any = importlib.import_module("PySide6.QtCore")
    qt_gui: Any = importlib.import_module("PySide6.QtGui")
    qt_svg: Any = importlib.import_module("PySide6.QtSvg")
    app = qt_gui.QGuiApplication.instance() or qt_gui.QGuiApplication([sys.argv[0]])
    platforms = _plugins(qt_core, "platforms")
    native = NATIVE_PLATFORM.get(sys.platform, "qxcb")
    _require(any(native in p for p in platforms), f"no '{native}' platform plugin in {platforms}")
    _require(app.platformName() == "offscreen", f"platform is {app.platformName()!r}")
    formats = {bytes(f.data()).decode() for f in qt_gui.QImageReader.supportedImageFormats()}
    _require("svg" in formats, f"the SVG image format plugin is missing ({sorted(formats)})")
    icon_engines = _plugins(qt_core, "iconengines")
    _require(any("qsvgicon" in p for p in icon_engines), "the SVG icon engine plugin is missing")
    styles = _plugins(qt_core, "styles")
    if sys.platform in NATIVE_PLATFORM:  # Linux wheels build their styles into QtWidgets
        _require(bool(styles), "no widget style plugin is bundled")
    icon = _app_icon()
    renderer = qt_svg.QSvgRenderer(str(icon))
    _require(renderer.isValid(), f"cannot render {icon}")
    image = qt_gui.QImage(64, 64, qt_gui.QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = qt_gui.QPainter(image)
    renderer.render(painter)
    painter.end()
    _require(image.pixelColor(32, 32).alpha() > 0, "the app icon rendered empty")
    _require(not qt_gui.QIcon(str(icon)).pixmap(32, 32).isNull(), "QIcon cannot load the icon")
    return {
        "qt": qt_core.qVersion(),
        "platforms": platforms,
        "styles": styles,
        "ui_modules": _import_window_modules(),
    }


def _import_window_modules() -> int:
    """Import every module of the window (and so each Qt module it uses); how many there were."""
    if importlib.util.find_spec("ui") is None:
        return 0
    ui: Any = importlib.import_module("ui")
    names = [m.name for m in pkgutil.walk_packages(ui.__path__, "ui.")]
    for name in names:
        importlib.import_module(name)
    _require("ui.app" in names, f"the window's modules are incomplete: {names}")
    return len(names)


def _timed(check: Check, folder: Path) -> dict[str, Any]:
    """Run one check: its details with "ok" and "ms", or the error it raised."""
    started = time.perf_counter()
    try:
        detail = {"ok": True, **check(folder)}
    except Exception as exc:  # every failure is reported, then the next check still runs
        detail = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    detail["ms"] = round((time.perf_counter() - started) * 1000)
    return detail


def _release_log_file() -> None:
    """Close the temporary profile's log file, so the folder can be removed (Windows locks it)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_field_sync", False):
            root.removeHandler(handler)
            handler.close()


CHECKS: tuple[tuple[str, Check], ...] = (
    ("sync", lambda tmp: asyncio.run(check_sync(tmp))),
    ("keyring", lambda tmp: check_keyring()),
    ("qt", lambda tmp: check_qt()),
)


def run_self_test(checks: Sequence[tuple[str, Check]] = CHECKS) -> int:
    """Run each check in a fresh temporary folder; print the JSON summary; 0 if all passed."""
    started = time.perf_counter()
    results: dict[str, Any] = {}
    for name, check in checks:
        # Should anything still hold a file in it, a leftover temporary folder is harmless.
        with tempfile.TemporaryDirectory(
            prefix="fieldsync-selftest-", ignore_cleanup_errors=True
        ) as tmp:
            results[name] = _timed(check, Path(tmp))
            _release_log_file()
    ok = all(r["ok"] for r in results.values())
    summary = {
        "ok": ok,
        "version": __version__,
        "frozen": bool(getattr(sys, "frozen", False)),
        "platform": sys.platform,
        "ms": round((time.perf_counter() - started) * 1000),
        "checks": results,
    }
    if sys.stdout is not None:  # a windowed Windows build may have no stdout at all
        print(json.dumps(summary, separators=(",", ":")), flush=True)
    if not ok and sys.stderr is not None:
        for name, detail in results.items():
            if not detail["ok"]:
                print(f"self-test failed: {name}: {detail['error']}", file=sys.stderr)
    return 0 if ok else 1
