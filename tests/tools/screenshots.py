"""Screenshots of the real window under Xvfb: every page, the tray menu, the conflict dialog, the
sign-in and settings dialogs, and a visit (today's schedule, a ticket's checklist, the stopwatch
running on the ticket's page and in the tray menu, a file uploading in the Queue page and the
ticket's Files tab), written to build/screenshots/ (`make screenshots`).

The window fills a 1280x720 laptop screen, a 1920x1080 desktop screen and a 1280x720 screen at
150 % scaling (QT_SCALE_FACTOR=1.5: 853x480 logical pixels); each window shot names its size
(`page-mywork-1280x720.png`, `page-mywork-1280x720@150.png`). The dialogs, the tray menu and
the icon sheet are taken once, on the laptop screen.

For each screen the parent process starts Xvfb of that size on a free display and runs itself
again as a child with DISPLAY set (the xcb platform, not offscreen). The child opens the demo
tenant (the simulator on loopback) with the real agent, drives the real window classes through a
realistic story (first download, offline edits, a dispatcher's change, a conflict) and grabs
each screen. Needs `Xvfb` installed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.tools.slow_link import SlowLink

OUT = Path("build/screenshots")
# (width, height, scale): the screens the window is shown on; the first also takes the extras.
SCREENS = [(1280, 720, 1.0), (1920, 1080, 1.0), (1280, 720, 1.5)]


def free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display number between :90 and :199")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--suffix", default="", help=argparse.SUPPRESS)
    parser.add_argument("--extras", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.child:
        return child(out, args.suffix, args.extras)
    if shutil.which("Xvfb") is None:
        print("Xvfb is missing: apt-get install -y xvfb", file=sys.stderr)
        return 2
    for n, (width, height, scale) in enumerate(SCREENS):
        suffix = f"-{width}x{height}" + (f"@{round(scale * 100)}" if scale != 1 else "")
        code = on_screen(out, width, height, scale, suffix, extras=n == 0)
        if code != 0:
            return code
    for path in sorted(out.glob("*.png")):
        print(f"wrote {path}")
    return 0


def on_screen(out: Path, width: int, height: int, scale: float, suffix: str, extras: bool) -> int:
    """Runs the story in a child on an Xvfb screen of `width` x `height` at `scale`."""
    display = free_display()
    xvfb = subprocess.Popen(
        ["Xvfb", f":{display}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{display}").exists():
            if xvfb.poll() is not None or time.monotonic() > deadline:
                print("Xvfb did not start", file=sys.stderr)
                return 2
            time.sleep(0.05)
        env = {**os.environ, "DISPLAY": f":{display}", "QT_QPA_PLATFORM": "xcb"}
        env["QT_SCALE_FACTOR"] = str(scale)
        env.pop("WAYLAND_DISPLAY", None)
        cmd = [sys.executable, "-m", "tests.tools.screenshots", "--child", "--out", str(out)]
        cmd += [f"--suffix={suffix}"] + ["--extras"] * extras
        return subprocess.run(cmd, env=env, check=False, timeout=300).returncode
    finally:
        xvfb.terminate()
        xvfb.wait(10)


def child(out: Path, suffix: str, extras: bool) -> int:
    import qasync

    from ui.app import make_application

    out.mkdir(parents=True, exist_ok=True)
    app = make_application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory(prefix="fieldsync-shots-") as data_dir:
        try:
            loop.run_until_complete(Story(out, Path(data_dir), suffix, extras).run())
        finally:
            loop.close()
    return 0


class Story:
    """Takes the window through a newcomer's first minutes on the demo tenant."""

    def __init__(self, out: Path, data_dir: Path, suffix: str = "", extras: bool = True) -> None:
        self.out = out
        self.data_dir = data_dir
        self.suffix = suffix  # the screen's size (and scale) in the window shots' names
        self.extras = extras  # the dialogs, the tray menu and the icons too

    async def pause(self, seconds: float = 0.6) -> None:
        await asyncio.sleep(seconds)  # lets Qt lay out, paint and the pages load

    def shoot(self, widget: Any, name: str) -> None:
        from PySide6.QtGui import QGuiApplication

        widget.repaint()
        screen = QGuiApplication.primaryScreen()
        pixmap = screen.grabWindow(widget.winId()) if widget.isWindow() else widget.grab()
        if pixmap.isNull() or pixmap.width() < 4:
            pixmap = widget.grab()
        pixmap.save(str(self.out / f"{name}.png"))

    async def some_work(self, agent: Any) -> None:
        """A few notes sent in a few rounds, sampled as the agent's 10 s sampler would."""
        sampler = agent.observe.monitor.sampler
        tickets = await agent.my_tickets()
        sampler.tick()
        for i in range(4):
            for ticket in tickets[:3]:
                await agent.add_note(
                    ticket.id, f"Checked on site ({i + 1})", title="Visit", note_type=1, publish=1
                )
            await self.pause(0.3)
            sampler.tick()
            await agent.sync_now()
            await self.pause(0.3)
            sampler.tick()

    async def run(self) -> None:
        import httpx
        from PySide6.QtCore import QPoint

        from agent.api.facade import Agent
        from agent.settings import Settings
        from ui.mainwindow import MainWindow
        from ui.service import AgentService
        from ui.settings_dialog import SettingsDialog
        from ui.signin import SignInDialog
        from ui.tray import Tray

        link = SlowLink(stop_at=0.45)  # an upload stops part-way until released
        agent = await Agent.open_demo(self.data_dir, dispatcher=False, transport=link)
        service = AgentService(agent)
        window = MainWindow(service, tray_available=True)
        tray = Tray(service)
        window.show()
        area = window.screen().availableGeometry()  # filled, as a maximised window is
        window.setGeometry(area)
        service.refresh_status()
        await agent.sync_now()
        await self.pause(1.0)
        try:
            await self.some_work(agent)  # so that Health's charts show what a day looks like
            for page_id in ("today", "mywork", "queue", "conflicts", "health", "audit"):
                window.show_page(page_id)
                await self.pause(1.2 if page_id == "health" else 0.7)
                self.shoot(window, f"page-{page_id}{self.suffix}")
            await self.visit(agent, window, tray, link)

            tickets = await agent.my_tickets()
            statuses = {k: v for k, v in (await agent.picklists("Tickets"))["status"].items()}
            first, second = tickets[0], tickets[1]
            mine, theirs = [s for s in statuses if s not in (first.status, 5)][:2]
            await agent.set_work_offline(True)
            await agent.update_ticket(first.id, status=mine)
            await agent.update_ticket(second.id, title=second.title + " (checked on site)")
            await agent.add_note(
                first.id,
                "Replaced the fuser unit; printer tested.",
                title="On site",
                note_type=1,
                publish=1,
            )
            service.refresh_status()
            window.show_page("queue")
            await self.pause(1.0)
            self.shoot(window, f"offline-queue{self.suffix}")
            window.show_page("mywork")
            select = getattr(window.pages["mywork"], "select_ticket", None)
            if select is not None:
                select(first.id)
            await self.pause(1.0)
            self.shoot(window, f"offline-ticket{self.suffix}")

            async with httpx.AsyncClient() as http:  # the dispatcher changes the same field
                await http.patch(
                    f"{agent.demo_base_url}/_sim/tickets/{first.id}", json={"status": theirs}
                )
            await agent.set_work_offline(False)
            await agent.sync_now()
            service.refresh_status()
            window.show_page("conflicts")
            await self.pause(1.2)
            self.shoot(window, f"conflicts-found{self.suffix}")
            if not self.extras:
                return

            page = window.pages["conflicts"]
            open_dialog = getattr(page, "open_dialog", None)
            if open_dialog is not None and getattr(page, "conflicts", None):
                dialog = open_dialog(page.conflicts)
                await self.pause(1.2)
                if dialog is not None:
                    self.shoot(dialog, "conflict-dialog")
                    dialog.reject()

            tray.show_status(await agent.status())
            tray.menu.popup(QPoint(1100, 60))
            await self.pause(0.5)
            self.shoot(tray.menu, "tray-menu")
            tray.menu.hide()

            signin = SignInDialog(service, parent=window)
            signin.username.setText("fieldsync-api@contoso-msp.com")
            signin.secret.setText("wrong secret")
            signin.integration_code.setText("DEMO-INTEGRATION")
            signin.email.setText("alex.tech@contoso-msp.com")
            signin.show()
            signin.test_connection()
            await service.settle()
            await self.pause()
            self.shoot(signin, "sign-in")
            signin.close()

            settings = await asyncio.to_thread(lambda: agent.settings)
            dialog = SettingsDialog(service, settings or Settings(), None, window)
            dialog.show()
            await self.pause()
            self.shoot(dialog, "settings")
            dialog.close()

            bare = MainWindow(service, tray_available=False)
            bare.show()
            service.refresh_status()
            await self.pause(1.0)
            self.shoot(bare, f"no-tray-fallback{self.suffix}")
            bare.hide()
            self.icon_sheet()
        finally:
            tray.hide()
            window.hide()
            await service.shutdown()
            await agent.close()

    async def visit(self, agent: Any, window: Any, tray: Any, link: SlowLink) -> None:
        """A visit under way: the call's ticket with its checklist half done, the stopwatch
        running on it for 42 minutes, and a photo of the work uploading."""
        from PySide6.QtCore import QPoint

        from agent.store.models import StopwatchRun

        calls = [e for e in await agent.today(days=14) if e.kind == "service_call" and e.tickets]
        ticket = calls[0].tickets[0].id
        lines = await agent.checklist(ticket)
        for line in lines[:2]:
            if not line.done:
                await agent.set_checklist_item(ticket, line.id, True)
        await agent.start_timer(ticket)

        def started_earlier() -> None:  # as if the technician had arrived 42 minutes ago
            StopwatchRun.update(started_at=StopwatchRun.started_at - 42 * 60).where(
                StopwatchRun.stopped_at.is_null()
            ).execute()

        await agent.store.awrite(started_earlier)
        await agent.sync_now()
        if len(lines) > 2 and not lines[2].done:  # ticked since: waiting for the next sync
            await agent.set_checklist_item(ticket, lines[2].id, True)
        mywork = window.pages["mywork"]
        window.show_page("mywork")
        mywork.select_ticket(ticket)
        await self.pause(1.0)
        panel = mywork.panel
        panel.timer_bar.refresh()
        panel.tabs.setCurrentWidget(panel.checklist)
        await self.pause(1.2)
        self.shoot(window, f"ticket-checklist{self.suffix}")
        if self.extras:
            tray.stopwatch.refresh()
            tray.show_status(await agent.status())
            await self.pause(0.5)
            tray.menu.popup(QPoint(1100, 60))
            await self.pause(0.5)
            self.shoot(tray.menu, "tray-stopwatch")
            tray.menu.hide()

        await agent.attach_data(
            ticket, "switch-cabinet.jpg", os.urandom(2_400_000), title="Switch cabinet, after"
        )
        await agent.sync_now()  # the upload goes on in its own task, and stops part-way
        await asyncio.wait_for(link.held.wait(), 30)
        await self.pause(0.6)
        panel.tabs.setCurrentWidget(panel.files)
        await self.pause(1.0)
        self.shoot(window, f"upload-files{self.suffix}")
        window.show_page("queue")
        await self.pause(1.2)
        queue = window.pages["queue"]
        for row in range(queue.model.rowCount()):
            if queue.model.item_at(row).upload is not None:
                queue.table.selectRow(row)
        await self.pause(0.6)
        self.shoot(window, f"upload-queue{self.suffix}")
        link.release()
        if agent.engine is not None and agent.engine.pusher.uploads is not None:
            await agent.engine.pusher.uploads.drain()
        draft = await agent.stop_timer()
        await agent.discard_timer(draft.id)  # the later shots show no visit under way
        panel.tabs.setCurrentWidget(panel.details)
        await agent.sync_now()
        await self.pause(0.6)

    def icon_sheet(self) -> None:
        """The tray icons of every state at 16, 24 and 32 px on light and dark panels."""
        from PySide6.QtGui import QColor, QPainter, QPixmap

        from agent.api.types import SyncState
        from ui import icons

        sheet = QPixmap(6 * 64 + 16, 2 * 60)
        sheet.fill(QColor("#FFFFFF"))
        painter = QPainter(sheet)
        painter.fillRect(0, 60, sheet.width(), 60, QColor("#1F2937"))
        for row in range(2):
            for i, state in enumerate(SyncState):
                x = 8 + i * 64
                for size, dx in ((16, 0), (24, 18), (32, 32)):
                    painter.drawPixmap(
                        x + dx,
                        row * 60 + 14 + (32 - size) // 2,
                        icons.pixmap(icons.state_icon_name(state), size),
                    )
        painter.end()
        sheet.save(str(self.out / "tray-icons.png"))


if __name__ == "__main__":
    raise SystemExit(main())
