"""Models > Local performance: the models on the clinic's own confirmed cases, and the clinic's flag line.

The numbers come from ``core.local_performance`` (computed off the GUI thread); the dialog shows them in
words first, the table and the calibration curve after, the melanomas the flag missed, and lets the
clinic fit, look at and adopt its own flag line. Adopting it changes the flag of new cases only.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from melanoma_desktop import DISCLAIMER
from melanoma_desktop.core.local_performance import (
    SiteRuleRefused,
    evaluate_local,
    expected_sentence,
    fit_site_rule,
    misses_target,
    validate_site_rule,
)
from melanoma_desktop.core.local_performance_report import (
    COLUMNS,
    draw_calibration_curve,
    score_rows,
    write_local_performance_pdf,
)
from melanoma_desktop.core.wording import version_words
from melanoma_desktop.ui.screen_fit import fit_to_screen
from melanoma_desktop.ui.worker import Job

if TYPE_CHECKING:
    from trainer.api import EnsembleRule

class LocalPerformanceDialog(QDialog):
    sig_computed = Signal(object)  # LocalPerformance
    sig_rule_adopted = Signal(object)  # the site rule made active (None: back to the shipped line)
    sig_rule_fitted = Signal(object)  # the flag line fitted on the confirmed cases (None: they cannot make one)

    def __init__(self, confirmed_records, rule: EnsembleRule | None, registry, runner, parent=None,
                 names: dict[str, str] | None = None, clinic: str = ""):
        """``confirmed_records``: the controller's reader of the confirmed cases (any thread; never the database
        itself); ``clinic``: the clinic's name for the PDF."""
        super().__init__(parent)
        self.confirmed_records, self.rule, self.registry, self.runner = confirmed_records, rule, registry, runner
        self.clinic = clinic
        self.names = dict(names or {})  # model name -> the name clinicians read (e.g. "MobileNetV2")
        self.result = None
        self.candidate = None  # a fitted flag line not yet adopted
        self.setWindowTitle("Local performance — your confirmed cases")
        fit_to_screen(self, 1100, 780)
        layout = QVBoxLayout(self)
        notice = QLabel(f"⚠ {DISCLAIMER} These numbers are only as good as the confirmed diagnoses they are "
                        "computed from.")
        notice.setWordWrap(True)
        notice.setStyleSheet("background: #fff4ce; padding: 4px;")
        layout.addWidget(notice)
        self.rule_label = QLabel("")
        self.rule_label.setStyleSheet("color: #555;")
        layout.addWidget(self.rule_label)
        self.verdict_label = QLabel("Computing…")
        self.verdict_label.setObjectName("verdict")
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setStyleSheet("font-size: 14px; font-weight: 600;")
        layout.addWidget(self.verdict_label)
        self.warning_label = QLabel("")
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet("color: #b3261e; font-weight: 600;")
        layout.addWidget(self.warning_label)
        self.table = QTableWidget(0, len(COLUMNS))  # the whole width: every column readable without scrolling
        self.table.setHorizontalHeaderLabels([c.replace(" (95", "\n(95") for c in COLUMNS])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table.setMaximumHeight(150)
        layout.addWidget(self.table)
        row = QHBoxLayout()
        self.figure = Figure(figsize=(4.2, 3.0))
        self.canvas = FigureCanvasQTAgg(self.figure)
        row.addWidget(self.canvas, 3)
        missed = QVBoxLayout()
        missed.addWidget(QLabel("Melanomas the flag missed (lowest risk first):"))
        self.missed_list = QListWidget()
        missed.addWidget(self.missed_list, 1)
        row.addLayout(missed, 2)
        layout.addLayout(row, 2)
        layout.addWidget(self._build_rule_box())
        buttons = QHBoxLayout()
        self.pdf_button = QPushButton("Save as PDF…")
        self.pdf_button.clicked.connect(self._save_pdf_dialog)
        buttons.addStretch(1)
        buttons.addWidget(self.pdf_button)
        layout.addLayout(buttons)
        self.refresh()

    def _build_rule_box(self) -> QGroupBox:
        box = QGroupBox("The clinic's flag line")
        grid = QVBoxLayout(box)
        line = QHBoxLayout()
        line.addWidget(QLabel("Catch at least"))
        self.target = QSpinBox(minimum=80, maximum=99, value=95)
        self.target.setSuffix(" %")
        line.addWidget(self.target)
        line.addWidget(QLabel("of melanomas"))
        self.fit_button = QPushButton("Compute a flag line from these cases")
        self.fit_button.clicked.connect(self.fit_rule)
        line.addWidget(self.fit_button)
        self.adopt_button = QPushButton("Use it for new cases")
        self.adopt_button.setEnabled(False)
        self.adopt_button.clicked.connect(lambda: self.adopt_rule())
        line.addWidget(self.adopt_button)
        line.addStretch(1)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the active clinic flag line as one file, to share with other clinics")
        self.export_button.clicked.connect(self._export_dialog)
        self.import_button = QPushButton("Import…")
        self.import_button.clicked.connect(self._import_dialog)
        line.addWidget(self.export_button)
        line.addWidget(self.import_button)
        grid.addLayout(line)
        self.rule_status = QLabel("")
        self.rule_status.setWordWrap(True)
        grid.addWidget(self.rule_status)
        return box

    # -- the numbers --------------------------------------------------------------------------
    def refresh(self) -> Job | None:
        site = self.rule.site_version if self.rule is not None else None
        self.rule_label.setText("Flag line in use: " + (f"the clinic's own ({version_words(site)})" if site else "the shipped one"))
        if not self.rule:
            self.verdict_label.setText("No combined rule for the installed models: local performance needs one.")
            return None
        read, rule, target = self.confirmed_records, self.rule, self.target.value() / 100

        def body(should_stop, on_progress):
            return evaluate_local(read(), rule, target)

        job = Job("Computing local performance", body)
        job.signals.sig_finished.connect(self._show)
        self.runner.submit(job, heavy=False)
        return job

    def _show(self, result) -> None:
        self.result = result
        self.verdict_label.setText(result.verdict())
        self.warning_label.setText(result.warning)
        left = ", ".join(f"{n} {why}" for why, n in result.left_out.items() if n)
        if left:
            self.verdict_label.setText(result.verdict() + f" (Not counted: {left}.)")
        rows = score_rows(result, self.names)
        self.table.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
                if text.endswith("near chance"):  # not shown better than near-chance
                    self.table.item(r, c).setForeground(QColor("#b3261e"))
        self.table.resizeRowsToContents()
        self.missed_list.clear()
        for m in result.missed:
            self.missed_list.addItem(f"{m['file']} — risk {m['risk']:.0%}")
        self.figure.clear()
        draw_calibration_curve(self.figure, result)
        self.figure.tight_layout()
        self.canvas.draw_idle()
        self.sig_computed.emit(result)

    # -- the clinic's flag line ---------------------------------------------------------------
    def fit_rule(self) -> Job | None:
        """A flag line from the confirmed cases, fitted off the GUI thread (cross-validated: it takes a moment);
        ``sig_rule_fitted`` carries it, or None when the cases cannot make one, the fitting failed or was cancelled
        (the dialog says why). Import waits until it is done."""
        self.candidate = None
        self.adopt_button.setEnabled(False)
        if self.rule is None:
            self.rule_status.setText("✖ No combined rule for the installed models: a flag line is set on one.")
            self.sig_rule_fitted.emit(None)
            return None
        read, rule, target = self.confirmed_records, self.rule, self.target.value() / 100

        def body(should_stop, on_progress):
            try:
                return fit_site_rule(read(), rule, target)
            except SiteRuleRefused as exc:
                return exc

        for button in (self.fit_button, self.import_button):  # one candidate at a time: no import meanwhile
            button.setEnabled(False)
        self.rule_status.setText("Computing a flag line from your confirmed cases…")
        self.rule_status.setStyleSheet("")
        job = Job("Computing the clinic's flag line", body)
        job.signals.sig_finished.connect(self._show_candidate)
        job.signals.sig_failed.connect(lambda message, _tb: self._show_candidate(SiteRuleRefused(
            f"The flag line could not be computed: {message}")))
        job.signals.sig_cancelled.connect(lambda: self._show_candidate(SiteRuleRefused("Cancelled.")))
        job.signals.sig_done.connect(lambda: [b.setEnabled(True) for b in (self.fit_button, self.import_button)])
        return self.runner.submit(job, heavy=False)

    def _show_candidate(self, fitted) -> None:
        if isinstance(fitted, SiteRuleRefused):
            self.rule_status.setText(f"✖ {fitted}")
            self.sig_rule_fitted.emit(None)
            return
        self.candidate = fitted
        warning = (" ⚠ It falls short of the target on your cases: more confirmed melanomas would make it surer."
                   if misses_target(self.candidate) else "")
        self.rule_status.setText(expected_sentence(self.candidate) + warning + " It would change the flag of new "
                                 "cases only.")
        self.rule_status.setStyleSheet("color: #b3261e;" if warning else "")
        self.adopt_button.setEnabled(True)
        self.sig_rule_fitted.emit(self.candidate)

    def adopt_question(self) -> str:
        """What adopting the candidate line means, asked before it is done."""
        text = (f"Flag new cases at a risk of {self.candidate.threshold:.0%} or more (the clinic's flag line "
                f"{version_words(self.candidate.site_version)})? The worklist then shows the saved cases of these "
                "models on it too; their records keep the flag line they were read with unless you re-read them. "
                "Models > Versions brings the previous line back.")
        if misses_target(self.candidate):
            text = "On your cases this flag line caught fewer melanomas than the target. " + text
        return text

    def adopt_rule(self, confirm: bool = True) -> None:
        if self.candidate is None:
            return
        if confirm and QMessageBox.question(self, "Use the clinic's flag line", self.adopt_question(),
                                            QMessageBox.Yes | QMessageBox.No, QMessageBox.No) != QMessageBox.Yes:
            return
        self.registry.keep_site_rule(self.candidate)
        self.registry.activate_site_rule(self.candidate.site_version)
        self.rule_status.setText(f"Adopted: the clinic's flag line {version_words(self.candidate.site_version)} "
                                 "is used for new cases (Models > Versions lists it and the previous one).")
        self.adopt_button.setEnabled(False)
        self.sig_rule_adopted.emit(self.candidate)
        self.rule = self.candidate  # the dialog now speaks of the line in use, and its numbers are under it
        self.refresh()

    def _export_dialog(self) -> None:
        active = self.registry.active_site_rule()
        if active is None:
            self.rule_status.setText("No clinic flag line is active; the shipped one needs no export.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export the clinic's flag line",
                                              f"{active.site_version}.json", "JSON (*.json)")
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(active.to_dict(), handle, indent=2)

    def import_rule(self, path: str) -> EnsembleRule:
        with open(path, encoding="utf-8") as handle:
            rule = validate_site_rule(json.load(handle), path)
        self.registry.keep_site_rule(rule)
        return rule

    def _import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a clinic flag line", "", "JSON (*.json)")
        if not path:
            return
        try:
            rule = self.import_rule(path)
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Not a flag line", str(exc))
            return
        self.candidate = rule
        self.rule_status.setText(f"Imported the clinic's flag line {version_words(rule.site_version)}: " + expected_sentence(rule))
        self.adopt_button.setEnabled(True)

    # -- PDF ----------------------------------------------------------------------------------
    def save_pdf(self, path: str) -> None:
        if self.result is not None:
            write_local_performance_pdf(path, self.result, self.rule_label.text(), self.names, self.clinic)

    def _save_pdf_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save local performance", "local_performance.pdf", "PDF (*.pdf)")
        if path:
            self.save_pdf(path)
