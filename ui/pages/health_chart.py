"""One metric's line chart over time (QtCharts), scaled to the unit a person reads it in."""

from __future__ import annotations

import itertools
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
    Metric("throughput", "Throughput", "per min", 60.0, "#16a34a", 5.0),
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
        self.pen = QPen(QColor(metric.colour))
        self.pen.setWidthF(2.0)
        self.series = self._new_segment(chart)
        self.segments = [self.series]  # one line per stretch of time the agent was running
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

    def _new_segment(self, chart: QChart) -> QLineSeries:
        line = QLineSeries()
        line.setPen(self.pen)
        chart.addSeries(line)
        return line

    def show_points(self, points: list[tuple[float, float]], start: float, end: float) -> None:
        m = self.metric
        shown = [(t * 1000.0, v * m.scale) for t, v in points]
        chart = self.chart()
        for extra in self.segments[1:]:
            chart.removeSeries(extra)
        self.segments = [self.series]
        self.series.clear()
        line = self.series
        for i, run in enumerate(split_at_gaps(points)):
            if i:
                line = self._new_segment(chart)
                line.attachAxis(self.x_axis)
                line.attachAxis(self.y_axis)
                self.segments.append(line)
            for t, v in run:
                line.append(t * 1000.0, v * m.scale)
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
        last = f" · now {figure(shown[-1][1])}" if shown else " · no data yet"
        self.chart().setTitle(f"{m.title} ({m.unit}){last}")

    def point_count(self) -> int:
        return sum(line.count() for line in self.segments)

    def segment_count(self) -> int:
        """How many separate lines are drawn (a gap where the agent was not running)."""
        return sum(1 for line in self.segments if line.count())


def figure(value: float) -> str:
    """A reading with the digits that say something: 0.04 % is not "0.0"."""
    if value == 0 or abs(value) >= 10:
        return f"{value:.0f}"
    return f"{value:.1f}" if abs(value) >= 1 else f"{value:.2g}"


def split_at_gaps(points: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Runs of points without a hole: a step more than five times the usual one (and over a
    minute) is time when nothing was sampled (the program was closed), drawn as a gap."""
    if len(points) < 2:
        return [points] if points else []
    steps = sorted(b[0] - a[0] for a, b in itertools.pairwise(points))
    usual = steps[len(steps) // 2]
    limit = max(60.0, 5 * usual)
    runs = [[points[0]]]
    for a, b in itertools.pairwise(points):
        if b[0] - a[0] > limit:
            runs.append([])
        runs[-1].append(b)
    return runs
