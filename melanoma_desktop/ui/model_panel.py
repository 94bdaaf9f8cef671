"""One model's answer in the case view: its risk on a bar with its own flag line, and its heatmap."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGroupBox, QLabel, QSizePolicy, QVBoxLayout

from melanoma_desktop.core.records import ModelInfo
from melanoma_desktop.core.wording import short_model_name
from melanoma_desktop.ui.viewer import RiskBar

HEATMAP_MIN_PX, HEATMAP_MAX_PX = 120, 280  # heatmaps take the width their panel has, within these
HEATMAP_CAPTION = ("Warm colours: the regions that raised this model's risk the most. They can point at "
                   "artefacts (hair, ruler marks, bubbles, ink) as well as at the lesion.")


class ModelPanel(QGroupBox):
    """One model's answer: its risk on a bar with its own flag line as a tick, and its heatmap."""

    def __init__(self, info: ModelInfo, parent=None):
        super().__init__(parent)
        self.info = info
        self.setObjectName(f"panel_{info.name}")
        self.setTitle(short_model_name(info.display_name))
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # three share the width equally
        self.setMinimumWidth(HEATMAP_MIN_PX + 24)
        layout = QVBoxLayout(self)
        self.class_label = QLabel("—")
        self.class_label.setWordWrap(True)
        self.class_label.setStyleSheet("font-weight: 600;")
        self.bar = RiskBar()
        self.bar.above_colour, self.bar.below_colour = QColor("#c77a6f"), QColor("#8a9bb0")  # muted: detail only
        layout.addWidget(self.class_label)
        layout.addWidget(self.bar)
        m = info.test_metrics
        detail = ""
        if m.get("sensitivity") is not None:
            detail = (f"On its test images: caught {m['sensitivity']:.0%} of melanomas at its flag line"
                      + (f", cleared {m['specificity']:.0%} of benign lesions" if m.get("specificity") is not None
                         else ""))
        self.setToolTip(f"version {info.version}" if info.version else "")  # engineering detail, on hover
        self.detail_label = QLabel(detail)
        self.detail_label.setWordWrap(True)
        self.detail_label.setStyleSheet("color: #555; font-size: 11px;")
        layout.addWidget(self.detail_label)
        self.heatmap_label = QLabel("")
        self.heatmap_label.setAlignment(Qt.AlignCenter)
        self.heatmap_label.setMinimumSize(HEATMAP_MIN_PX, HEATMAP_MIN_PX)
        self.heatmap_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # its pixmap follows the panel
        self.heatmap_label.setToolTip(HEATMAP_CAPTION)
        layout.addWidget(self.heatmap_label, 1)
        self.heatmap_caption = QLabel("")
        self.heatmap_caption.setAlignment(Qt.AlignCenter)
        self.heatmap_caption.setStyleSheet("color: #555; font-size: 11px;")
        layout.addWidget(self.heatmap_caption)
        if not info.available:
            self.class_label.setText("unavailable")
            self.detail_label.setText(info.reason)

    def show_prediction(self, prediction, assessable: bool = True) -> None:
        if not self.info.available:
            return
        if prediction is None:
            self.class_label.setText("")
            self.bar.set_value(None, None)
            return
        if not assessable:
            self.class_label.setText("not shown: the image cannot be assessed")
            self.class_label.setStyleSheet("font-weight: 600; color: #555;")
            self.bar.set_value(None, None)
            return
        above = prediction.label == "malignant"
        self.class_label.setText(f"{prediction.p_malignant:.0%} — {'above' if above else 'below'} this model's "
                                 f"own flag line ({prediction.threshold:.0%})")
        self.class_label.setStyleSheet("font-weight: 600; color: #222;")  # detail: the combined flag has the colour
        self.bar.set_value(prediction.p_malignant, prediction.threshold)
        if prediction.version != self.info.version:
            self.detail_label.setText(f"read by an earlier version ({prediction.version}; installed: "
                                      f"{self.info.version})")
