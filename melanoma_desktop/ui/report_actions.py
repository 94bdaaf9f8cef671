"""File menu actions that write or print: CSV export, case report (print or PDF), batch report (a
MainWindow mixin). The batch report is built off the GUI thread, with progress and cancel."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from melanoma_desktop.core.worklist_query import WorklistQuery
from melanoma_desktop.ui.worker import Job

PRINT_DPI = 200


def batch_report_job(pdf_path: str, rule, infos, title: str, db_path: Path, filter_name: str,
                     database=None) -> Job:
    """The filtered worklist, as the worklist shows it (on the flag line ``rule``), as a PDF and, beside it, a CSV;
    a plain job body over the core: the cases are read here, off the GUI thread."""

    def body(should_stop, on_progress):
        # ReportCancelled (when should_stop turned true) is reported as a cancellation by the worker
        from melanoma_desktop.core.clinicians import clinic_name
        from melanoma_desktop.core.database import CaseDatabase
        from melanoma_desktop.core.report import write_batch_pdf

        with CaseDatabase(database or db_path) as db:
            records = db.list(filter_name, rule)  # one risk scale: as the worklist shows them
            write_batch_pdf(pdf_path, records, infos, title=title, should_stop=should_stop, on_progress=on_progress,
                            clinic=clinic_name(Path(db_path).parent))
            db.export_csv(str(Path(pdf_path).with_suffix(".csv")), filter_name)
        return len(records)

    return Job("Writing the batch report", body)


class ReportActions:
    """Expects ``self.db``, ``self.db_path``, ``self.worklist``, ``self.current_filter()``, ``self.model_infos()``,
    ``self.runner``, ``self.batch_bar``, ``self.sig_report_finished`` and a status bar."""

    def _export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export worklist", "worklist.csv", "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path: str) -> Job:
        """The worklist (under its filter) to CSV, off the GUI thread: the database streams it a chunk at a time."""
        database, filter_name = self.controller.database, self.current_filter()

        def body(should_stop, on_progress):
            from melanoma_desktop.core.database import CaseDatabase

            with CaseDatabase(database) as db:  # this thread's own connection
                return db.export_csv(path, filter_name)

        job = Job("Exporting the worklist", body)
        job.signals.sig_finished.connect(lambda n: self.statusBar().showMessage(f"Exported {n} case(s) to {path}",
                                                                                 5000))
        self.statusBar().showMessage("Exporting the worklist…")
        return self.runner.submit(job, heavy=False)

    def _case_heatmaps(self, case_id: int) -> dict:
        from melanoma_desktop.core.heatmaps import heatmap_from_png

        return {name: heatmap_from_png(png) for name, (_v, png) in self.db.get_heatmaps(case_id).items()}

    def write_case_report(self, case_id: int, path: str) -> None:
        from melanoma_desktop.core.report import write_case_pdf

        write_case_pdf(path, self.db.get(case_id), self.model_infos(), self._case_heatmaps(case_id),
                       clinic=self.clinicians.settings.clinic_name)

    def print_case(self, case_id: int, printer) -> None:
        """Draw the case page on ``printer`` (a QPrinter), scaled to its page."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from PySide6.QtGui import QImage, QPainter

        from melanoma_desktop.core.report import A4, draw_case_page

        fig = draw_case_page(Figure(figsize=A4, dpi=PRINT_DPI), self.db.get(case_id), self.model_infos(),
                             self._case_heatmaps(case_id), clinic=self.clinicians.settings.clinic_name)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        buffer = canvas.buffer_rgba()
        image = QImage(bytes(buffer), buffer.shape[1], buffer.shape[0], QImage.Format_RGBA8888)
        painter = QPainter(printer)
        try:
            page = painter.viewport()
            size = image.size().scaled(page.size(), Qt.KeepAspectRatio)
            painter.setViewport(page.x(), page.y(), size.width(), size.height())
            painter.setWindow(image.rect())
            painter.drawImage(0, 0, image)
        finally:
            painter.end()

    def _current_case_or_hint(self):
        case_id = self.worklist.current_case_id()
        if case_id is None:
            self.statusBar().showMessage("Select a case first.", 5000)
        return case_id

    def _print_dialog(self) -> None:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        case_id = self._current_case_or_hint()
        if case_id is None:
            return
        printer = QPrinter(QPrinter.HighResolution)
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle("Print case report")
        if dialog.exec() == QPrintDialog.Accepted:
            self.print_case(case_id, printer)
            self.statusBar().showMessage("Case report sent to the printer.", 5000)

    def _case_report_dialog(self) -> None:
        case_id = self._current_case_or_hint()
        if case_id is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save case report as PDF", f"case-{case_id}.pdf", "PDF (*.pdf)")
        if path:
            self.write_case_report(case_id, path)
            self.statusBar().showMessage(f"Report written to {path}", 5000)

    def export_to_record(self, case_id: int, folder: str) -> tuple[Path, Path]:
        """The case for the patient's record, into ``folder``: its report as a DICOM Encapsulated PDF (for a PACS)
        and as a FHIR DiagnosticReport (JSON, the PDF attached); audited."""
        from melanoma_desktop.core.record_export import (
            case_pdf_bytes,
            fhir_diagnostic_report,
            write_dicom_pdf,
            write_fhir_json,
        )
        from melanoma_desktop.core.wording import short_model_name

        record = self.controller.shown(self.db.get(case_id))
        pdf = case_pdf_bytes(record, self.model_infos(), self._case_heatmaps(case_id),
                             self.clinicians.settings.clinic_name)
        patient = self.db.patient_details(record.patient_id) if record.patient_id else None
        names = {i.name: short_model_name(i.display_name) for i in self.model_infos()}
        folder = Path(folder)
        dicom = write_dicom_pdf(folder / f"case-{case_id}-report.dcm", pdf, record, patient)
        fhir = write_fhir_json(folder / f"case-{case_id}-DiagnosticReport.json",
                               fhir_diagnostic_report(record, patient, pdf, names))
        self.db.audit("case exported to the record", f"case #{case_id}: DICOM PDF and FHIR")
        return dicom, fhir

    def _export_to_record_dialog(self) -> None:
        case_id = self._current_case_or_hint()
        if case_id is None:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export the case for the patient's record (DICOM PDF, FHIR)")
        if folder:
            dicom, fhir = self.export_to_record(case_id, folder)
            self.statusBar().showMessage(f"Written {dicom.name} and {fhir.name} to {folder}", 8000)

    def start_batch_report(self, pdf_path: str) -> Job:
        filter_name = self.current_filter()
        n = self.controller.worklist_summary(WorklistQuery(filter_name))["shown"]  # one count; the job reads them
        job = batch_report_job(pdf_path, self.controller.flag_rule, self.model_infos(), f"Batch report ({filter_name})",
                               self.db_path, filter_name, self.controller.database)
        job.signals.sig_progress.connect(lambda done_total: self.batch_bar.update_progress(*done_total, None, "pages"))
        job.signals.sig_finished.connect(lambda n: self._on_report_done("finished", f"Report of {n} case(s) written "
                                                                                   f"to {pdf_path} (and .csv)"))
        job.signals.sig_cancelled.connect(lambda: self._on_report_done("cancelled", "Batch report cancelled."))
        job.signals.sig_failed.connect(lambda *_: self._on_report_done("failed", "Batch report failed."))
        self._report_job, self._bar_shows = job, "report"
        self.batch_bar.start(f"Writing the batch report of {n} case{'' if n == 1 else 's'}…", n + 1)
        self.runner.submit(job, heavy=False)
        return job

    def _on_report_done(self, outcome: str, message: str) -> None:
        if self._closed:
            return
        self.batch_bar.finish()
        self._report_job = None
        self.statusBar().showMessage(message, 8000)
        self.sig_report_finished.emit(outcome)

    def _batch_report_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Batch report", "batch-report.pdf", "PDF (*.pdf)")
        if path:
            self.start_batch_report(path)
