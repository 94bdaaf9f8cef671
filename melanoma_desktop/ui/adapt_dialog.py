"""Models > Adapt to this clinic: the models learn from the clinic's confirmed cases, and the clinician sees how
the adapted models did on those cases (each judged by models adapted without it) before adopting anything.
The work runs through the AdaptationController (a job off the GUI thread); adopting changes new cases only."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from melanoma_desktop import DISCLAIMER
from melanoma_desktop.core.adaptation_job import EXCISION_NOTE
from melanoma_desktop.core.adaptation_words import evidence_sentences, verdict
from melanoma_desktop.ui.screen_fit import fit_to_screen

INTRO = ("The models learn from your clinic's confirmed cases: each model's last layer is refitted on what it saw of "
         "your cases, starting from the models in use and staying close to them; then the combined risk and the flag "
         "line are set again. Before anything changes you see how the adapted models did on your cases, each case "
         "judged by models adapted without it. It needs at least 20 confirmed melanomas and 50 benign lesions, and "
         "takes a few minutes.")


def _auc(side) -> str:
    return f"{side['auc']:.2f} ({side['auc_ci'][0]:.2f}–{side['auc_ci'][1]:.2f})"


def _share(value, ci) -> str:
    return f"{value:.0%} ({ci[0]:.0%}–{ci[1]:.0%})"


def _diff(value, ci, scale=1.0, digits=2, unit="") -> str:
    f = f"{{:+.{digits}f}}"
    return f"{f.format(value * scale)}{unit} ({f.format(ci[0] * scale)} to {f.format(ci[1] * scale)})"


class AdaptDialog(QDialog):
    sig_adopted = Signal(str)  # the adapted set's version

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller, self.outcome = controller, None
        self.setWindowTitle("Adapt the models to this clinic")
        layout = QVBoxLayout(self)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        note = controller.current_note()
        if note:
            stale = QLabel(f"<b>A new release:</b> {note}.")
            stale.setWordWrap(True)
            layout.addWidget(stale)
        row = QHBoxLayout()
        row.addWidget(QLabel("The flag line should catch"))
        self.target = QSpinBox()
        self.target.setRange(80, 99)
        self.target.setValue(95)
        self.target.setSuffix(" % of melanomas")
        row.addWidget(self.target)
        row.addStretch(1)
        self.adapt_button = QPushButton("Adapt and measure")
        self.adapt_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(controller.cancel)
        row.addWidget(self.adapt_button)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addWidget(self._evidence_box(), 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.adopt_button = QPushButton("Use the adapted models for new cases…")
        self.adopt_button.setEnabled(False)
        self.adopt_button.clicked.connect(lambda: self.adopt())
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons.addWidget(self.adopt_button)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        disclaimer = QLabel(DISCLAIMER)
        disclaimer.setWordWrap(True)
        disclaimer.setStyleSheet("color: #7a1f1f; font-size: 11px;")
        layout.addWidget(disclaimer)
        controller.sig_progress.connect(self._on_progress)
        controller.sig_evidence.connect(self.show_evidence)
        controller.sig_failed.connect(self._on_failed)
        controller.sig_cancelled.connect(self._on_cancelled)
        fit_to_screen(self, 940, 700)

    def _evidence_box(self) -> QGroupBox:
        box = QGroupBox("How they did on your confirmed cases")
        column = QVBoxLayout(box)
        self.verdict = QLabel("Not measured yet.")
        self.verdict.setWordWrap(True)
        self.verdict.setStyleSheet("font-weight: 600;")
        column.addWidget(self.verdict)
        self.sentences = QLabel("")
        self.sentences.setWordWrap(True)
        self.sentences.setTextInteractionFlags(Qt.TextSelectableByMouse)
        column.addWidget(self.sentences)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["models in use", "adapted models", "difference (95 % range)"])
        self.table.horizontalHeader().setStretchLastSection(True)
        column.addWidget(self.table, 1)
        self.note = QLabel(EXCISION_NOTE)
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555; font-style: italic;")
        column.addWidget(self.note)
        return box

    def start(self):
        self.outcome = None
        self.adopt_button.setEnabled(False)
        job = self.controller.start(self.target.value() / 100.0)
        if job is not None:
            self.adapt_button.setEnabled(False)
            self.cancel_button.setEnabled(True)
            self.progress.setValue(0)
            self.progress.show()
            self.status.setText("Adapting…")
        return job

    def _finish(self) -> None:
        self.adapt_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.hide()

    def _on_progress(self, text: str, fraction) -> None:
        self.status.setText(text)
        if fraction is not None:
            self.progress.setValue(int(round(100 * fraction)))

    def _on_failed(self, message: str) -> None:
        self._finish()
        self.status.setText(f"Not adapted: {message}")

    def _on_cancelled(self) -> None:
        self._finish()
        self.status.setText("Cancelled: the models in use are unchanged.")

    def show_evidence(self, outcome) -> None:
        self._finish()
        self.outcome = outcome
        evidence = outcome.evidence
        self.verdict.setText(verdict(evidence, outcome.offered))
        lines = evidence_sentences(evidence)
        if outcome.unreadable:
            lines.append(f"{len(outcome.unreadable)} confirmed case(s) left out: their image file is gone or changed "
                         f"(e.g. {outcome.unreadable[0][0]}).")
        self.sentences.setText("\n".join(lines))
        before, after, d = evidence["active"], evidence["adapted"], evidence["difference"]
        rows = [("Ranking of melanomas above benign lesions", _auc(before), _auc(after), _diff(d["auc"], d["auc_ci"])),
                ("Melanomas caught at the flag line", _share(before["sensitivity"], before["sensitivity_ci"]),
                 _share(after["sensitivity"], after["sensitivity_ci"]),
                 _diff(d["sensitivity"], d["sensitivity_ci"], 100, 0, " points")),
                ("Benign lesions cleared at the flag line", _share(before["specificity"], before["specificity_ci"]),
                 _share(after["specificity"], after["specificity_ci"]),
                 _diff(d["specificity"], d["specificity_ci"], 100, 0, " points")),
                ("Flag line", f"{before['flag_line']:.0%}", f"{after['flag_line']:.0%}", "")]
        names = self.controller.model_names()
        for name in before["models"]:
            m0, m1, dm = before["models"][name], after["models"][name], d["models"][name]
            rows.append((f"{names.get(name, name)} alone, ranking", _auc(m0), _auc(m1), _diff(dm["auc"], dm["auc_ci"])))
        self.table.setRowCount(len(rows))
        self.table.setVerticalHeaderLabels([r[0] for r in rows])
        for r, row in enumerate(rows):
            if "ranking" in row[0].lower():  # the engineering name, one hover away
                self.table.verticalHeaderItem(r).setToolTip("The AUC: the chance that a melanoma scores above a "
                                                            "benign lesion (1.0 perfect, 0.5 chance).")
        for r, row in enumerate(rows):
            for c, value in enumerate(row[1:]):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()
        self.adopt_button.setEnabled(outcome.offered)
        self.status.setText("Measured. Nothing has changed yet." + ("" if outcome.offered else
                                                                    " Adoption is not offered."))

    def adopt(self, confirm: bool = True) -> str | None:
        if self.outcome is None or not self.outcome.offered:
            return None
        if confirm and QMessageBox.question(
                self, "Use the adapted models",
                "Read new cases with the models adapted to this clinic? Cases already saved keep the models they "
                "were read with (Case > Re-read reads them again). Models > Versions brings the previous models "
                "back.", QMessageBox.Yes | QMessageBox.No, QMessageBox.No) != QMessageBox.Yes:
            return None
        version = self.controller.adopt(self.outcome)
        self.adopt_button.setEnabled(False)
        self.status.setText(f"New cases are read with the adapted models ({version}).")
        self.sig_adopted.emit(version)
        return version

    def closeEvent(self, event) -> None:
        if self.controller.running:
            self.controller.cancel()
        super().closeEvent(event)
