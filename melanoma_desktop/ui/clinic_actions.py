"""The Case and Models menus' clinical actions (a MainWindow mixin): confirmed diagnoses, Models > Local
performance and the clinic's flag line, re-reading old cases, deleting a case, assigning cases to a
patient's lesion, the lesion over time, erasing a patient."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMessageBox

if TYPE_CHECKING:
    from trainer.api import EnsembleRule


class ClinicActions:
    """Expects ``self.controller`` (ui.triage_controller), ``self.db``, ``self.db_path``, ``self.registry``,
    ``self.runner``, ``reload_worklist()`` and a status bar."""

    @property
    def patients(self):
        """What the patient dialogs may ask of the database (ui.patient_controller), made once."""
        if getattr(self, "_patients", None) is None:
            from melanoma_desktop.ui.patient_controller import PatientController

            self._patients = PatientController(self.controller.db, self)
        return self._patients

    def import_confirmed(self, path: str, replace_conflicting: bool = True) -> str:
        """Import a CSV of confirmed diagnoses without a preview (e.g. a script); the status bar says what."""
        from melanoma_desktop.core.confirmed import ConfirmedLabelsError
        from melanoma_desktop.core.confirmed_import import plan_import

        try:
            plan = plan_import(path, self.db.identities)  # only the cases the file names
        except ConfirmedLabelsError as exc:
            summary = f"Not imported: {exc}"
        else:
            self.db.apply_import(plan, replace_conflicting)
            summary = plan.summary()
        self.reload_worklist()
        self.statusBar().showMessage(summary, 12000)
        return summary

    def preview_import(self, path: str):
        """What the file would change, before anything is written; Import writes it as one undoable step."""
        from melanoma_desktop.core.confirmed import ConfirmedLabelsError
        from melanoma_desktop.core.confirmed_import import plan_import
        from melanoma_desktop.ui.import_dialog import ImportPreviewDialog

        try:
            plan = plan_import(path, self.db.identities)  # only the cases the file names
        except ConfirmedLabelsError as exc:
            QMessageBox.warning(self, "Import confirmed diagnoses", f"Not imported: {exc}")
            return None
        dialog = ImportPreviewDialog(plan, self)

        def apply():
            import_id = self.db.apply_import(plan, dialog.replace_conflicting())
            self.reload_worklist()
            self.statusBar().showMessage(f"Import #{import_id}: {len(plan.changes(dialog.replace_conflicting()))} "
                                         "confirmed diagnosis(es) recorded (File > Undo last import puts them "
                                         "back).", 12000)

        dialog.accepted.connect(apply)
        dialog.show()
        return dialog

    def undo_last_import(self) -> int:
        """Put back the newest import of confirmed diagnoses, after asking; returns the cases restored."""
        last = self.db.last_import()
        if last is None:
            self.statusBar().showMessage("No import of confirmed diagnoses to undo.", 8000)
            return 0
        if QMessageBox.question(self, "Undo import", f"Undo import #{last['id']} ({last['cases']} case(s) from "
                                f"{last['file']}, by {last['who']})? Each case gets back the confirmed diagnosis it "
                                "had before.", QMessageBox.Yes | QMessageBox.No, QMessageBox.No) != QMessageBox.Yes:
            return 0
        restored = self.db.undo_import(last["id"])
        self.reload_worklist()
        self.statusBar().showMessage(f"Import #{last['id']} undone: {restored} case(s) restored.", 10000)
        return restored

    def _import_confirmed_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import confirmed diagnoses", "",
                                              "CSV: image,label[,source][,date] (*.csv)")
        if path:
            self.preview_import(path)

    def _on_models_promoted(self, promoted: list) -> None:
        """Retrained models put in use from the wizard: audited (who, when, which versions), then loaded."""
        if promoted:
            self.db.audit("retrained models put in use", ", ".join(f"{v.name} {v.version}" for v in promoted))
            self.start_loading_models()

    def _on_version_restored(self, name: str, version: str) -> None:
        """Models > Versions put another version of a model in use: audited, then loaded."""
        self.db.audit("model version put in use", f"{name} {version}")
        self.start_loading_models()

    def toggle_reviewed(self) -> None:
        case_id = self.worklist.current_case_id()
        if case_id is not None:
            record = self.db.get(case_id)
            self._on_review_changed(case_id, {"reviewed": not record.reviewed})

    def show_local_performance(self):
        from melanoma_desktop.core.clinicians import clinic_name
        from melanoma_desktop.core.wording import short_model_name
        from melanoma_desktop.ui.local_performance_dialog import LocalPerformanceDialog

        dialog = LocalPerformanceDialog(self.controller.confirmed_records, self.controller.flag_rule, self.registry,
                                        self.runner, self, {i.name: short_model_name(i.display_name)
                                                            for i in self.model_infos()},
                                        clinic=clinic_name(self.db_path.parent))
        dialog.sig_rule_adopted.connect(self.use_site_rule)
        dialog.show()
        return dialog

    def use_site_rule(self, rule: EnsembleRule | None) -> str:
        """Read new cases with the clinic's flag line ``rule`` (None: the shipped one again). Saved cases of the
        same model versions are shown with it at once (their answers are stored); their records keep the line they
        were read with until they are re-read."""
        message = self.controller.use_site_rule(rule)
        self.reload_worklist()  # every row on the line now in use (records.shown_with)
        if self.classifier is not None:
            self._show_models_status(self.classifier)  # the line under the notice names the line now in use
        self.statusBar().showMessage(message, 10000)
        if self.controller.flag_rule is not None and self.controller.flag_rule == rule:
            self.offer_reread(rule)
        return message

    def offer_reread(self, rule: EnsembleRule):
        """After a flag line is adopted: offer to read the saved cases of these models with it too (one audited
        step), so that the worklist holds one risk scale. Returns the re-reading job (0 when declined)."""
        others = self.db.rereadable_count(rule)  # counted by the database, not read
        if not others or QMessageBox.question(
                self, "Saved cases", f"Read the {others} saved case(s) of these models with this flag line too? "
                "Their risk and flag change to this line (the models' answers stay); the audit records it. If not, "
                "they keep the line they were read with.", QMessageBox.Yes | QMessageBox.No,
                QMessageBox.No) != QMessageBox.Yes:
            return 0
        return self.reread_cases()

    def show_lesion_view(self):
        """The current case's lesion over time (its patient and lesion come from a manifest, DICOM or folders)."""
        from melanoma_desktop.ui.lesion_view import LesionView, lesion_of

        case_id = self.worklist.current_case_id()
        lesion = lesion_of(self.db.get(case_id)) if case_id is not None else None
        if lesion is None:
            self.statusBar().showMessage("This case belongs to no patient's lesion (import it with a manifest, a "
                                         "PATIENT/LESION folder or DICOM).", 8000)
            return None
        view = LesionView(self.patients, *lesion, parent=self)
        view.show()
        return view

    def show_assign_dialog(self, case_ids: list[int] | None = None):
        """File the selected case (or ``case_ids``) under a patient's lesion."""
        from melanoma_desktop.ui.assign_dialog import AssignDialog

        ids = case_ids if case_ids is not None else [i for i in [self.worklist.current_case_id()] if i is not None]
        if not ids:
            self.statusBar().showMessage("Select a case first.", 5000)
            return None
        dialog = AssignDialog(self.patients, ids, self)
        current = self.db.identity_of(ids[0]) if len(ids) == 1 else None
        if current is not None:  # the case is filed already: its patient, lesion and visit, to change or keep
            dialog.show_current(current)
        dialog.accepted.connect(self.reload_worklist)
        dialog.show()
        return dialog

    def show_patient_dialog(self, patient_id: str | None = None):
        """Create a patient or edit one's details: the selected case's patient unless ``patient_id`` is given."""
        from melanoma_desktop.ui.patient_dialog import PatientDialog

        if patient_id is None:
            case_id = self.worklist.current_case_id()
            identity = self.db.identity_of(case_id) if case_id is not None else None
            patient_id = identity["patient_id"] if identity else ""
        dialog = PatientDialog(self.patients, patient_id, self)
        dialog.accepted.connect(self.reload_worklist)
        dialog.show()
        return dialog

    _assign_after_batch = False

    def _open_for_patient(self) -> None:
        """File > Open images of one patient's lesion: the images, then the assign step for all of them."""
        from melanoma_desktop.ui.input_actions import image_file_filter

        files, _ = QFileDialog.getOpenFileNames(self, "Open images of one patient's lesion", "", image_file_filter())
        if files:
            self._assign_after_batch = True
            self.sig_images_dropped.emit(files)

    def after_batch(self, case_ids: list[int]):
        """After a batch opened for a patient, ask whom its cases belong to (the step can be cancelled)."""
        if not self._assign_after_batch or not case_ids:
            return None
        self._assign_after_batch = False
        return self.show_assign_dialog(case_ids)

    def erase_patient(self, patient_id: str) -> int:
        """Every case, thumbnail, heatmap and pasted copy of one patient, gone (no confirmation here)."""
        n = self.db.erase_patient(patient_id, pasted_dir=self.db_path.parent / "pasted",
                                  image_store=self.controller.image_store)
        self.case_view.record = None
        self.case_view.set_record(None)
        self.reload_worklist()
        self.statusBar().showMessage(f"Patient erased: {n} case(s) removed.", 8000)
        return n

    def _erase_patient_dialog(self) -> None:
        case_id = self.worklist.current_case_id()
        record = self.db.get(case_id) if case_id is not None else None
        if record is None or not record.patient_id:
            self.statusBar().showMessage("This case belongs to no patient.", 6000)
            return
        if QMessageBox.question(self, "Erase patient", f"Erase patient {record.patient_id} and every case, "
                                "thumbnail, heatmap and pasted copy of theirs from this computer? Their own image "
                                "files are kept. This cannot be undone.", QMessageBox.Yes | QMessageBox.No,
                                QMessageBox.No) == QMessageBox.Yes:
            self.erase_patient(record.patient_id)

    def delete_current_case(self) -> None:
        case_id = self.worklist.current_case_id()
        if case_id is None:
            self.statusBar().showMessage("Select a case first.", 5000)
            return
        record = self.db.get(case_id)
        answer = QMessageBox.question(
            self, "Delete case", f"Delete the case {record.file_name} with its results, thumbnail and heatmaps "
            "from this computer's history? The image file itself is kept (a pasted copy is removed). This cannot "
            "be undone.", QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        if answer == QMessageBox.Yes:
            self.delete_case(case_id)

    def delete_case(self, case_id: int) -> None:
        """Remove every trace of a case from the database (no confirmation: the menu action asks)."""
        if self.case_view.record is not None and self.case_view.record.id == case_id:
            self.case_view.record = None  # no pending note is saved back for a deleted case
            self.case_view.set_record(None)
        self.controller.delete_case(case_id)
        self.worklist_model.remove(case_id)
        self.worklist_panel.update_count()
        self.statusBar().showMessage("Case deleted.", 5000)

    def _on_cases_changed(self, case_ids: list) -> None:
        """Cases added, changed or deleted elsewhere (another workstation): the list and its counts follow; the
        clinician's selection stays on the case it was on."""
        current = self.worklist.current_case_id()
        self.worklist_model.refresh(case_ids)
        view = self.case_view
        if current is not None and not self.worklist.select_case(current):  # deleted, or left the filter: the
            selection = self.worklist.selectionModel()  # row goes, the case stays on screen (nothing else
            selection.blockSignals(True)  # highlighted in its place)
            self.worklist.setCurrentIndex(self.worklist_model.index(-1, -1))
            selection.clearSelection()
            selection.blockSignals(False)
            self.worklist.viewport().update()
        if view.record is not None and view.record.id in case_ids and view.note_edit.toPlainText() == view.record.note:
            fresh = self.db.get(view.record.id)  # changed elsewhere: shown as it now is (a note being typed stays)
            view.set_record(self.controller.shown(fresh) if fresh is not None else None)
        self.worklist_panel.update_count()

    def _on_case_conflict(self, case_id: int, message: str) -> None:
        """A clinician's change was refused (the case changed elsewhere since it was opened): said, and the case
        shown as it is now saved, so that the change can be made again on what is there."""
        self.worklist_model.refresh([case_id])
        view = self.case_view
        if view.record is not None and view.record.id == case_id:
            typed = view.note_edit.toPlainText()
            if typed != view.record.note:  # the refused note is quoted, so that nothing typed is lost
                message += f"\n\nThe note you wrote, not saved:\n{typed}"
            view.record = fresh = self.controller.shown(self.db.get(case_id))
            view.note_edit.setPlainText(fresh.note)  # (set_record saves a changed note first: not this one)
            view.set_record(fresh)
        QMessageBox.warning(self, "Changed on another workstation", message)

    def reread_cases(self):
        """Every saved case read again with the flag line in use, off the GUI thread; the job (None: no rule)."""
        job = self.controller.reread_cases()
        if job is None:
            self.statusBar().showMessage("No combined rule for the installed models: nothing to re-read with.", 8000)
            return None
        self.statusBar().showMessage("Reading the saved cases again with the current flag line…")
        job.signals.sig_finished.connect(self._on_reread_done)
        return job

    def _on_reread_done(self, n: int) -> None:
        self.reload_worklist()
        self.statusBar().showMessage(f"{n} case(s) re-read with the current flag line.", 8000)

    def _reread_dialog(self) -> None:
        answer = QMessageBox.question(self, "Re-read all cases", "Read every saved case again with the flag line now in "
                                      "use? Their risk and flag change; the models' answers stay.",
                                      QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        if answer == QMessageBox.Yes:
            self.reread_cases()
