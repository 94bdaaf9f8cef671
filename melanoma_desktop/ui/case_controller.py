"""The Case menu's actions on cases and patients: delete a case, erase a patient, file cases under a patient's
lesion, a patient's details, the lesion over time, and File > Open images of one patient's lesion.

Removals run as jobs (``TriageController.run_on_database``); the window is told by ``sig_cases_removed`` (before
the job: the case view lets go), then ``sig_case_deleted`` or ``sig_patient_erased`` and ``sig_worklist_changed``. The patient dialogs get ``patients`` (ui.patient_controller), never a database.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from melanoma_desktop.ui.assign_dialog import AssignDialog
from melanoma_desktop.ui.patient_controller import PatientController
from melanoma_desktop.ui.patient_dialog import PatientDialog
from melanoma_desktop.ui.worker import Job


class CaseController(QObject):
    sig_status = Signal(str, int)  # what to say in the status bar, for how long (ms)
    sig_worklist_changed = Signal()  # cases were filed or a patient's details changed: the list reads them again
    sig_cases_removed = Signal(object)  # ids of the cases removed (None: a patient's, ids unknown), before the job
    sig_patient_erased = Signal(int)  # cases removed with the patient
    sig_case_deleted = Signal(int)  # case id, once gone

    def __init__(self, triage, current_case: Callable[[], int | None], images_opened: Callable[[list], None],
                 parent):
        """``triage``: the window's TriageController; ``current_case`` says the worklist's current case when asked;
        ``images_opened(paths)`` triages images; ``parent``: the window, the dialogs' parent."""
        super().__init__(parent)
        self.triage, self.current_case, self.images_opened = triage, current_case, images_opened
        self.patients = PatientController(triage.db, triage.runner, self)  # what the patient dialogs may ask
        self._assign_after_batch = False

    def menu_entries(self) -> list[tuple]:
        """(text, shortcut or None, slot) for the Case menu's entries after Mark reviewed, in its order."""
        return [("Delete case…", None, self.ask_delete),
                ("Lesion over time…", "Ctrl+L", self.show_lesion_view),
                ("Assign to patient / lesion…", "Ctrl+Shift+A", lambda: self.show_assign_dialog()),
                ("Patient details…", None, lambda: self.show_patient_dialog()),
                ("Erase this case's patient…", None, self.ask_erase_patient)]

    def _selected(self):
        """The current case's saved record, or None (said in the status bar)."""
        case_id = self.current_case()
        if case_id is None:
            self.sig_status.emit("Select a case first.", 5000)
            return None
        return self.triage.db.get(case_id)

    # -- removing ---------------------------------------------------------------------------------
    def delete_case(self, case_id: int) -> Job:
        """Remove every trace of a case from the database (no confirmation: the menu entry asks)."""
        triage = self.triage
        self.sig_cases_removed.emit([case_id])  # the window lets go of it first: no note is saved back to it

        def done(_result) -> None:
            self.sig_status.emit("Case deleted.", 5000)
            self.sig_case_deleted.emit(case_id)

        return triage.run_on_database(
            "Deleting the case", lambda db, *_: db.delete(case_id, pasted_dir=triage.db_path.parent / "pasted",
                                                          image_store=triage.image_store), done)

    def ask_delete(self) -> None:
        record = self._selected()
        if record is not None and QMessageBox.question(
                self.parent(), "Delete case", f"Delete the case {record.file_name} with its results, thumbnail and "
                "heatmaps from this computer's history? The image file itself is kept (a pasted copy is removed). "
                "This cannot be undone.", QMessageBox.Yes | QMessageBox.No, QMessageBox.No) == QMessageBox.Yes:
            self.delete_case(record.id)

    def erase_patient(self, patient_id: str) -> Job:
        """Every case, thumbnail, heatmap and pasted copy of one patient, gone (no confirmation here)."""
        triage = self.triage
        self.sig_cases_removed.emit(None)

        def done(n: int) -> None:
            self.sig_worklist_changed.emit()
            self.sig_status.emit(f"Patient erased: {n} case(s) removed.", 8000)
            self.sig_patient_erased.emit(n)

        return triage.run_on_database(
            "Erasing the patient", lambda db, *_: db.erase_patient(patient_id, pasted_dir=triage.db_path.parent
                                                                   / "pasted", image_store=triage.image_store), done)

    def ask_erase_patient(self) -> None:
        case_id = self.current_case()
        record = self.triage.db.get(case_id) if case_id is not None else None
        if record is None or not record.patient_id:
            self.sig_status.emit("This case belongs to no patient.", 6000)
            return
        if QMessageBox.question(self.parent(), "Erase patient", f"Erase patient {record.patient_id} and every case, "
                                "thumbnail, heatmap and pasted copy of theirs from this computer? Their own image "
                                "files are kept. This cannot be undone.", QMessageBox.Yes | QMessageBox.No,
                                QMessageBox.No) == QMessageBox.Yes:
            self.erase_patient(record.patient_id)

    # -- patients and lesions ---------------------------------------------------------------------
    def show_lesion_view(self):
        """The current case's lesion over time (its patient and lesion come from a manifest, DICOM or folders)."""
        from melanoma_desktop.ui.lesion_view import LesionView, lesion_of

        case_id = self.current_case()
        lesion = lesion_of(self.triage.db.get(case_id)) if case_id is not None else None
        if lesion is None:
            self.sig_status.emit("This case belongs to no patient's lesion (import it with a manifest, a "
                                 "PATIENT/LESION folder or DICOM).", 8000)
            return None
        view = LesionView(self.patients, *lesion, parent=self.parent())
        view.show()
        return view

    def show_assign_dialog(self, case_ids: list[int] | None = None):
        """File the selected case (or ``case_ids``) under a patient's lesion."""
        ids = case_ids if case_ids is not None else [i for i in [self.current_case()] if i is not None]
        if not ids:
            self.sig_status.emit("Select a case first.", 5000)
            return None
        dialog = AssignDialog(self.patients, ids, self.parent())
        current = self.triage.db.identity_of(ids[0]) if len(ids) == 1 else None
        if current is not None:  # the case is filed already: its patient, lesion and visit, to change or keep
            dialog.show_current(current)
        dialog.accepted.connect(self.sig_worklist_changed.emit)
        dialog.show()
        return dialog

    def show_patient_dialog(self, patient_id: str | None = None):
        """Create a patient or edit one's details: the selected case's patient unless ``patient_id`` is given."""
        if patient_id is None:
            case_id = self.current_case()
            identity = self.triage.db.identity_of(case_id) if case_id is not None else None
            patient_id = identity["patient_id"] if identity else ""
        dialog = PatientDialog(self.patients, patient_id, self.parent())
        dialog.accepted.connect(self.sig_worklist_changed.emit)
        dialog.show()
        return dialog

    def open_for_patient(self, files: list[str] | None = None) -> None:
        """File > Open images of one patient's lesion: the images (asked for unless given), then the assign step
        for all of them once the batch is done (``after_batch``)."""
        if files is None:
            from melanoma_desktop.ui.input import image_file_filter

            files, _ = QFileDialog.getOpenFileNames(self.parent(), "Open images of one patient's lesion", "",
                                                    image_file_filter())
        if files:
            self._assign_after_batch = True
            self.images_opened(files)

    def after_batch(self, case_ids: list[int]):
        """After a batch opened for a patient, ask whom its cases belong to (the step can be cancelled)."""
        if not self._assign_after_batch or not case_ids:
            return None
        self._assign_after_batch = False
        return self.show_assign_dialog(case_ids)
