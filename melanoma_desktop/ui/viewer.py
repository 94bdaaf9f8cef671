"""Widgets the case view draws with: the image viewer (zoom, pan, fit), a risk bar with its flag line
drawn as a tick, and the heatmaps' colour legend."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter, QPen, QPixmap, QTransform
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QSizePolicy, QWidget

from melanoma_desktop.core.heatmaps import jet

FLAG_RED = QColor("#b3261e")
CALM_BLUE = QColor("#1f5faa")


def pixmap_from_rgb(rgb: np.ndarray) -> QPixmap:
    rgb = np.ascontiguousarray(rgb)
    image = QImage(rgb.data, rgb.shape[1], rgb.shape[0], 3 * rgb.shape[1], QImage.Format_RGB888).copy()
    return QPixmap.fromImage(image)


class ImageViewer(QGraphicsView):
    """The original image at its own aspect ratio: fits the space it has until the clinician zooms (wheel
    or +/-), then pans by dragging; double-click or 0 fits it again."""

    sig_zoom_changed = Signal(float)  # scale relative to the image's pixels

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.SmoothTransformation)
        self.scene().addItem(self._item)
        self._overlay = QGraphicsPixmapItem(self._item)  # a heatmap over the picture, in the picture's coordinates
        self._overlay.setTransformationMode(Qt.SmoothTransformation)
        self._overlay.setVisible(False)
        self.setDragMode(QGraphicsView.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setRenderHints(QPainter.SmoothPixmapTransform | QPainter.Antialiasing)
        self.setMinimumSize(240, 240)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setBackgroundBrush(QColor("#202020"))
        self._fit = True
        self.setAccessibleName("Image viewer")
        self.setToolTip("Wheel or +/- to zoom, drag to pan, double-click or 0 to fit")

    def set_pixmap(self, pixmap: QPixmap | None) -> None:
        self._item.setPixmap(pixmap if pixmap is not None else QPixmap())
        self.scene().setSceneRect(QRectF(self._item.pixmap().rect()))
        self.set_overlay(None)
        self.fit()

    def set_overlay(self, image: QImage | None, opacity: float = 0.6) -> None:
        """``image`` (e.g. a heatmap, any size) stretched over the whole picture at ``opacity``, zooming and
        panning with it; None removes it. The picture itself is not touched."""
        if image is None or not self.has_image():
            self._overlay.setVisible(False)
            return
        self._overlay.setPixmap(QPixmap.fromImage(image))
        base = self._item.pixmap()
        self._overlay.setTransform(QTransform.fromScale(base.width() / image.width(), base.height() / image.height()))
        self._overlay.setOpacity(opacity)
        self._overlay.setVisible(True)

    def overlay_shown(self) -> bool:
        return self._overlay.isVisible()

    def has_image(self) -> bool:
        return not self._item.pixmap().isNull()

    def zoom_factor(self) -> float:
        return float(self.transform().m11())

    def fit(self) -> None:
        self._fit = True
        if self.has_image():
            self.fitInView(self._item, Qt.KeepAspectRatio)
        self.sig_zoom_changed.emit(self.zoom_factor())

    def zoom(self, factor: float) -> None:
        if not self.has_image():
            return
        new = min(max(self.zoom_factor() * factor, 0.02), 16.0)
        self._fit = False
        self.scale(new / self.zoom_factor(), new / self.zoom_factor())
        self.sig_zoom_changed.emit(self.zoom_factor())

    def wheelEvent(self, event):
        self.zoom(1.25 if event.angleDelta().y() > 0 else 0.8)

    def keyPressEvent(self, event):
        key = event.key()
        if key in (Qt.Key_Plus, Qt.Key_Equal):
            self.zoom(1.25)
        elif key == Qt.Key_Minus:
            self.zoom(0.8)
        elif key == Qt.Key_0:
            self.fit()
        else:
            super().keyPressEvent(event)

    def mouseDoubleClickEvent(self, event):
        self.fit()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if self._fit:
            self.fit()


class RiskBar(QWidget):
    """A probability as a bar with the flag line as a tick: red at or above the line, blue below."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.value: float | None = None
        self.line: float | None = None
        self.above_colour, self.below_colour = FLAG_RED, CALM_BLUE
        self.setMinimumHeight(22)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)

    def sizeHint(self):
        return QSize(200, 22)

    def set_value(self, value: float | None, line: float | None) -> None:
        self.value, self.line = value, line
        self.setToolTip("" if value is None else f"{value:.1%}" + (f"; flag line {line:.1%} (the tick)"
                                                                  if line is not None else ""))
        self.update()

    def paintEvent(self, _event):
        painter = QPainter(self)
        rect = self.rect().adjusted(1, 3, -1, -3)
        painter.fillRect(rect, QColor("#e6e6e6"))
        if self.value is not None:
            above = self.line is not None and self.value >= self.line
            filled = rect.adjusted(0, 0, -round(rect.width() * (1 - self.value)), 0)
            painter.fillRect(filled, self.above_colour if above else self.below_colour)
            painter.setPen(QColor("#000000") if self.value < 0.55 else QColor("#ffffff"))
            painter.drawText(rect.adjusted(6, 0, 0, 0), Qt.AlignVCenter | Qt.AlignLeft, f"{self.value:.0%}")
        if self.line is not None:
            x = rect.left() + round(rect.width() * self.line)
            painter.setPen(QPen(QColor("#000000"), 2))
            painter.drawLine(x, rect.top() - 3, x, rect.bottom() + 3)
        painter.end()


class HeatLegend(QWidget):
    """The heatmaps' colour scale: cool (little) to warm (much contribution to the risk)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFixedHeight(30)
        self.setMinimumWidth(140)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)

    def paintEvent(self, _event):
        painter = QPainter(self)
        bar = self.rect().adjusted(4, 2, -4, -16)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for stop in np.linspace(0, 1, 9):
            r, g, b = jet(stop)
            gradient.setColorAt(float(stop), QColor(int(r * 255), int(g * 255), int(b * 255)))
        painter.fillRect(bar, gradient)
        painter.setPen(QColor("#444444"))
        text_area = self.rect().adjusted(4, 16, -4, 0)
        painter.drawText(text_area, Qt.AlignLeft | Qt.AlignVCenter, "little")
        painter.drawText(text_area, Qt.AlignRight | Qt.AlignVCenter, "much" if bar.width() < 200 else
                         "much influence on the risk")  # the short words when the row is narrow
        painter.end()
