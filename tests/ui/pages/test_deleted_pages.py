"""A page deleted while the service lives on is never called back by the service's signals."""

from __future__ import annotations

from pytestqt.qtbot import QtBot
from shiboken6 import delete

from tests.ui.pages.conftest import Desk
from ui.pages.health import HealthPage
from ui.pages.ticket import TicketPanel


def test_service_signals_after_the_pages_are_deleted_reach_nothing(
    synced: Desk, qtbot: QtBot
) -> None:
    status = synced.service.last_status
    panel = TicketPanel(synced.service)
    health = HealthPage(synced.service)
    delete(panel)
    delete(health)
    with qtbot.captureExceptions() as raised:
        synced.service.statusChanged.emit(status)
        synced.service.alertRaised.emit(object())
        synced.service.alertResolved.emit(object())
        synced.idle()
    assert raised == []
