"""Live learning curves drawn with QPainter: cheap enough to repaint every epoch without stalling
the GUI (a matplotlib redraw of the same plots took ~110 ms here)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

SERIES = (("loss", "#1f77b4", Qt.SolidLine), ("val_loss", "#ff7f0e", Qt.DashLine),
          ("accuracy", "#1f77b4", Qt.SolidLine), ("val_accuracy", "#ff7f0e", Qt.DashLine))


class LiveCurves(QWidget):
    """One column per model: loss on top, accuracy below; training solid, validation dashed."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.histories: dict[str, dict[str, list[float]]] = {}
        self.setMinimumHeight(240)

    def set_histories(self, histories: dict[str, dict[str, list[float]]]) -> None:
        self.histories = histories
        self.update()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        painter.fillRect(self.rect(), QColor("white"))
        names = list(self.histories) or ["(waiting for the first epoch)"]
        width = self.width() / len(names)
        for i, name in enumerate(names):
            column = QRectF(i * width, 0, width, self.height())
            painter.setPen(QColor("#222"))
            painter.drawText(column.adjusted(0, 2, 0, 0), Qt.AlignHCenter | Qt.AlignTop,
                             f"{name}   (training —, validation - -)")
            history = self.histories.get(name, {})
            half = (column.height() - 20) / 2
            # room on the left for the longest axis label ("accuracy") or value ("53.19") in this font
            margin = 8 + max(painter.fontMetrics().horizontalAdvance(t) for t in ("accuracy", "000.00"))
            for row, keys in enumerate((("loss", "val_loss"), ("accuracy", "val_accuracy"))):
                box = QRectF(column.left() + margin, 22 + row * half + 4, column.width() - margin - 12, half - 22)
                self._plot(painter, box, keys[0], [history.get(k, []) for k in keys], margin)
        painter.end()

    def _plot(self, painter: QPainter, box: QRectF, label: str, series: list[list[float]], margin: float) -> None:
        painter.setPen(QPen(QColor("#999"), 1))
        painter.drawRect(box)
        values = [v for s in series for v in s]
        painter.setPen(QColor("#333"))
        painter.drawText(QRectF(box.left() - margin, box.top(), margin - 4, box.height()),
                         Qt.AlignVCenter | Qt.AlignRight, label)
        if not values:
            return
        low, high = min(values), max(values)
        if high - low < 1e-9:
            low, high = low - 0.5, high + 0.5
        n = max(len(s) for s in series)
        painter.drawText(QRectF(box.left() - margin, box.top() - 2, margin - 4, 14), Qt.AlignRight, f"{high:.2f}")
        painter.drawText(QRectF(box.left() - margin, box.bottom() - 12, margin - 4, 14), Qt.AlignRight, f"{low:.2f}")
        painter.drawText(QRectF(box.left(), box.bottom() + 1, box.width(), 14), Qt.AlignRight, f"epoch {n}")
        for values_, (_key, colour, style) in zip(series, SERIES[2 * (label == "accuracy"):]):
            if not values_:
                continue
            pen = QPen(QColor(colour), 2)
            pen.setStyle(style)
            painter.setPen(pen)
            step = box.width() / max(n - 1, 1)
            points = [QPointF(box.left() + k * step, box.bottom() - (v - low) / (high - low) * box.height())
                      for k, v in enumerate(values_)]
            painter.drawPolyline(QPolygonF(points))
            for point in points:
                painter.drawEllipse(point, 2.5, 2.5)
