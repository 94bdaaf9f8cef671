"""Models > Metrics: for each model side by side, the numbers and figures behind it.

The numbers, figures and the PDF come from core.metrics_report; this module puts them on widgets
(figures on ``FigureCanvasQTAgg``), each figure exports to PNG, the whole panel to one PDF.
"""

from __future__ import annotations

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from melanoma_desktop import DISCLAIMER
from melanoma_desktop.core.metrics_report import (
    BundleReport,
    flag_line_html,
    make_figures,
    plain_summary,
    read_report,
    report_rows,
    summary_rows,
    write_metrics_pdf,
)
from melanoma_desktop.ui.screen_fit import fit_to_screen


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


class ModelMetricsColumn(QWidget):
    def __init__(self, report: BundleReport, parent=None):
        super().__init__(parent)
        self.report = report
        self.figures = make_figures(report)
        layout = QVBoxLayout(self)
        title = QLabel(f"<b>{report.card.display_name}</b>")
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
        self.flag_table = QLabel(flag_line_html(report.metrics))
        self.flag_table.setObjectName("flag_line_table")
        self.flag_table.setWordWrap(True)
        results_layout.addWidget(self.flag_table)
        results_layout.addStretch(1)
        details_layout.addStretch(1)

    def _save_png(self, key: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save figure", f"{self.report.card.name}_{key}.png", "PNG (*.png)")
        if path:
            self.figures[key].savefig(path, dpi=150)


class MetricsPanel(QDialog):
    """One column per model bundle; errors reading a bundle are shown in its place."""

    def __init__(self, bundle_dirs: list[str], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Model metrics")
        fit_to_screen(self, 1400, 900)
        outer = QVBoxLayout(self)
        disclaimer = QLabel(f"⚠ {DISCLAIMER} The results are from each model's own test images, which it never "
                            "learned from; at a new clinic they can differ.")
        disclaimer.setStyleSheet("background: #fff4ce; padding: 4px;")
        disclaimer.setWordWrap(True)  # unwrapped, its one line held the panel 1322 px wide at any screen size
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
        return write_metrics_pdf(path, [(column.report, column.figures) for column in self.columns])

    def _export_pdf_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", "model_metrics.pdf", "PDF (*.pdf)")
        if path:
            self.export_pdf(path)
