"""Health (charts, checks, breakers, alerts, forecasts; refreshing only while visible) and Audit
(filters, details, chain verification, export)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.ui.pages.conftest import Desk
from ui.pages.audit import AuditPage
from ui.pages.health import WINDOWS, HealthPage, forecast_words
from ui.pages.health_chart import METRICS


def test_health_charts_every_metric_and_lists_components(synced: Desk, qtbot: QtBot) -> None:
    tickets = synced.run(synced.agent.my_tickets())
    sampler = synced.agent.observe.monitor.sampler
    sampler.tick()
    for t in tickets[:3]:
        synced.run(synced.agent.update_ticket(t.id, title=f"{t.title} (checked)"))
        synced.clock.advance(30)
        synced.run(synced.agent.sync_now())
        sampler.tick()  # the sampler's readings, as every ten seconds
    page = HealthPage(synced.service)
    qtbot.addWidget(page)
    page.resize(1280, 900)
    page.show()
    page.activate()
    synced.settle(lambda: page.refreshes >= 1)
    assert set(page.charts) == {m.name for m in METRICS}
    start, end = page.last_window
    for metric in METRICS:
        points = synced.run(synced.agent.series(metric.name, start, end))
        assert page.charts[metric.name].point_count() == len(points), metric.name
    # The work just done is drawn, not "no data yet".
    for name in ("queue_depth", "throughput", "api_latency_p95", "quota_use"):
        assert page.charts[name].point_count() > 0, name
    throughput = synced.run(synced.agent.series("throughput", start, end))
    quota = synced.run(synced.agent.series("quota_use", start, end))
    assert max(v for _, v in throughput) > 0 and quota[-1][1] > 0
    assert page.checks.count() >= 1 and page.breakers.count() >= 1
    assert page.alerts.count() >= 1  # an alert, or the line saying there is none
    assert page.timer.isActive()
    page.window_buttons.button(3).click()
    synced.settle(lambda: page.refreshes >= 2)
    assert page.window_s == WINDOWS[3][1]
    page.hide()
    assert not page.timer.isActive()  # no refreshing while nobody looks


def test_forecasts_are_said_in_words() -> None:
    words = forecast_words({"queue_drain_s": 240.0, "quota_exhaust_s": None})
    assert words == ["Queue drains in about 4 min."]
    assert forecast_words({}) == ["Nothing to forecast: the link is quiet."]
    rising = forecast_words({"error_rate_slope": 0.05})
    assert rising == ["Errors are rising (+5.0 points per hour)."]


def open_audit(desk: Desk, qtbot: QtBot) -> AuditPage:
    page = AuditPage(desk.service)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    page.activate()
    desk.idle()
    return page


def test_audit_filters_and_shows_the_details_as_a_field_list(synced: Desk, qtbot: QtBot) -> None:
    tickets = synced.run(synced.agent.my_tickets())
    synced.run(synced.agent.update_ticket(tickets[0].id, title="Audited title"))
    synced.run(synced.agent.update_ticket(tickets[1].id, title="Another"))
    page = open_audit(synced, qtbot)
    everything = page.model.rowCount()
    assert everything >= 2
    page.show_entity("Tickets", str(tickets[0].id))
    synced.idle()
    assert page.model.rowCount() >= 1
    assert {page.model.entry_at(r).entity_id for r in range(page.model.rowCount())} == {
        str(tickets[0].id)
    }
    page.table.selectRow(0)
    shown = page.details.toPlainText()
    assert f"Ticket {tickets[0].number} (id {tickets[0].id})" in shown
    assert (
        "Changed: Title:" in shown
        and "Audited title" in shown
        and "{" not in shown
        and '"' not in shown
    )
    page.entity_id.clear()
    page.text.setText("Another")
    page.apply_filters()
    synced.idle()
    assert page.model.rowCount() >= 1
    assert all(
        "Another" in json.dumps(page.model.entry_at(r).detail) for r in range(page.model.rowCount())
    )
    page.text.clear()
    page.ranged.setChecked(True)  # the last week, by the agent's clock
    synced.idle()
    with_range = page.model.rowCount()
    page.since.setDate(page.until.date().addDays(1))
    synced.idle()
    assert with_range >= 1 and page.model.rowCount() == 0


def test_the_record_filter_takes_the_ticket_number_shown(synced: Desk, qtbot: QtBot) -> None:
    tickets = synced.run(synced.agent.my_tickets())
    ticket = tickets[0]
    assert ticket.number.startswith("T") and ticket.number != str(ticket.id)
    synced.run(synced.agent.update_ticket(ticket.id, title="Numbered"))
    synced.run(synced.agent.update_ticket(tickets[1].id, title="Other"))
    page = open_audit(synced, qtbot)
    by_id = page.model.rowCount()
    for typed in (ticket.number, ticket.number.lower(), f"Ticket {ticket.number}"):
        page.entity_id.setText(typed)
        page.apply_filters()
        synced.idle()
        assert page.model.rowCount() >= 1, typed
        assert {page.model.entry_at(r).entity_id for r in range(page.model.rowCount())} == {
            str(ticket.id)
        }, typed
    page.show_entity("Tickets", str(ticket.id))
    synced.idle()
    assert page.model.rowCount() >= 1 and by_id >= page.model.rowCount()
    page.entity_id.setText("T19990101.0000")  # no such ticket: nothing, not everything
    page.apply_filters()
    synced.idle()
    assert page.model.rowCount() == 0


def test_verify_chain_says_intact_then_where_it_breaks(synced: Desk, qtbot: QtBot) -> None:
    tickets = synced.run(synced.agent.my_tickets())
    for t in tickets[:3]:
        synced.run(synced.agent.update_ticket(t.id, title=f"{t.title}!"))
    page = open_audit(synced, qtbot)
    page.verify_button.click()
    synced.idle()
    assert page.verdict.text() == "Chain intact"
    first = synced.run(synced.agent.audit_events(limit=500))[-1].id
    db = next(synced.data_dir.rglob("agent.sqlite3"))
    conn = sqlite3.connect(db)  # someone edits the history behind the agent's back
    with conn:
        conn.execute('DROP TRIGGER "audit_event_no_update"')
        conn.execute("UPDATE audit_event SET detail=? WHERE id=?", ('{"forged": true}', first))
    conn.close()
    page.verify_button.click()
    synced.idle()
    assert page.verdict.text() == "Chain broken"
    assert f"#{first}" in page.verdict_text.text()


def test_audit_exports_csv(synced: Desk, qtbot: QtBot, tmp_path: Path) -> None:
    tickets = synced.run(synced.agent.my_tickets())
    synced.run(synced.agent.update_ticket(tickets[0].id, title="Exported"))
    page = open_audit(synced, qtbot)
    target = tmp_path / "audit.csv"
    page.export_to(target)
    synced.idle()
    assert target.exists() and "Exported" in target.read_text(encoding="utf-8")
    assert "Exported" in page.verdict_text.text()


def test_a_chart_leaves_a_gap_where_the_agent_was_closed(qtbot: QtBot) -> None:
    from ui.pages.health_chart import MetricChart

    chart = MetricChart(METRICS[0])
    qtbot.addWidget(chart)
    before = [(1000.0 + 10 * i, 3.0) for i in range(10)]
    after = [(9000.0 + 10 * i, 0.0) for i in range(10)]  # two hours closed in between
    chart.show_points(before + after, 900.0, 9200.0)
    assert chart.segment_count() == 2 and chart.point_count() == 20
    chart.show_points(before, 900.0, 9200.0)
    assert chart.segment_count() == 1 and chart.point_count() == 10


def test_small_readings_keep_their_digits() -> None:
    from ui.pages.health_chart import figure

    assert [figure(v) for v in (0.0, 0.048, 4.82, 48.2)] == ["0", "0.048", "4.8", "48"]


def test_the_audit_summary_keeps_its_room_on_a_laptop_sized_page(
    synced: Desk, qtbot: QtBot
) -> None:
    from ui.models.audit_model import SUMMARY

    ticket = synced.run(synced.agent.my_tickets())[0]
    synced.run(synced.agent.update_ticket(ticket.id, title="Audited on a laptop"))
    page = open_audit(synced, qtbot)
    page.resize(1032, 600)  # a 1280x720 window less the sidebar
    synced.idle()
    assert page.model.rowCount() >= 1
    viewport = page.table.viewport().width()
    assert page.table.columnWidth(SUMMARY) >= 0.4 * viewport
    assert page.text.width() >= 160  # the search box is usable, not "S…"


def test_a_long_alert_wraps_in_its_card_instead_of_scrolling_sideways(
    synced: Desk, qtbot: QtBot
) -> None:
    from PySide6.QtWidgets import QListWidgetItem

    page = HealthPage(synced.service)
    qtbot.addWidget(page)
    page.resize(1032, 600)  # a 1280x720 window less the sidebar
    page.show()
    page.alerts.clear()
    page.alerts.addItem(
        QListWidgetItem(
            "At the current pace this agent's request share runs out in about 15 min "
            "(since 2 Dec 2026 15:12)"
        )
    )
    qtbot.waitUntil(lambda: page.alerts.viewport().width() > 0)
    assert page.alerts.horizontalScrollBar().maximum() == 0
    assert page.alerts.visualItemRect(page.alerts.item(0)).width() <= page.alerts.viewport().width()
