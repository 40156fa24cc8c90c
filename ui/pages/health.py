"""Health: charts of the sync link (queue depth, throughput, latency, errors, quota) over a chosen
window, component checks, circuit breakers, and active alerts with forecasts in words."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ui.models.look import chip_style, dot_icon, local_text, span_words
from ui.pages.common import PAGE_QSS, PageHeader, chip
from ui.pages.health_chart import METRICS, MetricChart
from ui.service import AgentService

WINDOWS = [("15 min", 900), ("1 h", 3600), ("24 h", 86400), ("7 d", 7 * 86400)]
REFRESH_MS = 10_000
STATUS_TONES = {
    "ok": "ok",
    "healthy": "ok",
    "closed": "ok",
    "degraded": "pending",
    "half_open": "pending",
    "warning": "pending",
    "unhealthy": "error",
    "open": "error",
    "critical": "error",
    "error": "error",
}


def tone_of(status: str) -> str:
    return STATUS_TONES.get(status.lower(), "muted")


def forecast_words(forecasts: dict[str, float | None]) -> list[str]:
    """The forecasts as sentences ("Queue drains in about 4 min")."""
    out: list[str] = []
    drain = forecasts.get("queue_drain_s")
    if drain is not None:
        out.append(
            "The queue is empty." if drain <= 0 else f"Queue drains in about {span_words(drain)}."
        )
    quota = forecasts.get("quota_exhaust_s")
    if quota is not None:
        out.append(
            f"The hourly request limit is reached in about {span_words(quota)} at this pace."
        )
    slope = forecasts.get("error_rate_slope")
    if slope is not None and abs(slope) > 1e-6:
        trend = "rising" if slope > 0 else "falling"
        out.append(f"Errors are {trend} ({slope * 100:+.1f} points per hour).")
    return out or ["Nothing to forecast: the link is quiet."]


def wrap_lines(view: QListWidget) -> None:
    """Long lines (an alert's message) wrap at a word in the card's width, with no sideways
    scrolling to read them."""
    view.setWordWrap(True)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)


class HealthPage(QWidget):
    page_id = "health"
    countChanged = Signal(int)  # active alerts

    def __init__(self, service: AgentService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.setStyleSheet(PAGE_QSS)
        self.window_s = WINDOWS[1][1]
        outer = QVBoxLayout(self)
        outer.setContentsMargins(20, 16, 20, 16)
        outer.setSpacing(10)
        header = PageHeader("Health", "How well changes reach Autotask, and what comes next.")
        self.window_buttons = QButtonGroup(self)
        for i, (label, seconds) in enumerate(WINDOWS):
            b = QPushButton(label, checkable=True)
            b.setChecked(seconds == self.window_s)
            self.window_buttons.addButton(b, i)
            header.add_action(b)
        self.window_buttons.idClicked.connect(self._window_chosen)
        outer.addWidget(header)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        box = QVBoxLayout(body)
        box.setContentsMargins(0, 0, 4, 0)
        box.setSpacing(12)
        box.addLayout(self._summary_row())
        grid = QGridLayout()
        grid.setSpacing(10)
        self.charts = {m.name: MetricChart(m) for m in METRICS}
        for i, chart in enumerate(self.charts.values()):
            grid.addWidget(chart, i // 3, i % 3)
        box.addLayout(grid)
        box.addLayout(self._lists_row())
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        self.timer = QTimer(self, interval=REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        # Bound slots, not lambdas: Qt drops the connections when this page is deleted.
        service.alertRaised.connect(self._alert_news)
        service.alertResolved.connect(self._alert_news)
        self.refreshes = 0
        self.last_window = (0.0, 0.0)

    def _card(self, title: str) -> tuple[QFrame, QVBoxLayout]:
        card = QFrame(objectName="card")
        col = QVBoxLayout(card)
        col.setContentsMargins(14, 10, 14, 10)
        col.addWidget(QLabel(title, objectName="sectionTitle"))
        return card, col

    def _summary_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(10)
        card, col = self._card("Overall")
        self.status_chip = chip("…", "muted")
        self.status_reason = QLabel(objectName="muted")
        self.status_reason.setWordWrap(True)
        col.addWidget(self.status_chip)
        col.addWidget(self.status_reason)
        col.addStretch(1)
        row.addWidget(card, 1)
        card, col = self._card("Forecasts")
        self.forecasts = QLabel()
        self.forecasts.setWordWrap(True)
        col.addWidget(self.forecasts)
        col.addStretch(1)
        row.addWidget(card, 2)
        card, col = self._card("Active alerts")
        self.alerts = QListWidget()
        self.alerts.setAccessibleName("Alerts")
        self.alerts.setFrameShape(QFrame.Shape.NoFrame)
        wrap_lines(self.alerts)
        self.alerts.setMaximumHeight(110)
        col.addWidget(self.alerts)
        row.addWidget(card, 2)
        for i in range(row.count()):
            widget = row.itemAt(i).widget()
            if widget is not None:
                widget.setMaximumHeight(150)
        return row

    def _lists_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(10)
        card, col = self._card("Components")
        self.checks = QListWidget()
        self.checks.setAccessibleName("Checks")
        self.checks.setFrameShape(QFrame.Shape.NoFrame)
        wrap_lines(self.checks)
        col.addWidget(self.checks)
        row.addWidget(card, 3)
        card, col = self._card("Circuit breakers")
        self.breakers = QListWidget()
        self.breakers.setAccessibleName("Connections to Autotask")
        self.breakers.setFrameShape(QFrame.Shape.NoFrame)
        wrap_lines(self.breakers)
        col.addWidget(self.breakers)
        row.addWidget(card, 2)
        return row

    # -- the page contract -----------------------------------------------------------------
    def activate(self) -> None:
        self.refresh()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.timer.start()  # charts refresh only while someone can see them

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        self.timer.stop()

    def _alert_news(self, _alert: object) -> None:
        self._refresh_if_visible()

    def _refresh_if_visible(self) -> None:
        if self.isVisible():
            self.refresh()

    def _window_chosen(self, index: int) -> None:
        self.window_s = WINDOWS[index][1]
        self.refresh()

    def refresh(self) -> None:
        agent: Any = self.service.agent
        end = agent.clock.now().timestamp()
        start = end - self.window_s

        async def fetch() -> tuple[Any, list[Any], list[list[tuple[float, float]]]]:
            series = await asyncio.gather(*(agent.series(m.name, start, end) for m in METRICS))
            return agent.health(), await agent.alerts(), list(series)

        self.service.run(fetch(), lambda got: self._show(start, end, *got), self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.status_chip.setText("Unknown")
        self.status_chip.setStyleSheet(chip_style("muted"))
        self.status_reason.setText(f"Health could not be read: {exc}")

    def _show(
        self,
        start: float,
        end: float,
        health: Any,
        alerts: list[Any],
        series: list[list[tuple[float, float]]],
    ) -> None:
        self.refreshes += 1
        self.last_window = (start, end)
        for metric, points in zip(METRICS, series, strict=True):
            self.charts[metric.name].show_points(points, start, end)
        self.status_chip.setText(str(health.status).replace("_", " ").capitalize())
        self.status_chip.setStyleSheet(chip_style(tone_of(str(health.status))))
        reason = health.reason
        if health.findings:
            reason += "\n" + "\n".join(f"• {f}" for f in health.findings[:4])
        self.status_reason.setText(reason)
        self.forecasts.setText("\n".join(forecast_words(dict(health.forecasts))))
        self.checks.clear()
        for name, status, detail in health.checks:
            item = QListWidgetItem(f"{name.replace('_', ' ').capitalize()}: {detail or status}")
            item.setIcon(dot_icon(tone_of(status)))
            item.setToolTip(status)
            self.checks.addItem(item)
        if not health.checks:
            self.checks.addItem("No component reported yet.")
        self.breakers.clear()
        for name, state in health.breakers:
            words = {"closed": "working", "open": "paused after errors", "half_open": "testing"}
            item = QListWidgetItem(f"{name}: {words.get(state, state)}")
            item.setIcon(dot_icon(tone_of(state)))
            self.breakers.addItem(item)
        if not health.breakers:
            self.breakers.addItem("No endpoint called yet.")
        self.alerts.clear()
        for a in alerts:
            tone = "error" if a.severity in ("critical", "error") else "pending"
            item = QListWidgetItem(f"{a.message}  (since {local_text(a.first_seen)})")
            item.setIcon(dot_icon(tone))
            item.setToolTip(f"{a.rule} · {a.severity} · {a.state}")
            self.alerts.addItem(item)
        if not alerts:
            item = QListWidgetItem("No active alerts.")
            item.setIcon(dot_icon("ok"))
            self.alerts.addItem(item)
        self.countChanged.emit(len(alerts))
