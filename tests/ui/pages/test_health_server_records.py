"""Health lists the records from Autotask that were skipped: how many, and the last fault (the
entity, field and what was wrong; never a value of the record)."""

from __future__ import annotations

import copy

from pytestqt.qtbot import QtBot

from agent.autotask.wire import format_datetime
from tests.ui.pages.conftest import Desk
from ui.pages.health import HealthPage

HUGE = 2**64 + 5


def test_health_names_the_records_autotask_sent_that_were_skipped(
    synced: Desk, qtbot: QtBot
) -> None:
    tickets = synced.sim.tenant.records["Tickets"]
    mine = synced.run(synced.agent.my_tickets())
    bad = copy.deepcopy(tickets[mine[0].id])
    bad["id"] = HUGE
    bad["lastTrackedModificationDateTime"] = format_datetime(synced.clock.now())
    tickets[HUGE] = bad
    synced.clock.advance(1.0)
    report = synced.run(synced.agent.sync_now())
    assert report is not None and report.error is None, report
    page = HealthPage(synced.service)
    qtbot.addWidget(page)
    page.show()
    page.activate()
    synced.settle(lambda: page.refreshes >= 1)
    lines = [page.checks.item(i).text() for i in range(page.checks.count())]
    (line,) = [text for text in lines if text.startswith("Server records:")]
    assert "skipped" in line and "Tickets.id: beyond 64 bits" in line
    assert str(HUGE) not in line and bad["title"] not in line
