"""The case view's heatmaps: each model's beside its answer, drawn on the image at its own aspect ratio
(the models read a 224 x 224 squeeze of the whole image, so its heatmap stretches back over the whole
image), and one of them over the main image, zoomable with it: chosen in "On the image" or by clicking a
model's heatmap. One opacity for all. Rendering only: the view owns the state."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QImage, QPixmap

from melanoma_desktop.core.heatmaps import jet, overlay
from melanoma_desktop.ui.model_panel import HEATMAP_MAX_PX, HEATMAP_MIN_PX
from melanoma_desktop.ui.viewer import pixmap_from_rgb

PANEL_IMAGE_SIDE = 400  # the panels' copy of the original: enough for their size, cheap to blend


def small_copy(original: np.ndarray | None) -> np.ndarray | None:
    """The original at most PANEL_IMAGE_SIDE pixels a side, its aspect ratio kept."""
    if original is None:
        return None
    image = Image.fromarray(original)
    image.thumbnail((PANEL_IMAGE_SIDE, PANEL_IMAGE_SIDE), Image.Resampling.BILINEAR)
    return np.asarray(image)


def heat_image(heatmap: np.ndarray) -> QImage:
    """The heatmap in the 'jet' colours with each pixel's own transparency (cool regions see-through), for
    laying over the main image; the viewer stretches it over the whole image."""
    rgba = np.empty(heatmap.shape + (4,), np.uint8)
    rgba[..., :3] = np.rint(jet(heatmap) * 255)
    rgba[..., 3] = np.rint(np.clip(heatmap * 1.5, 0, 1) * 255)
    rgba = np.ascontiguousarray(rgba)
    return QImage(rgba.data, rgba.shape[1], rgba.shape[0], rgba.strides[0], QImage.Format_RGBA8888).copy()


def render(view) -> None:
    """Draw the panels' heatmaps and the main image's overlay as ``view`` (a CaseView) says."""
    show = view.wants_heatmaps()
    opacity = view.opacity_slider.value() / 100.0
    for name, panel in view.panels.items():
        panel.heatmap_caption.setText("")
        if not show:
            panel.heatmap_label.setPixmap(QPixmap())
            panel.heatmap_label.setText("")
        elif name in view.heatmaps:
            heatmap = view.heatmaps[name]
            pixmap = pixmap_from_rgb(overlay(view.small_original, heatmap, opacity))
            side = max(HEATMAP_MIN_PX, min(HEATMAP_MAX_PX, panel.width() - 24))
            panel.heatmap_label.setPixmap(pixmap.scaled(side, side, Qt.KeepAspectRatio, Qt.SmoothTransformation))
            panel.heatmap_caption.setText("" if heatmap.max() > 1e-3 else "no region raises this model's risk")
            panel.heatmap_label.setToolTip("Click to lay this heatmap over the image above (zoom there).")
        elif panel.info.available:
            panel.heatmap_label.setPixmap(QPixmap())
            panel.heatmap_label.setText("computing heatmap…")
    chosen = view.overlay_box.currentData()
    if show and chosen in view.heatmaps:
        view.viewer.set_overlay(heat_image(view.heatmaps[chosen]), opacity)
    else:
        view.viewer.set_overlay(None)


class PanelClicks(QObject):
    """A click on a model's heatmap lays it over the main image."""

    def __init__(self, view):
        super().__init__(view)
        self.view = view

    def eventFilter(self, obj, event):
        if event.type() == QEvent.MouseButtonPress:
            name = obj.property("model_name")
            index = self.view.overlay_box.findData(name)
            if index >= 0 and name in self.view.heatmaps:
                self.view.overlay_box.setCurrentIndex(index)
                return True
        return False
