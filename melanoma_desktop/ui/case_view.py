"""The selected case: the image large, one panel per model side by side, the consensus, and the
clinician's own note, label and review flag."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                               QPlainTextEdit, QProgressBar, QSlider, QVBoxLayout, QWidget)

from melanoma_desktop.core.records import CLINICIAN_LABELS, ModelInfo, ModelPrediction, TriageRecord
from trainer.errors import ImageDecodeError
from trainer.imageio import load_rgb


HEATMAP_PX = 160


def _bar(colour: str) -> QProgressBar:
    bar = QProgressBar()
    bar.setRange(0, 1000)
    bar.setTextVisible(True)
    bar.setStyleSheet(f"QProgressBar::chunk {{ background: {colour}; }}")
    return bar


class ModelPanel(QGroupBox):
    """One model's answer: class, probability bars for both classes, and its own threshold."""

    def __init__(self, info: ModelInfo, parent=None):
        super().__init__(parent)
        self.info = info
        self.setObjectName(f"panel_{info.name}")
        self.setTitle(info.display_name)
        layout = QGridLayout(self)
        self.version_label = QLabel(f"version {info.version}" if info.version else "")
        self.version_label.setStyleSheet("color: #555; font-size: 11px;")
        self.class_label = QLabel("—")
        self.class_label.setStyleSheet("font-size: 16px; font-weight: 600;")
        names = info.class_names
        self.bars = {names[0]: _bar("#4a90d9"), names[-1]: _bar("#d0473c")}
        threshold_note = f"decision threshold: P({names[-1]}) ≥ {info.threshold:.2f}"
        m = info.test_metrics
        if m.get("accuracy") is not None:
            threshold_note += (f"\ntest: accuracy {m['accuracy']:.0%}, AUC {m.get('roc_auc', float('nan')):.2f}, "
                               f"sensitivity {m.get('sensitivity', float('nan')):.0%}")
        self.threshold_label = QLabel(threshold_note)
        self.threshold_label.setStyleSheet("color: #555; font-size: 11px;")
        layout.addWidget(self.version_label, 0, 0, 1, 2)
        layout.addWidget(self.class_label, 1, 0, 1, 2)
        for row, (name, bar) in enumerate(self.bars.items(), start=2):
            layout.addWidget(QLabel(name), row, 0)
            layout.addWidget(bar, row, 1)
        layout.addWidget(self.threshold_label, 4, 0, 1, 2)
        self.heatmap_label = QLabel("")
        self.heatmap_label.setAlignment(Qt.AlignCenter)
        self.heatmap_label.setFixedHeight(HEATMAP_PX + 6)
        self.heatmap_label.setToolTip("Grad-CAM: the regions that raised this model's P(malignant)")
        layout.addWidget(self.heatmap_label, 5, 0, 1, 2)
        self.heatmap_caption = QLabel("")
        self.heatmap_caption.setAlignment(Qt.AlignCenter)
        self.heatmap_caption.setStyleSheet("color: #555; font-size: 11px;")
        layout.addWidget(self.heatmap_caption, 6, 0, 1, 2)
        if not info.available:
            self.class_label.setText("unavailable")
            self.threshold_label.setText(info.reason)
            self.threshold_label.setWordWrap(True)
            for bar in self.bars.values():
                bar.setEnabled(False)

    def show_prediction(self, prediction: ModelPrediction | None) -> None:
        if not self.info.available:
            return
        names = self.info.class_names
        if prediction is None:
            self.class_label.setText("not run on this image")
            for bar in self.bars.values():
                bar.setValue(0)
                bar.setFormat("—")
            return
        p = prediction.p_malignant
        for name, value in ((names[0], 1 - p), (names[-1], p)):
            self.bars[name].setValue(round(value * 1000))
            self.bars[name].setFormat(f"{value:.1%}")
        colour = "#b3261e" if prediction.label == "malignant" else "#1f5faa"
        self.class_label.setText(prediction.label)
        self.class_label.setStyleSheet(f"font-size: 16px; font-weight: 600; color: {colour};")
        if prediction.version != self.info.version:
            self.version_label.setText(f"result from version {prediction.version} (installed: {self.info.version})")
        else:
            self.version_label.setText(f"version {prediction.version}")


def _pixmap_from_rgb(rgb: np.ndarray, size: int) -> QPixmap:
    rgb = np.ascontiguousarray(rgb)
    image = QImage(rgb.data, rgb.shape[1], rgb.shape[0], 3 * rgb.shape[1], QImage.Format_RGB888).copy()
    return QPixmap.fromImage(image).scaled(size, size, Qt.KeepAspectRatio, Qt.SmoothTransformation)


class CaseView(QWidget):
    """Shows one saved record. Edits to note, label and review flag are emitted, not saved here."""

    sig_review_changed = Signal(int, dict)  # case id, {note|clinician_label|reviewed: value}
    sig_heatmaps_wanted = Signal(int)  # case id: the view shows heatmaps and has none for this case

    def __init__(self, parent=None):
        super().__init__(parent)
        self.record: TriageRecord | None = None
        self.rgb: np.ndarray | None = None
        self.heatmaps: dict[str, np.ndarray] = {}
        self.panels: dict[str, ModelPanel] = {}
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.image_label = QLabel("Select a case in the worklist")
        self.image_label.setAlignment(Qt.AlignCenter)
        self.image_label.setMinimumSize(300, 300)
        self.image_label.setFrameShape(QFrame.StyledPanel)
        top.addWidget(self.image_label, 1)
        side = QVBoxLayout()
        self.title_label = QLabel("")
        self.title_label.setWordWrap(True)
        self.title_label.setStyleSheet("font-weight: 600;")
        side.addWidget(self.title_label)
        self.consensus_label = QLabel("")
        self.consensus_label.setObjectName("consensus")
        self.consensus_label.setWordWrap(True)
        side.addWidget(self.consensus_label)
        self.quality_label = QLabel("")
        self.quality_label.setObjectName("quality")
        self.quality_label.setWordWrap(True)
        side.addWidget(self.quality_label)
        review = QGroupBox("Clinician")
        form = QGridLayout(review)
        self.label_box = QComboBox()
        self.label_box.addItems(["(no label)", *CLINICIAN_LABELS])
        self.reviewed_box = QCheckBox("Reviewed (R)")
        self.note_edit = QPlainTextEdit()
        self.note_edit.setPlaceholderText("Note (saved when you leave the field)")
        self.note_edit.setMaximumHeight(90)
        form.addWidget(QLabel("Your label"), 0, 0)
        form.addWidget(self.label_box, 0, 1)
        form.addWidget(self.reviewed_box, 1, 0, 1, 2)
        form.addWidget(self.note_edit, 2, 0, 1, 2)
        side.addWidget(review)
        heat_row = QHBoxLayout()
        self.heatmap_toggle = QCheckBox("Show heatmaps (Grad-CAM)")
        self.heatmap_toggle.setChecked(True)
        self.opacity_slider = QSlider(Qt.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(60)
        self.opacity_slider.setToolTip("Heatmap opacity")
        heat_row.addWidget(self.heatmap_toggle)
        heat_row.addWidget(QLabel("opacity"))
        heat_row.addWidget(self.opacity_slider, 1)
        side.addLayout(heat_row)
        side.addStretch(1)
        top.addLayout(side, 1)
        layout.addLayout(top, 3)
        self.panel_row = QHBoxLayout()
        layout.addLayout(self.panel_row, 2)
        self.label_box.activated.connect(self._on_label_chosen)
        self.reviewed_box.clicked.connect(self._on_reviewed_clicked)
        self.note_edit.installEventFilter(self)
        self.heatmap_toggle.toggled.connect(self._on_heatmap_toggled)
        self.opacity_slider.valueChanged.connect(lambda _v: self._render_heatmaps())
        self.set_record(None)

    def set_models(self, infos: list[ModelInfo]) -> None:
        for panel in self.panels.values():
            panel.setParent(None)
            panel.deleteLater()
        self.panels = {info.name: ModelPanel(info) for info in infos}
        for panel in self.panels.values():
            self.panel_row.addWidget(panel)
        self.set_record(self.record)

    def set_record(self, record: TriageRecord | None) -> None:
        self._save_note()
        self.record = record
        self.heatmaps = {}
        self.rgb = None
        self._render_heatmaps()
        enabled = record is not None
        for widget in (self.label_box, self.reviewed_box, self.note_edit):
            widget.setEnabled(enabled)
        if record is None:
            self.image_label.setPixmap(QPixmap())
            self.image_label.setText("Select a case in the worklist, or drop images on the window")
            self.title_label.setText("")
            self.consensus_label.setText("")
            self.quality_label.setText("")
            self.note_edit.setPlainText("")
            for panel in self.panels.values():
                panel.show_prediction(None)
            return
        if Path(record.path).is_file():
            try:
                self.rgb = load_rgb(record.path)
            except ImageDecodeError:
                self.rgb = None
        pixmap = QPixmap(record.path) if Path(record.path).is_file() else QPixmap()
        if pixmap.isNull() and record.thumbnail_png:
            pixmap.loadFromData(record.thumbnail_png, "PNG")
        self.image_label.setPixmap(pixmap.scaled(360, 360, Qt.KeepAspectRatio, Qt.SmoothTransformation))
        self.title_label.setText(f"{record.file_name}\nadded {record.created_at.replace('T', ' ')[:19]}")
        by_name = {p.name: p for p in record.predictions}
        for name, panel in self.panels.items():
            panel.show_prediction(by_name.get(name))
        c = record.consensus
        models_above = f"{c.n_malignant} of {c.n_models} models above their own threshold."
        if c.ensemble_label is not None:
            side = "above" if c.ensemble_label == "malignant" else "below"
            text = (f"Ensemble P(malignant) {c.ensemble_p_malignant:.1%}, {side} its threshold "
                    f"{c.ensemble_threshold:.1%} (chosen on validation data for 95 % sensitivity). {models_above} "
                    f"(The ensemble calibrates the models' mean, {c.mean_p_malignant:.1%}, on validation data.)")
        else:
            text = f"Consensus: mean P(malignant) {c.mean_p_malignant:.1%}; {models_above}"
        if c.disagreement:
            text = "⚠ The models disagree. " + text
            style = "background: #fff1c2; border: 1px solid #d4a72c; padding: 6px; font-weight: 600;"
        elif c.flagged:
            style = "background: #fde2e1; border: 1px solid #b3261e; padding: 6px;"
        else:
            style = "background: #eef4fb; border: 1px solid #9bb7d4; padding: 6px;"
        self.consensus_label.setText(text)
        self.consensus_label.setStyleSheet(style)
        if record.quality_label == "ok":
            self.quality_label.setText("Image quality: passed the checks (exposure, sharpness, skin, similarity "
                                       "to the training images).")
            self.quality_label.setStyleSheet("color: #2e6b30;")
        else:
            self.quality_label.setText(f"⚠ Image quality — {record.quality_label}. Treat these predictions with "
                                       "extra caution.")
            self.quality_label.setStyleSheet("color: #8a5a00; font-weight: 600;")
        self.consensus_label.setProperty("disagreement", c.disagreement)
        self.label_box.setCurrentIndex(0 if not record.clinician_label else
                                       1 + CLINICIAN_LABELS.index(record.clinician_label))
        self.reviewed_box.setChecked(record.reviewed)
        self.note_edit.setPlainText(record.note)
        self._render_heatmaps()

    # -- heatmaps -----------------------------------------------------------------------------
    def set_heatmaps(self, case_id: int, heatmaps: dict[str, np.ndarray]) -> None:
        if self.record is not None and self.record.id == case_id:
            self.heatmaps = heatmaps
            self._render_heatmaps()

    def wants_heatmaps(self) -> bool:
        return self.heatmap_toggle.isChecked() and self.rgb is not None

    def _on_heatmap_toggled(self, on: bool) -> None:
        self._render_heatmaps()
        if on and self.record is not None and not self.heatmaps and self.rgb is not None:
            self.sig_heatmaps_wanted.emit(self.record.id)

    def _render_heatmaps(self) -> None:
        from melanoma_desktop.core.heatmaps import overlay

        show = self.heatmap_toggle.isChecked() and self.rgb is not None
        opacity = self.opacity_slider.value() / 100.0
        for name, panel in self.panels.items():
            panel.heatmap_caption.setText("")
            if not show:
                panel.heatmap_label.setPixmap(QPixmap())
                panel.heatmap_label.setText("")
            elif name in self.heatmaps:
                heatmap = self.heatmaps[name]
                panel.heatmap_label.setPixmap(_pixmap_from_rgb(overlay(self.rgb, heatmap, opacity), HEATMAP_PX))
                panel.heatmap_caption.setText("Grad-CAM: regions raising P(malignant)" if heatmap.max() > 1e-3 else
                                              "Grad-CAM: no region raises P(malignant)")
            elif panel.info.available:
                panel.heatmap_label.setPixmap(QPixmap())
                panel.heatmap_label.setText("computing heatmap…")

    # -- edits --------------------------------------------------------------------------------
    def _on_label_chosen(self, index: int) -> None:
        if self.record is not None:
            label = None if index == 0 else CLINICIAN_LABELS[index - 1]
            self.sig_review_changed.emit(self.record.id, {"clinician_label": label})

    def _on_reviewed_clicked(self, checked: bool) -> None:
        if self.record is not None:
            self.sig_review_changed.emit(self.record.id, {"reviewed": checked})

    def _save_note(self) -> None:
        if self.record is not None and self.note_edit.toPlainText() != self.record.note:
            self.sig_review_changed.emit(self.record.id, {"note": self.note_edit.toPlainText()})

    def eventFilter(self, obj, event):
        if obj is self.note_edit and event.type() == event.Type.FocusOut:
            self._save_note()
        return super().eventFilter(obj, event)
