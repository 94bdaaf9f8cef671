"""Models > Metrics: for each model side by side, the numbers and figures behind it.

Figures are matplotlib ``Figure`` objects on ``FigureCanvasQTAgg`` (no pyplot state); each exports
to PNG, and the whole panel to one PDF.
"""

from __future__ import annotations

from pathlib import Path

import math
import textwrap

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtWidgets import (QDialog, QFileDialog, QHBoxLayout, QLabel, QPushButton, QScrollArea, QTabWidget,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from melanoma_desktop import DISCLAIMER
from melanoma_desktop.core.numbers import with_ci
from melanoma_desktop.core.wording import (flag_line_table, ranking_sentence, source_lines, test_result_sentence,
                                           training_sentence)
from trainer.calibration import describe_calibration
from trainer.plots import draw_confusion_matrix, draw_learning_curves, draw_roc
from trainer.reports import BundleReport, read_report


def extra_data_text(entry: dict) -> str:
    """One extra training source of a card: where, which part, how many of each class."""
    part = f" ({entry['source_split']})" if entry.get("source_split") else ""
    return (f"{Path(str(entry.get('data', '?'))).name}{part}: {entry.get('benign', 0)} benign / {entry.get('malignant', 0)} malignant, "
            "training split only")


def _flag_line_html(metrics: dict) -> str:
    rows = flag_line_table(metrics)
    if rows is None:
        return "No result at the flag line is recorded for this model."
    cells = "".join(f"<tr><td>{what}</td><td align=right><b>{flagged}</b></td><td align=right>{other}</td></tr>"
                    for what, flagged, other in rows)
    return ("<p>At its flag line, on its test images:</p><table cellpadding=6 border=1 cellspacing=0>"
            "<tr><th></th><th>flagged</th><th>not flagged</th></tr>" + cells + "</table>"
            "<p><small>A melanoma not flagged is a miss; a benign lesion flagged is a case looked at more closely "
            "than needed.</small></p>")


def plain_summary(report: BundleReport) -> list[str]:
    """The model's record in a clinician's words: what it learned from, what it caught on its test images."""
    return [training_sentence(report.card.get("training", {})), test_result_sentence(report.metrics),
            ranking_sentence(report.metrics)]


def summary_rows(report: BundleReport) -> list[tuple[str, str]]:
    m, card = report.metrics, report.card
    op = m.get("operating_point", {})
    cal = m.get("calibration", {})
    training = card.get("training", {})
    counts = training.get("counts", {})
    rows = [
        ("Version", card.get("version", "")),
        ("Test images", str(m.get("n", "n/a"))),
        ("ROC AUC (95% CI)", with_ci(m.get("roc_auc"), m.get("roc_auc_ci"), pct=False)),
        ("Accuracy at the model's 0.5", with_ci(m.get("accuracy"), m.get("accuracy_ci"))),
        ("Threshold (card)", f"{card.get('threshold', 0.5):.3f}"),
        ("Sensitivity at threshold", with_ci(op.get("sensitivity"), op.get("sensitivity_ci"))),
        ("Specificity at threshold", with_ci(op.get("specificity"), op.get("specificity_ci"))),
        ("Accuracy at threshold", with_ci(op.get("accuracy"), op.get("accuracy_ci"))),
        ("Calibration", describe_calibration(card.get("calibration", cal))),
        ("Test ECE before → after", f"{cal.get('ece_test_before', math.nan):.3f} → "
                                    f"{cal.get('ece_test_after', math.nan):.3f}"),
        ("Trained on", f"{Path(str(training.get('data', 'n/a'))).name} ({training.get('layout', '?')})"),
        *[("Extra training data", extra_data_text(e)) for e in training.get("extra_data") or []],
        *[("Source", line) for line in source_lines(training)],
        ("Protocol, seeds", f"{training.get('protocol', '?')}, training seed "
                            f"{card.get('hyperparameters', {}).get('seed', '?')}, split seed "
                            f"{training.get('split_seed', '?')}"),
        ("Split (benign/malignant)", "; ".join(f"{part} {v.get('benign', 0)}/{v.get('malignant', 0)}"
                                               for part, v in counts.items() if isinstance(v, dict)) or "n/a"),
        ("Device, date", f"{card.get('device', '?')}, {card.get('created_at', '?')}"),
    ]
    return rows


def _table(rows: list[tuple[str, ...]], headers: list[str]) -> QTableWidget:
    table = QTableWidget(len(rows), len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(value))
    table.resizeColumnsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    table.setMinimumHeight(min(32 + 26 * len(rows), 420))
    return table


def report_rows(metrics: dict) -> list[tuple[str, ...]]:
    rows = []
    for name, v in {**metrics.get("per_class", {}), **{f"{k} avg": v for k, v in metrics.get("averages", {}).items()}}.items():
        rows.append((name, f"{v['precision']:.2f}", f"{v['recall']:.2f}", f"{v['f1']:.2f}", str(v["support"])))
    return rows


def make_figures(report: BundleReport) -> dict[str, Figure]:
    m, name = report.metrics, report.card.get("name", "")
    figures = {}
    if m.get("confusion_matrix"):
        figures["confusion_matrix"] = draw_confusion_matrix(Figure(figsize=(6.0, 2.9)), m["confusion_matrix"],
                                                            m.get("class_names", ["benign", "malignant"]),
                                                            f"{name}: confusion matrix (model's own 0.5)")
    roc = m.get("roc_curve", {})
    if roc.get("fpr"):
        fig = Figure(figsize=(4.2, 3.6))
        op = m.get("operating_point", {})
        point = (1 - op["specificity"], op["sensitivity"]) if op.get("sensitivity") is not None else None
        draw_roc(fig.subplots(), roc["fpr"], roc["tpr"], m.get("roc_auc", math.nan), point, "test")
        fig.suptitle(f"{name}: ROC")
        fig.tight_layout()
        figures["roc"] = fig
    if report.history:
        tuning = (report.card.get("hyperparameters") or {}).get("fine_tuning") or {}
        figures["learning_curves"] = draw_learning_curves(Figure(figsize=(6.0, 2.9)), report.history,
                                                          f"{name}: learning curves", tuning.get("epochs_frozen"))
    return figures


class ModelMetricsColumn(QWidget):
    def __init__(self, report: BundleReport, parent=None):
        super().__init__(parent)
        self.report = report
        self.figures = make_figures(report)
        layout = QVBoxLayout(self)
        title = QLabel(f"<b>{report.card.get('display_name', report.card['name'])}</b>")
        layout.addWidget(title)
        self.summary_label = QLabel(" ".join(plain_summary(report)))
        self.summary_label.setObjectName("plain_summary")
        self.summary_label.setWordWrap(True)
        layout.addWidget(self.summary_label)
        self.tabs = QTabWidget()
        layout.addWidget(self.tabs, 1)
        results, details = QWidget(), QWidget()
        results_layout, details_layout = QVBoxLayout(results), QVBoxLayout(details)
        self.tabs.addTab(results, "Test results")
        self.tabs.addTab(details, "Engineering details")
        details_layout.addWidget(_table(summary_rows(report), ["", "value"]))
        details_layout.addWidget(QLabel("Classification report (test images, at the model's own 0.5)"))
        details_layout.addWidget(_table(report_rows(report.metrics), ["class", "precision", "recall", "F1",
                                                                       "support"]))
        self.canvases = {}
        for key, fig in self.figures.items():
            canvas = FigureCanvasQTAgg(fig)
            canvas.setMinimumHeight(260)
            canvas.setMinimumWidth(220)  # three columns fit a 1280-pixel screen
            self.canvases[key] = canvas
            details_layout.addWidget(canvas)
            button = QPushButton(f"Save {key.replace('_', ' ')} as PNG…")
            button.clicked.connect(lambda _=False, k=key: self._save_png(k))
            details_layout.addWidget(button)
        self.flag_table = QLabel(_flag_line_html(report.metrics))
        self.flag_table.setObjectName("flag_line_table")
        self.flag_table.setWordWrap(True)
        results_layout.addWidget(self.flag_table)
        results_layout.addStretch(1)
        details_layout.addStretch(1)

    def _save_png(self, key: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save figure", f"{self.report.card['name']}_{key}.png", "PNG (*.png)")
        if path:
            self.figures[key].savefig(path, dpi=150)


class MetricsPanel(QDialog):
    """One column per model bundle; errors reading a bundle are shown in its place."""

    def __init__(self, bundle_dirs: list[str], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Model metrics")
        self.resize(1400, 900)
        outer = QVBoxLayout(self)
        disclaimer = QLabel(f"⚠ {DISCLAIMER} The results are from each model's own test images, which it never "
                            "learned from; at a new clinic they can differ.")
        disclaimer.setStyleSheet("background: #fff4ce; padding: 4px;")
        outer.addWidget(disclaimer)
        top = QHBoxLayout()
        self.pdf_button = QPushButton("Export all to PDF…")
        self.pdf_button.clicked.connect(self._export_pdf_dialog)
        top.addStretch(1)
        top.addWidget(self.pdf_button)
        outer.addLayout(top)
        row_widget = QWidget()
        row = QHBoxLayout(row_widget)
        self.columns: list[ModelMetricsColumn] = []
        for directory in bundle_dirs:
            try:
                column = ModelMetricsColumn(read_report(directory))
            except Exception as exc:  # a damaged bundle must not hide the others
                row.addWidget(QLabel(f"Cannot read {directory}: {exc}"))
                continue
            self.columns.append(column)
            row.addWidget(column)
        if not bundle_dirs:
            row.addWidget(QLabel("No models are installed."))
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(row_widget)
        outer.addWidget(scroll, 1)

    def export_pdf(self, path: str) -> int:
        """Every figure and a text page per model into one PDF; returns the number of pages."""
        pages = 0
        with PdfPages(path) as pdf:
            for column in self.columns:
                text = Figure(figsize=(8.27, 11.69))
                lines = [column.report.card.get("display_name", column.report.card["name"]), ""]
                lines += [textwrap.fill(t, 95) for t in plain_summary(column.report) if t] + ["",
                          "Engineering details"]
                lines += [f"{k}: {v}" for k, v in summary_rows(column.report)]
                lines += ["", "class  precision  recall  F1  support"]
                lines += ["  ".join(r) for r in report_rows(column.report.metrics)]
                lines += ["", DISCLAIMER]
                text.text(0.06, 0.96, "\n".join(lines), va="top", family="monospace", fontsize=8, wrap=True)
                pdf.savefig(text)
                pages += 1
                for fig in column.figures.values():
                    pdf.savefig(fig)
                    pages += 1
        return pages

    def _export_pdf_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", "model_metrics.pdf", "PDF (*.pdf)")
        if path:
            self.export_pdf(path)
