"""Wizard page 4: each new model next to the active one on the same test split; tick to promote."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWizardPage

from melanoma_desktop.core.promotion import (
    COLUMNS,
    compare_with_active,
    comparison_rows,
    promotion_warnings,
    test_split_counts,
)
from melanoma_desktop.ui.worker import Job


class ResultsPage(QWizardPage):
    def __init__(self, wizard):
        super().__init__()
        self.wiz = wizard
        self.promote_boxes: dict[str, QCheckBox] = {}
        self.active_metrics: dict[str, dict] = {}
        self.setTitle("4. Results")
        self.setSubTitle("New models beside the active ones, on the same test images. Tick the models to make "
                         "active; the previous versions stay and can be restored from Models > Versions.")
        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table, 1)
        self.split_label = QLabel("")
        self.split_label.setWordWrap(True)
        layout.addWidget(self.split_label)
        self.warnings_label = QLabel("")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setStyleSheet("color: #b3261e; font-weight: bold")
        layout.addWidget(self.warnings_label)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.boxes_layout = QVBoxLayout()
        layout.addLayout(self.boxes_layout)

    def initializePage(self) -> None:
        result = self.wiz.train_page.result
        for box in self.promote_boxes.values():
            box.deleteLater()
        self.promote_boxes = {}
        for name in result.metrics:
            box = QCheckBox(f"Make the new {name} active")
            self.promote_boxes[name] = box
            self.boxes_layout.addWidget(box)
        self._fill()
        n_images, n_melanomas = test_split_counts(result.out)
        self.split_label.setText(
            f"Test split: {n_images} images, {n_melanomas} of them melanoma. In brackets: 95 % intervals; "
            "the fewer the test images, the wider they are — where two models' intervals overlap, the test split "
            "cannot tell them apart.")
        if self.wiz.active_dirs:
            self.status.setText("Evaluating the active models on the same test images…")
            names = list(result.metrics)
            job = Job("Comparing with the active models", lambda should_stop, on_progress: compare_with_active(
                result.out, names, self.wiz.active_dirs, self.wiz.backbones_for_compare()))
            job.signals.sig_finished.connect(self._on_compared)
            job.signals.sig_failed.connect(lambda message, _tb: self.status.setText(f"Comparison failed: {message}"))
            self.wiz.runner.submit(job)
        else:
            self.status.setText("No active models to compare with.")

    def _on_compared(self, metrics: dict) -> None:
        self.active_metrics = metrics
        self.status.setText("Active models evaluated on the same test images.")
        self._fill()

    def _fill(self) -> None:
        result = self.wiz.train_page.result
        rows = comparison_rows(result, self.active_metrics)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()
        self.warnings_label.setText("\n".join(promotion_warnings(result.metrics, self.active_metrics)))

    def chosen(self) -> list[str]:
        return [name for name, box in self.promote_boxes.items() if box.isChecked()]
