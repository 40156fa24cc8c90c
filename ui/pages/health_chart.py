"""One metric's line chart over time (QtCharts), scaled to the unit a person reads it in."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCharts import QChart, QChartView, QDateTimeAxis, QLineSeries, QValueAxis
from PySide6.QtCore import QDateTime, QMargins, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen


@dataclass(frozen=True)
class Metric:
    name: str  # the facade's series name
    title: str
    unit: str
    scale: float  # stored value x scale = shown value
    colour: str
    floor_max: float  # the y axis shows at least 0..floor_max so flat lines are not magnified


METRICS = [
    Metric("queue_depth", "Queue depth", "operations", 1.0, "#2563eb", 5.0),
    Metric("throughput", "Throughput", "operations/min", 60.0, "#16a34a", 5.0),
    Metric("api_latency_p95", "API latency (p95)", "ms", 1000.0, "#9333ea", 500.0),
    Metric("error_rate", "Error rate", "%", 100.0, "#dc2626", 5.0),
    Metric("quota_use", "Hourly quota used", "%", 100.0, "#f59e0b", 100.0),
]


class MetricChart(QChartView):
    def __init__(self, metric: Metric) -> None:
        chart = QChart()
        super().__init__(chart)
        self.metric = metric
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(190)
        chart.legend().hide()
        chart.setMargins(QMargins(4, 4, 4, 4))
        chart.setBackgroundRoundness(8)
        chart.setTitle(f"{metric.title} ({metric.unit})")
        title_font = QFont()
        title_font.setPointSize(10)
        title_font.setBold(True)
        chart.setTitleFont(title_font)
        self.series = QLineSeries()
        pen = QPen(QColor(metric.colour))
        pen.setWidthF(2.0)
        self.series.setPen(pen)
        chart.addSeries(self.series)
        self.x_axis = QDateTimeAxis()
        self.x_axis.setTickCount(5)
        self.y_axis = QValueAxis()
        self.y_axis.setLabelFormat("%.0f")
        self.y_axis.setTickCount(4)
        small = QFont()
        small.setPointSize(8)
        for axis in (self.x_axis, self.y_axis):
            axis.setLabelsFont(small)
            axis.setGridLineColor(QColor("#e5e7eb"))
        chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignLeft)
        self.series.attachAxis(self.x_axis)
        self.series.attachAxis(self.y_axis)
        self.empty_note = chart.title()

    def show_points(self, points: list[tuple[float, float]], start: float, end: float) -> None:
        m = self.metric
        shown = [(t * 1000.0, v * m.scale) for t, v in points]
        self.series.clear()
        for x, y in shown:
            self.series.append(x, y)
        self.x_axis.setRange(
            QDateTime.fromMSecsSinceEpoch(int(start * 1000)),
            QDateTime.fromMSecsSinceEpoch(int(end * 1000)),
        )
        span = end - start
        self.x_axis.setFormat("HH:mm" if span <= 86400 else "d MMM")
        top = max([m.floor_max, *(y for _, y in shown)])
        self.y_axis.setRange(0.0, top * 1.1)
        self.y_axis.applyNiceNumbers()
        self.y_axis.setLabelFormat("%.1f" if top < 5 else "%.0f")
        last = f" · now {shown[-1][1]:.1f}" if shown else " · no data yet"
        self.chart().setTitle(f"{m.title} ({m.unit}){last}")

    def point_count(self) -> int:
        return self.series.count()
