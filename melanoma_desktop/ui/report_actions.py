"""File menu actions that write files: CSV export, case report, batch report (a MainWindow mixin)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog


class ReportActions:
    """Expects ``self.db``, ``self.worklist``, ``self.filter_box``, ``self.model_infos()`` and a status bar."""

    def _export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export worklist", "worklist.csv", "CSV (*.csv)")
        if path:
            n = self.db.export_csv(path, self.filter_box.currentText())
            self.statusBar().showMessage(f"Exported {n} case(s) to {path}", 5000)

    def write_case_report(self, case_id: int, path: str) -> None:
        from melanoma_desktop.core.heatmaps import heatmap_from_png
        from melanoma_desktop.core.report import write_case_pdf

        heatmaps = {name: heatmap_from_png(png) for name, (_v, png) in self.db.get_heatmaps(case_id).items()}
        write_case_pdf(path, self.db.get(case_id), self.model_infos(), heatmaps)

    def write_batch_report(self, pdf_path: str) -> int:
        """The filtered worklist as a PDF and, beside it, a CSV."""
        from melanoma_desktop.core.report import write_batch_pdf

        filter_name = self.filter_box.currentText()
        records = self.db.list(filter_name)
        write_batch_pdf(pdf_path, records, self.model_infos(), title=f"Batch report ({filter_name})")
        self.db.export_csv(str(Path(pdf_path).with_suffix(".csv")), filter_name)
        return len(records)

    def _case_report_dialog(self) -> None:
        case_id = self.worklist.current_case_id()
        if case_id is None:
            self.statusBar().showMessage("Select a case first.", 5000)
            return
        path, _ = QFileDialog.getSaveFileName(self, "Case report", f"case-{case_id}.pdf", "PDF (*.pdf)")
        if path:
            self.write_case_report(case_id, path)
            self.statusBar().showMessage(f"Report written to {path}", 5000)

    def _batch_report_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Batch report", "batch-report.pdf", "PDF (*.pdf)")
        if path:
            n = self.write_batch_report(path)
            self.statusBar().showMessage(f"Report of {n} case(s) written to {path} (and .csv)", 5000)
