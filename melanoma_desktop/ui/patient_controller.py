"""What the patient dialogs (assign, patient details, the lesion view) may ask of the case database: a patient's
details and history, filing cases, a lesion's excision, a patient's export and follow-up reports. The dialogs get
this controller, never the database (tests/test_architecture.py). Each call reads or writes one patient: a few
indexed rows."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Signal

from melanoma_desktop.core import followup_report
from melanoma_desktop.core.triage import original_image
from melanoma_desktop.ui.worker import Job
from trainer.api import ImageDecodeError


class PatientController(QObject):
    sig_patient_changed = Signal(str)  # a patient's details, cases or lesions changed (its ID)

    def __init__(self, db, runner, parent=None):
        """``runner``: the window's JobRunner, for the images the lesion view shows (read off the GUI thread)."""
        super().__init__(parent)
        self._db, self._runner = db, runner

    def load_image(self, path: str, max_side: int, on_loaded: Callable) -> Job:
        """A visit's image decoded off the GUI thread; ``on_loaded(rgb)`` back on it (None: it cannot be read)."""

        def body(should_stop, on_progress):
            try:
                return original_image(path, max_side)
            except (OSError, ImageDecodeError):
                return None

        job = Job("Opening a visit's image", body)
        job.signals.sig_finished.connect(on_loaded)
        return self._runner.submit(job, heavy=False)

    def recent_patients(self) -> list[str]:
        return self._db.recent_patients()

    def history(self, patient_id: str) -> dict | None:
        return self._db.history(patient_id)

    def patient_details(self, patient_id: str) -> dict | None:
        return self._db.patient_details(patient_id)

    def save_patient(self, identity) -> bool:
        created = self._db.save_patient(identity)
        self.sig_patient_changed.emit(identity.patient_id)
        return created

    def assign(self, case_id: int, identity) -> None:
        self._db.assign(case_id, identity)
        self.sig_patient_changed.emit(identity.patient_id)

    def set_excised(self, patient_id: str, lesion: str, excised: bool = True, outcome: str = "") -> None:
        self._db.set_excised(patient_id, lesion, excised, outcome)
        self.sig_patient_changed.emit(patient_id)

    def export_patient(self, patient_id: str, folder: str | Path) -> Path:
        return self._db.export_patient(patient_id, folder)

    def flag_line_of(self, visits: list[dict]):
        return followup_report.flag_line_of(self._db, visits)

    def write_lesion_pdf(self, path: str, patient_id: str, lesion: str) -> None:
        followup_report.write_lesion_pdf(path, self._db, patient_id, lesion)

    def write_patient_summary_pdf(self, path: str, patient_id: str) -> None:
        followup_report.write_patient_summary_pdf(path, self._db, patient_id)
