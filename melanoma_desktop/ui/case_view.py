"""The selected case: the image, the combined risk and flag first, the models-disagree marker, the
clinician's assessment and management, then each model's detail with its heatmap.

The view shows a saved record and emits the clinician's edits; it saves nothing and calls no model.
The original image is decoded off the GUI thread (``sig_image_wanted`` -> ``set_image``).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from melanoma_desktop import DISCLAIMER
from melanoma_desktop.core.confirmed import CONFIRMATION_SOURCES, CONFIRMED_LABELS
from melanoma_desktop.core.records import CLINICIAN_LABELS, MANAGEMENT_DECISIONS, ModelInfo, TriageRecord
from melanoma_desktop.core.risk_scale import line_words
from melanoma_desktop.core.wording import (
    SCORE_NOTE,
    confirmed_words,
    disagreement_words,
    local_time_text,
    patient_words,
    short_model_name,
    who_words,
)
from melanoma_desktop.ui.case_heatmaps import PanelClicks, small_copy
from melanoma_desktop.ui.case_heatmaps import render as render_heatmaps
from melanoma_desktop.ui.model_panel import HEATMAP_CAPTION, ModelPanel
from melanoma_desktop.ui.viewer import HeatLegend, ImageViewer, RiskBar, pixmap_from_rgb


class CaseView(QWidget):
    """Shows one saved record. Edits (assessment, management, note, reviewed, assess anyway) are emitted."""

    sig_review_changed = Signal(int, dict)  # case id, {note|clinician_label|management|reviewed|assess_anyway: v}
    sig_heatmaps_wanted = Signal(int)  # case id: the view shows heatmaps and has none for this case
    sig_image_wanted = Signal(int)  # case id: decode its original image off the GUI thread

    def __init__(self, parent=None):
        super().__init__(parent)
        self.record: TriageRecord | None = None
        self.small_original: np.ndarray | None = None  # the image, small, for the panels' heatmaps
        self.heatmaps: dict[str, np.ndarray] = {}
        self.panels: dict[str, ModelPanel] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # everything fits the width it is given
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        layout = QVBoxLayout(body)
        top = QHBoxLayout()
        self.viewer = ImageViewer()
        top.addWidget(self.viewer, 3)
        side_widget = QWidget()
        side_widget.setMinimumWidth(280)
        side_widget.setMaximumWidth(380)
        side = QVBoxLayout(side_widget)
        side.setContentsMargins(0, 0, 0, 0)
        self.title_label = QLabel("")
        self.title_label.setWordWrap(True)
        self.title_label.setStyleSheet("font-weight: 600;")
        side.addWidget(self.title_label)
        self.risk_label = QLabel("")
        self.risk_label.setObjectName("consensus")
        self.risk_label.setWordWrap(True)
        side.addWidget(self.risk_label)
        self.combined_bar = RiskBar()
        side.addWidget(self.combined_bar)
        self.score_note = QLabel(SCORE_NOTE)
        self.score_note.setWordWrap(True)
        self.score_note.setStyleSheet("color: #555; font-size: 11px;")
        side.addWidget(self.score_note)
        self.disagree_label = QLabel("")
        self.disagree_label.setObjectName("disagreement")
        self.disagree_label.setWordWrap(True)
        self.disagree_label.setStyleSheet("background: #fff1c2; border: 1px solid #d4a72c; padding: 5px;")
        side.addWidget(self.disagree_label)
        self.quality_label = QLabel("")
        self.quality_label.setObjectName("quality")
        self.quality_label.setWordWrap(True)
        side.addWidget(self.quality_label)
        self.assess_anyway_button = QPushButton("Assess anyway")
        self.assess_anyway_button.setToolTip("Show a risk for this image although the checks set it aside; "
                                             "your choice is recorded with the case.")
        side.addWidget(self.assess_anyway_button)
        self.clinician_box = self._build_clinician_box()
        side.addWidget(self.clinician_box)
        side.addStretch(1)
        top.addWidget(side_widget, 2)
        layout.addLayout(top, 3)
        heat_row = QHBoxLayout()
        self.heatmap_toggle = QCheckBox("Show heatmaps")
        self.heatmap_toggle.setChecked(True)
        self.opacity_slider = QSlider(Qt.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(60)
        self.opacity_slider.setToolTip("Heatmap opacity")
        heat_row.addWidget(self.heatmap_toggle)
        self.opacity_label = QLabel("opacity")
        heat_row.addWidget(self.opacity_label)
        heat_row.addWidget(self.opacity_slider, 1)
        self.legend = HeatLegend()
        heat_row.addWidget(self.legend, 2)
        self.overlay_label = QLabel("On the image:")
        heat_row.addWidget(self.overlay_label)
        self.overlay_box = QComboBox()
        self.overlay_box.addItem("no heatmap", None)
        self.overlay_box.setToolTip("Lay one model's heatmap over the image above, to zoom into it")
        heat_row.addWidget(self.overlay_box)
        layout.addLayout(heat_row)
        self.heatmap_note = QLabel(HEATMAP_CAPTION)
        self.heatmap_note.setWordWrap(True)
        self.heatmap_note.setStyleSheet("color: #555; font-size: 11px;")
        layout.addWidget(self.heatmap_note)
        self.panel_row = QHBoxLayout()
        layout.addLayout(self.panel_row, 2)
        footer = QLabel(DISCLAIMER)
        footer.setWordWrap(True)
        footer.setStyleSheet("color: #5c4400; font-size: 11px;")
        layout.addWidget(footer)
        self.assess_anyway_button.clicked.connect(self._on_assess_anyway)
        self.heatmap_toggle.toggled.connect(self._on_heatmap_toggled)
        self.opacity_slider.valueChanged.connect(lambda _v: self._render_heatmaps())
        self.overlay_box.currentIndexChanged.connect(lambda _i: self._render_heatmaps())
        self._panel_clicks = PanelClicks(self)
        self.set_record(None)

    def _build_clinician_box(self) -> QGroupBox:
        review = QGroupBox("Your assessment")
        form = QGridLayout(review)
        self.label_box = QComboBox()
        self.label_box.addItems(["(not assessed)", *CLINICIAN_LABELS])
        self.management_box = QComboBox()
        self.management_box.addItems(["(no decision)", *MANAGEMENT_DECISIONS])
        for box in (self.label_box, self.management_box):
            box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(12)
        self.reviewed_box = QCheckBox("Reviewed (R)")
        self.note_edit = QPlainTextEdit()
        self.note_edit.setPlaceholderText("Note (saved when you leave the field)")
        self.note_edit.setMaximumHeight(80)
        form.addWidget(QLabel("Lesion"), 0, 0)
        form.addWidget(self.label_box, 0, 1)
        form.addWidget(QLabel("Management"), 1, 0)
        form.addWidget(self.management_box, 1, 1)
        self.confirmed_box = QComboBox()
        self.confirmed_box.addItems(["(not confirmed)", *CONFIRMED_LABELS])
        self.confirmed_box.setToolTip("What the lesion turned out to be (kept apart from your first assessment); "
                                      "Local performance (Models menu) compares the models with these")
        self.source_box = QComboBox()
        self.source_box.addItems(["(source not given)", *CONFIRMATION_SOURCES])  # never histopathology unless said
        for box in (self.confirmed_box, self.source_box):
            box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(12)
        form.addWidget(QLabel("Confirmed"), 2, 0)
        form.addWidget(self.confirmed_box, 2, 1)
        form.addWidget(QLabel("by"), 3, 0)
        form.addWidget(self.source_box, 3, 1)
        form.addWidget(self.reviewed_box, 4, 0, 1, 2)
        form.addWidget(self.note_edit, 5, 0, 1, 2)
        self.who_label = QLabel("")  # who last changed this assessment, and who confirmed the diagnosis
        self.who_label.setWordWrap(True)
        self.who_label.setStyleSheet("color: #555; font-size: 11px;")
        form.addWidget(self.who_label, 6, 0, 1, 2)
        self.confirmed_box.activated.connect(self._on_confirmed_chosen)
        self.source_box.activated.connect(self._on_confirmed_chosen)
        self.label_box.activated.connect(self._on_label_chosen)
        self.management_box.activated.connect(self._on_management_chosen)
        self.reviewed_box.clicked.connect(self._on_reviewed_clicked)
        self.note_edit.installEventFilter(self)
        return review

    def set_models(self, infos: list[ModelInfo]) -> None:
        for panel in self.panels.values():
            panel.setParent(None)
            panel.deleteLater()
        self.panels = {info.name: ModelPanel(info) for info in infos}
        chosen = self.overlay_box.currentData()
        self.overlay_box.blockSignals(True)
        self.overlay_box.clear()
        self.overlay_box.addItem("no heatmap", None)
        for info in infos:
            self.panel_row.addWidget(self.panels[info.name])
            self.panels[info.name].heatmap_label.setProperty("model_name", info.name)
            self.panels[info.name].heatmap_label.installEventFilter(self._panel_clicks)
            self.overlay_box.addItem(short_model_name(info.display_name), info.name)
        self.overlay_box.setCurrentIndex(max(self.overlay_box.findData(chosen), 0))
        self.overlay_box.blockSignals(False)
        self.set_record(self.record)

    def set_record(self, record: TriageRecord | None) -> None:
        self._save_note()
        previous = self.record
        self.record = record
        same_case = previous is not None and record is not None and previous.id == record.id
        if not same_case:
            self.heatmaps = {}
            self.small_original = None
        enabled = record is not None
        for widget in (self.label_box, self.management_box, self.confirmed_box, self.source_box, self.reviewed_box,
                       self.note_edit):
            widget.setEnabled(enabled)
        for widget in (self.panel_row_widgets()):
            widget.setVisible(enabled and record.assessable)
        self.score_note.setVisible(enabled and record.assessable)
        self.viewer.setVisible(enabled)  # nothing to show before a case is chosen
        self.clinician_box.setVisible(enabled)
        for panel in self.panels.values():
            panel.setVisible(enabled)
        if record is None:
            self.viewer.set_pixmap(None)
            self.title_label.setText("Select a case in the worklist, or drop images on the window.")
            for label in (self.risk_label, self.quality_label, self.disagree_label, self.who_label):
                label.setText("")
            self.risk_label.setStyleSheet("")  # no empty coloured box when nothing is selected
            self.risk_label.hide()
            self.disagree_label.hide()
            self.combined_bar.hide()
            self.assess_anyway_button.hide()
            self.note_edit.setPlainText("")
            self._render_heatmaps()
            return
        if not same_case:
            thumbnail = QPixmap()
            if record.thumbnail_png:
                thumbnail.loadFromData(record.thumbnail_png, "PNG")
            self.viewer.set_pixmap(thumbnail)  # until the original is decoded
            self.sig_image_wanted.emit(record.id)
        whose = patient_words(record)
        visit = f"visit {record.visit_date}; " if whose else ""
        confirmed = confirmed_words(record)
        self.risk_label.show()
        self.title_label.setText("\n".join(x for x in (record.file_name, whose, f"{visit}added "
                                                       f"{local_time_text(record.created_at)}"
                                                       + (f"; {confirmed}" if confirmed else "")) if x))
        self._show_summary(record)
        by_name = {p.name: p for p in record.predictions}
        for name, panel in self.panels.items():
            panel.show_prediction(by_name.get(name), record.assessable)
        self.label_box.setCurrentIndex(1 + CLINICIAN_LABELS.index(record.clinician_label)
                                       if record.clinician_label in CLINICIAN_LABELS else 0)
        self.management_box.setCurrentIndex(1 + MANAGEMENT_DECISIONS.index(record.management)
                                            if record.management in MANAGEMENT_DECISIONS else 0)
        self.confirmed_box.setCurrentIndex(1 + CONFIRMED_LABELS.index(record.confirmed_label)
                                           if record.confirmed_label in CONFIRMED_LABELS else 0)
        self.source_box.setCurrentIndex(1 + CONFIRMATION_SOURCES.index(record.confirmed_source)
                                        if record.confirmed_source in CONFIRMATION_SOURCES else 0)
        self.reviewed_box.setChecked(record.reviewed)
        self.note_edit.setPlainText(record.note)
        self.who_label.setText(who_words(record))
        self._render_heatmaps()

    def panel_row_widgets(self) -> list[QWidget]:
        return [self.heatmap_toggle, self.opacity_label, self.opacity_slider, self.legend, self.heatmap_note,
                self.overlay_label, self.overlay_box]

    def _show_summary(self, record: TriageRecord) -> None:
        c = record.consensus
        self.assess_anyway_button.setVisible(record.can_assess_anyway and not record.assess_anyway)
        if not record.assessable:
            self.risk_label.setText(f"Cannot assess this image: {record.reason}. No risk is given. Retake the "
                                    "image" + (", or choose 'Assess anyway' if you judge it usable."
                                               if record.can_assess_anyway else "."))
            self.risk_label.setStyleSheet("background: #eeeeee; border: 1px solid #999; padding: 8px; "
                                          "font-weight: 600;")
            self.combined_bar.hide()
            self.disagree_label.hide()
            self.quality_label.setText("")
            return
        if c.risk is not None:
            verdict = "FLAGGED" if record.flagged else "not flagged"
            which = ("the flag line of the models adapted to this clinic" if c.adapted else
                     "the clinic's flag line" if c.site_rule_version else "flag line")
            together = c.weights_text() or f"{'all ' if c.n_models > 1 else ''}{c.n_models} model{'s' if c.n_models != 1 else ''} combined"
            text = f"Melanoma risk score {c.risk:.0%} — {verdict} ({which} {c.flag_line:.0%}; {together})."
            self.combined_bar.set_value(c.risk, c.flag_line)
            self.combined_bar.show()
        else:
            text = ("No combined risk for these model versions. "
                    + ("FLAGGED: " if record.flagged else "Not flagged: ")
                    + f"{c.n_malignant} of {c.n_models} models are above their own flag line.")
            self.combined_bar.hide()
        if not record.flagged:
            text += " A low score does not rule out melanoma."
        if record.first_read_with is not None:  # records.shown_with: one risk scale in the worklist
            text += f" (Shown with the flag line in use; first read with {line_words(record.first_read_with)}.)"
        elif record.other_models:
            text += (" (Read by other model versions than the flag line in use was made for: shown as it was read; "
                     "Case > Re-read reads it with today's models.)")
        style = ("background: #fde2e1; border: 1px solid #b3261e; padding: 8px; font-size: 15px; font-weight: 600;"
                 if record.flagged else "background: #eef4fb; border: 1px solid #9bb7d4; padding: 8px; "
                 "font-size: 15px; font-weight: 600;")
        self.risk_label.setText(text)
        self.risk_label.setStyleSheet(style)
        self.disagree_label.setVisible(record.disagreement)
        names = {name: short_model_name(panel.info.display_name) for name, panel in self.panels.items()}
        self.disagree_label.setText("⚠ " + disagreement_words(c, names))
        if record.assess_anyway and not record.quality_passed:
            self.quality_label.setText(f"Assessed anyway at your request, although {record.reason}.")
            self.quality_label.setStyleSheet("color: #8a5a00; font-weight: 600;")
        else:
            self.quality_label.setText("Image checks passed (exposure, focus, skin, like dermoscopy the models "
                                       "learned from).")
            self.quality_label.setStyleSheet("color: #555;")

    # -- the original image, decoded elsewhere ------------------------------------------------
    def set_image(self, case_id: int, original: np.ndarray | None, model_input: np.ndarray | None) -> None:
        if self.record is None or self.record.id != case_id:
            return
        if original is not None:
            self.viewer.set_pixmap(pixmap_from_rgb(original))
        self.small_original = small_copy(original if original is not None else model_input)
        self._render_heatmaps()
        if self.wants_heatmaps() and not self.heatmaps:
            self.sig_heatmaps_wanted.emit(case_id)

    # -- heatmaps -----------------------------------------------------------------------------
    def set_heatmaps(self, case_id: int, heatmaps: dict[str, np.ndarray]) -> None:
        if self.record is not None and self.record.id == case_id:
            self.heatmaps = heatmaps
            self._render_heatmaps()

    def wants_heatmaps(self) -> bool:
        return (self.heatmap_toggle.isChecked() and self.small_original is not None and self.record is not None
                and self.record.assessable)

    def _on_heatmap_toggled(self, on: bool) -> None:
        self._render_heatmaps()
        if on and self.record is not None and not self.heatmaps and self.wants_heatmaps():
            self.sig_heatmaps_wanted.emit(self.record.id)

    def _render_heatmaps(self) -> None:
        render_heatmaps(self)  # ui.case_heatmaps: the panels' and the image's

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if self.heatmaps:
            self._render_heatmaps()  # heatmaps follow the panels' width

    # -- edits --------------------------------------------------------------------------------
    def _emit_change(self, change: dict) -> None:
        """A clinician's change to the case shown, with the row version it was read at: a case changed since (on
        another workstation) is not overwritten (core.database.StaleCaseError)."""
        self.sig_review_changed.emit(self.record.id, {**change, "expected_version": self.record.row_version})

    def _on_label_chosen(self, index: int) -> None:
        if self.record is not None:
            label = None if index == 0 else CLINICIAN_LABELS[index - 1]
            self._emit_change({"clinician_label": label})

    def _on_management_chosen(self, index: int) -> None:
        if self.record is not None:
            decision = None if index == 0 else MANAGEMENT_DECISIONS[index - 1]
            self._emit_change({"management": decision})

    def _on_confirmed_chosen(self, _index: int) -> None:
        if self.record is not None:
            index = self.confirmed_box.currentIndex()
            label = None if index == 0 else CONFIRMED_LABELS[index - 1]
            source = CONFIRMATION_SOURCES[self.source_box.currentIndex() - 1] if self.source_box.currentIndex() else None
            self._emit_change({"confirmed": (label, source)})

    def _on_reviewed_clicked(self, checked: bool) -> None:
        if self.record is not None:
            self._emit_change({"reviewed": checked})

    def _on_assess_anyway(self) -> None:
        if self.record is not None:
            self._emit_change({"assess_anyway": True})

    def _save_note(self) -> None:
        if self.record is not None and self.note_edit.toPlainText() != self.record.note:
            self._emit_change({"note": self.note_edit.toPlainText()})

    def eventFilter(self, obj, event):
        if obj is self.note_edit and event.type() == event.Type.FocusOut:
            self._save_note()
        return super().eventFilter(obj, event)
