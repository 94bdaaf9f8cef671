"""What is written or printed from the File menu: the worklist as CSV, a case report (PDF or printer), the case for
the patient's record (DICOM PDF, FHIR), the batch report. Each runs as a job off the GUI thread on its own database
connection (``TriageController.run_on_database``); what came of it is said by this controller's signals, and the
window shows it. The menu entries' file dialogs live here too, so the window only lists them."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QPainter
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QFileDialog

from melanoma_desktop.core.heatmaps import heatmap_from_png
from melanoma_desktop.core.risk_scale import shown_with
from melanoma_desktop.core.wording import short_model_name
from melanoma_desktop.core.worklist_query import WorklistQuery
from melanoma_desktop.ui.worker import Job

PRINT_DPI = 200


def _case_heatmaps(db, case_id: int) -> dict:
    return {name: heatmap_from_png(png) for name, (_v, png) in db.get_heatmaps(case_id).items()}


class ReportController(QObject):
    sig_status = Signal(str, int)  # what to say in the status bar, for how long (ms)
    sig_csv_exported = Signal(int, str)  # cases written, path
    sig_case_report_written = Signal(str)  # path
    sig_case_printed = Signal(int)  # case id
    sig_record_exported = Signal(object)  # (DICOM path, FHIR path)
    sig_report_started = Signal(str, int)  # what is being written, steps (cases + 1)
    sig_report_progress = Signal(int, int)  # steps done, steps
    sig_report_finished = Signal(str)  # "finished" | "cancelled" | "failed" (the batch report)

    def __init__(self, triage, clinic_name: Callable[[], str], current_case: Callable[[], int | None],
                 current_filter: Callable[[], str], parent):
        """``triage``: the window's TriageController (database, flag line, models); the callables say the clinic's
        name and the worklist's current case and filter when asked; ``parent``: the window, the dialogs' parent."""
        super().__init__(parent)
        self.triage, self.clinic_name = triage, clinic_name
        self.current_case, self.current_filter = current_case, current_filter
        self.report_job: Job | None = None  # the batch report being written

    # -- the work (jobs) -------------------------------------------------------------------------
    def export_csv(self, path: str) -> Job:
        """The worklist (under its filter) to CSV: the database streams it a chunk at a time."""
        filter_name = self.current_filter()
        self.sig_status.emit("Exporting the worklist…", 0)

        def done(n: int) -> None:
            self.sig_status.emit(f"Exported {n} case(s) to {path}", 5000)
            self.sig_csv_exported.emit(n, path)

        return self.triage.run_on_database("Exporting the worklist",
                                           lambda db, *_: db.export_csv(path, filter_name), done)

    def write_case_report(self, case_id: int, path: str) -> Job:
        from melanoma_desktop.core.report import write_case_pdf

        infos, clinic = self.triage.model_infos(), self.clinic_name()

        def work(db, *_):
            write_case_pdf(path, db.get(case_id), infos, _case_heatmaps(db, case_id), clinic=clinic)

        def done(_result) -> None:
            self.sig_status.emit(f"Report written to {path}", 5000)
            self.sig_case_report_written.emit(path)

        return self.triage.run_on_database("Writing the case report", work, done)

    def print_case(self, case_id: int, printer) -> Job:
        """The case page drawn off the GUI thread, then sent to ``printer`` (a QPrinter), scaled to its page."""
        from melanoma_desktop.core.report import A4, draw_case_page

        infos, clinic = self.triage.model_infos(), self.clinic_name()

        def work(db, *_):
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            fig = draw_case_page(Figure(figsize=A4, dpi=PRINT_DPI), db.get(case_id), infos,
                                 _case_heatmaps(db, case_id), clinic=clinic)
            canvas = FigureCanvasAgg(fig)
            canvas.draw()
            buffer = canvas.buffer_rgba()
            return bytes(buffer), buffer.shape[1], buffer.shape[0]

        def done(page) -> None:
            _paint(printer, *page)
            self.sig_status.emit("Case report sent to the printer.", 5000)
            self.sig_case_printed.emit(case_id)

        return self.triage.run_on_database("Drawing the case report", work, done)

    def export_to_record(self, case_id: int, folder: str) -> Job:
        """The case for the patient's record, into ``folder``: its report as a DICOM Encapsulated PDF (for a PACS)
        and as a FHIR DiagnosticReport (JSON, the PDF attached); audited."""
        from melanoma_desktop.core.record_export import (
            case_pdf_bytes,
            fhir_diagnostic_report,
            write_dicom_pdf,
            write_fhir_json,
        )

        infos, clinic, rule, out = self.triage.model_infos(), self.clinic_name(), self.triage.flag_rule, Path(folder)
        names = {i.name: short_model_name(i.display_name) for i in infos}

        def work(db, *_):
            record = shown_with(db.get(case_id), rule)
            pdf = case_pdf_bytes(record, infos, _case_heatmaps(db, case_id), clinic)
            patient = db.patient_details(record.patient_id) if record.patient_id else None
            dicom = write_dicom_pdf(out / f"case-{case_id}-report.dcm", pdf, record, patient)
            fhir = write_fhir_json(out / f"case-{case_id}-DiagnosticReport.json",
                                   fhir_diagnostic_report(record, patient, pdf, names))
            db.audit("case exported to the record", f"case #{case_id}: DICOM PDF and FHIR")
            return dicom, fhir

        def done(paths) -> None:
            self.sig_status.emit(f"Written {paths[0].name} and {paths[1].name} to {folder}", 8000)
            self.sig_record_exported.emit(paths)

        return self.triage.run_on_database("Exporting the case for the record", work, done)

    def start_batch_report(self, pdf_path: str) -> Job:
        """The filtered worklist, as the worklist shows it (one risk scale), as a PDF and, beside it, a CSV."""
        from melanoma_desktop.core.report import write_batch_pdf

        filter_name, rule, infos, clinic = self.current_filter(), self.triage.flag_rule, self.triage.model_infos(), \
            self.clinic_name()
        n = self.triage.worklist_summary(WorklistQuery(filter_name))["shown"]  # one count; the job reads them

        def work(db, should_stop, on_progress):
            # ReportCancelled (when should_stop turned true) is reported as a cancellation by the worker
            records = db.list(filter_name, rule)
            write_batch_pdf(pdf_path, records, infos, title=f"Batch report ({filter_name})", should_stop=should_stop,
                            on_progress=on_progress, clinic=clinic)
            db.export_csv(str(Path(pdf_path).with_suffix(".csv")), filter_name)
            return len(records)

        def connect(job: Job) -> None:
            self.report_job = job
            job.signals.sig_progress.connect(lambda done_total: self.sig_report_progress.emit(*done_total))
            job.signals.sig_cancelled.connect(lambda: self._report_done("cancelled", "Batch report cancelled."))
            job.signals.sig_failed.connect(lambda *_: self._report_done("failed", "Batch report failed."))

        self.sig_report_started.emit(f"Writing the batch report of {n} case{'' if n == 1 else 's'}…", n + 1)
        return self.triage.run_on_database(
            "Writing the batch report", work,
            lambda n: self._report_done("finished", f"Report of {n} case(s) written to {pdf_path} (and .csv)"),
            connect)

    def cancel_report(self) -> None:
        if self.report_job is not None:
            self.report_job.cancel()

    def _report_done(self, outcome: str, message: str) -> None:
        if self.triage.closed:
            return
        self.report_job = None
        self.sig_status.emit(message, 8000)
        self.sig_report_finished.emit(outcome)

    # -- the File menu's entries ----------------------------------------------------------------
    def menu_entries(self) -> list[tuple]:
        """(text, shortcut or None, slot) for the File menu, in its order."""
        return [("Export worklist to CSV…", "Ctrl+E", self.ask_export_csv),
                ("Print case report…", QKeySequence.Print, self.ask_print),
                ("Save case report as PDF…", "Ctrl+Shift+S", self.ask_case_report),
                ("Export case for the patient's record (DICOM PDF, FHIR)…", None, self.ask_export_to_record),
                ("Batch report (PDF + CSV)…", "Ctrl+Shift+P", self.ask_batch_report)]

    def _case_or_hint(self) -> int | None:
        case_id = self.current_case()
        if case_id is None:
            self.sig_status.emit("Select a case first.", 5000)
        return case_id

    def ask_export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.parent(), "Export worklist", "worklist.csv", "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def ask_print(self) -> None:
        case_id = self._case_or_hint()
        if case_id is None:
            return
        printer = QPrinter(QPrinter.HighResolution)
        dialog = QPrintDialog(printer, self.parent())
        dialog.setWindowTitle("Print case report")
        if dialog.exec() == QPrintDialog.Accepted:
            self._printer = printer  # kept until the page is drawn and sent
            self.print_case(case_id, printer)

    def ask_case_report(self) -> None:
        case_id = self._case_or_hint()
        if case_id is not None:
            path, _ = QFileDialog.getSaveFileName(self.parent(), "Save case report as PDF", f"case-{case_id}.pdf",
                                                  "PDF (*.pdf)")
            if path:
                self.write_case_report(case_id, path)

    def ask_export_to_record(self) -> None:
        case_id = self._case_or_hint()
        if case_id is not None:
            folder = QFileDialog.getExistingDirectory(self.parent(),
                                                      "Export the case for the patient's record (DICOM PDF, FHIR)")
            if folder:
                self.export_to_record(case_id, folder)

    def ask_batch_report(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.parent(), "Batch report", "batch-report.pdf", "PDF (*.pdf)")
        if path:
            self.start_batch_report(path)


def _paint(printer, rgba: bytes, width: int, height: int) -> None:
    """A drawn page (RGBA bytes) onto ``printer``, scaled to its page."""
    image = QImage(rgba, width, height, QImage.Format_RGBA8888)
    painter = QPainter(printer)
    try:
        page = painter.viewport()
        size = image.size().scaled(page.size(), Qt.KeepAspectRatio)
        painter.setViewport(page.x(), page.y(), size.width(), size.height())
        painter.setWindow(image.rect())
        painter.drawImage(0, 0, image)
    finally:
        painter.end()
