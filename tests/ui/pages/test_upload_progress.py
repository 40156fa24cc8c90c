"""An attachment uploading shows how far it is, in the Queue page and in the ticket's Files tab:
a real upload against the in-process simulator, whose server stops reading the file part-way
until the test lets it go on."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pytestqt.qtbot import QtBot

from agent.api.facade import Agent
from agent.clock import FakeClock
from agent.simulator import Simulator
from tests.e2e.conftest import options
from tests.ui.pages.conftest import Desk
from tests.ui.pages.test_mywork import choose
from tests.ui.pages.test_mywork import open_page as open_mywork
from tests.ui.pages.test_queue import open_page as open_queue
from tests.visit.upload_gate import HalfRead
from ui.models.queue_model import STATE
from ui.service import AgentService

MB = 1_000_000


@pytest.fixture
def slow_desk(qloop: asyncio.AbstractEventLoop, tmp_path: Path) -> Iterator[tuple[Desk, HalfRead]]:
    clock = FakeClock()
    sim = Simulator(seed="ui-pages", tickets=60, clock=clock)
    sim.limits.latency_enabled = False
    app = HalfRead(sim.app, taken=MB)
    opts = dataclasses.replace(
        options(sim, clock, tmp_path), transport=httpx.ASGITransport(app=app)
    )
    agent = qloop.run_until_complete(Agent.open(opts))
    service = AgentService(agent)
    desk = Desk(qloop, sim, agent, service, clock, tmp_path)
    try:
        report = desk.run(agent.sync_now())
        assert report is not None and report.error is None, report
        yield desk, app
    finally:
        app.gate.set()
        qloop.run_until_complete(service.shutdown())
        qloop.run_until_complete(agent.close())
        service.deleteLater()


def state_texts(page) -> list[str]:
    model = page.model
    return [model.data(model.index(r, STATE)) or "" for r in range(model.rowCount())]


def test_the_queue_and_the_files_tab_show_an_upload_under_way(
    slow_desk: tuple[Desk, HalfRead], qtbot: QtBot
) -> None:
    desk, server = slow_desk
    queue = open_queue(desk, qtbot)
    mywork = open_mywork(desk, qtbot)
    ticket = desk.run(desk.agent.my_tickets())[0].id
    choose(desk, mywork, ticket)
    mywork.panel.tabs.setCurrentWidget(mywork.panel.files)
    files = mywork.panel.files
    desk.run(desk.agent.attach_data(ticket, "panel.jpg", os.urandom(2 * MB), title="Panel"))
    desk.settle(lambda: any(t == "Waiting" for t in state_texts(queue)))

    desk.run(desk.agent.sync_now())  # hands the upload to its own task, which goes on
    desk.settle(lambda: server.held == 1)
    uploading = re.compile(r"Uploading (\d+)\s%")
    seen: list[tuple[int, int]] = []  # (row, percent), from one reading of the table

    def under_way() -> bool:
        texts = state_texts(queue)
        seen[:] = [(i, int(m[1])) for i, t in enumerate(texts) if (m := uploading.fullmatch(t))]
        return any(percent > 0 for _, percent in seen)

    desk.settle(under_way)
    [(row, percent)] = seen
    assert 0 < percent < 100
    shown = re.compile(r"Uploading: [\d.]+ (MB|KB) of 2\.0 MB sent \(\d+\s%\)")

    def selected_shows_progress() -> bool:
        # The pane is filled when a row is selected: select the uploading row (again, should
        # a refresh of the list have taken the selection away).
        if shown.search(queue.detail_text.text()):
            return True
        queue.table.clearSelection()
        queue.table.selectRow(row)
        return False

    desk.settle(selected_shows_progress)
    desk.settle(lambda: "uploading: " in files.list.item(0).text())
    assert re.search(r"of 2\.0 MB sent \(\d+\s%\)", files.list.item(0).text())
    assert files.upload_row.isVisible() and 0 < files.upload_bar.value() < 100

    server.gate.set()
    engine = desk.agent.engine
    assert engine is not None and engine.pusher.uploads is not None
    desk.run(engine.pusher.uploads.drain())
    desk.settle(lambda: not any(t.startswith("Uploading") for t in state_texts(queue)))
    desk.settle(lambda: files.list.item(0).text().endswith("sent"))
    assert not files.upload_row.isVisible()
    assert len(desk.sim.dump().get("TicketAttachments", {})) == 1
