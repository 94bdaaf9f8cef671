"""The clinic's own evidence and models: confirmed diagnoses (import with a preview, undo), the Models menu (metrics,
Local performance and the clinic's flag line, adapting to the clinic, retraining, versions), re-reading the saved
cases with the flag line in use, and the audit of models put in use.

Database work runs as jobs (``TriageController.run_on_database``); what came of it is said by this controller's
signals and the window shows it. Dialogs get this controller or the triage controller's readers, never a database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from melanoma_desktop.core.clinicians import clinic_name
from melanoma_desktop.core.confirmed import ConfirmedLabelsError
from melanoma_desktop.core.confirmed_import import plan_import
from melanoma_desktop.core.wording import short_model_name
from melanoma_desktop.ui.adapt_dialog import AdaptDialog
from melanoma_desktop.ui.import_dialog import ImportPreviewDialog
from melanoma_desktop.ui.versions_dialog import VersionsDialog
from melanoma_desktop.ui.wizard import RetrainWizard
from melanoma_desktop.ui.worker import Job

if TYPE_CHECKING:
    from trainer.api import EnsembleRule


class ClinicController(QObject):
    sig_status = Signal(str, int)  # what to say in the status bar, for how long (ms)
    sig_worklist_changed = Signal()  # cases' confirmed diagnoses or risks changed: the list reads them again
    sig_flag_line_changed = Signal()  # the flag line in use changed (the line under the notice says it)
    sig_models_changed = Signal()  # other model versions were put in use: load them
    sig_import_done = Signal(str)  # what an import recorded (or why nothing was)
    sig_import_previewed = Signal(object)  # the preview dialog, shown
    sig_import_undone = Signal(int)  # cases given back their earlier diagnosis
    sig_reread_done = Signal(int)  # saved cases read again with the flag line in use

    def __init__(self, triage, registry, backbones: str | None, data_dir, parent):
        """``triage``: the window's TriageController; ``registry``: where models are promoted (None: retraining and
        adapting are off); ``backbones``: the ImageNet weights' folder for retraining; ``data_dir``: the user's data
        folder; ``parent``: the window, the dialogs' parent."""
        super().__init__(parent)
        self.triage, self.registry, self.backbones, self.data_dir = triage, registry, backbones, data_dir
        triage.sig_reread_done.connect(self._on_reread_done)
        self.adaptation = None  # the clinic's adapted models (ui.adaptation_controller), with a registry
        if registry is not None:
            from melanoma_desktop.ui.adaptation_controller import AdaptationController

            self.adaptation = AdaptationController(triage.database, registry, triage.runner,
                                                   lambda: triage.classifier, self)
            self.adaptation.sig_site_models_changed.connect(self._on_site_models_changed)

    def menu_entries(self) -> list[tuple]:
        """(text, shortcut or None, slot) for the File menu's confirmed-diagnosis entries, in its order."""
        return [("Import confirmed diagnoses (CSV)…", None, self.ask_import),
                ("Undo last import of confirmed diagnoses…", None, self.undo_last_import)]

    # -- confirmed diagnoses ----------------------------------------------------------------------
    def import_confirmed(self, path: str, replace_conflicting: bool = True) -> Job:
        """Import a CSV of confirmed diagnoses without a preview (e.g. a script); ``sig_import_done`` says what."""

        def work(db, *_):
            try:
                plan = plan_import(path, db.identities)  # only the cases the file names
            except ConfirmedLabelsError as exc:
                return f"Not imported: {exc}"
            db.apply_import(plan, replace_conflicting)
            return plan.summary()

        return self.triage.run_on_database("Importing confirmed diagnoses", work, self._on_imported)

    def _on_imported(self, summary: str) -> None:
        self.sig_worklist_changed.emit()
        self.sig_status.emit(summary, 12000)
        self.sig_import_done.emit(summary)

    def preview_import(self, path: str) -> Job:
        """What the file would change, read off the GUI thread before anything is written, shown in a dialog
        (``sig_import_previewed``); its Import writes it as one undoable step."""

        def work(db, *_):
            try:
                return plan_import(path, db.identities)  # only the cases the file names
            except ConfirmedLabelsError as exc:
                return exc

        return self.triage.run_on_database("Reading the confirmed diagnoses", work, self._show_preview)

    def _show_preview(self, plan) -> None:
        if isinstance(plan, ConfirmedLabelsError):
            QMessageBox.warning(self.parent(), "Import confirmed diagnoses", f"Not imported: {plan}")
            return
        dialog = ImportPreviewDialog(plan, self.parent())
        dialog.accepted.connect(lambda: self.apply_import(plan, dialog.replace_conflicting()))
        dialog.show()
        self.sig_import_previewed.emit(dialog)

    def apply_import(self, plan, replace_conflicting: bool) -> Job:
        n = len(plan.changes(replace_conflicting))

        def done(import_id: int) -> None:
            self._on_imported(f"Import #{import_id}: {n} confirmed diagnosis(es) recorded (File > Undo last import "
                              "puts them back).")

        return self.triage.run_on_database("Recording confirmed diagnoses",
                                           lambda db, *_: db.apply_import(plan, replace_conflicting), done)

    def undo_last_import(self) -> Job | None:
        """Put back the newest import of confirmed diagnoses, after asking (``sig_import_undone``: the cases
        restored); the job, or None when there is nothing to undo or the clinician said no."""
        last = self.triage.db.last_import()
        if last is None:
            self.sig_status.emit("No import of confirmed diagnoses to undo.", 8000)
            return None
        if QMessageBox.question(self.parent(), "Undo import", f"Undo import #{last['id']} ({last['cases']} case(s) "
                                f"from {last['file']}, by {last['who']})? Each case gets back the confirmed diagnosis "
                                "it had before.", QMessageBox.Yes | QMessageBox.No, QMessageBox.No) != QMessageBox.Yes:
            return None

        def done(restored: int) -> None:
            self.sig_worklist_changed.emit()
            self.sig_status.emit(f"Import #{last['id']} undone: {restored} case(s) restored.", 10000)
            self.sig_import_undone.emit(restored)

        return self.triage.run_on_database("Undoing the import", lambda db, *_: db.undo_import(last["id"]), done)

    def ask_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent(), "Import confirmed diagnoses", "",
                                              "CSV: image,label[,source][,date] (*.csv)")
        if path:
            self.preview_import(path)

    # -- the clinic's flag line -----------------------------------------------------------------
    def show_local_performance(self):
        from melanoma_desktop.ui.local_performance_dialog import LocalPerformanceDialog

        triage = self.triage
        dialog = LocalPerformanceDialog(triage.confirmed_records, triage.flag_rule, self.registry, triage.runner,
                                        self.parent(), {i.name: short_model_name(i.display_name)
                                                        for i in triage.model_infos()},
                                        clinic=clinic_name(self.data_dir))
        dialog.sig_rule_adopted.connect(self.use_site_rule)
        dialog.show()
        return dialog

    def use_site_rule(self, rule: EnsembleRule | None) -> str:
        """Read new cases with the clinic's flag line ``rule`` (None: the shipped one again). Saved cases of the
        same model versions are shown with it at once (their answers are stored); their records keep the line they
        were read with until they are re-read."""
        message = self.triage.use_site_rule(rule)
        self.sig_worklist_changed.emit()  # every row on the line now in use (records.shown_with)
        self.sig_flag_line_changed.emit()
        self.sig_status.emit(message, 10000)
        if self.triage.flag_rule is not None and self.triage.flag_rule == rule:
            self.offer_reread(rule)
        return message

    def offer_reread(self, rule: EnsembleRule):
        """After a flag line is adopted: offer to read the saved cases of these models with it too (one audited
        step), so that the worklist holds one risk scale. Returns the re-reading job (None when declined)."""
        others = self.triage.db.rereadable_count(rule)  # counted by the database, not read
        if not others or QMessageBox.question(
                self.parent(), "Saved cases", f"Read the {others} saved case(s) of these models with this flag line "
                "too? Their risk and flag change to this line (the models' answers stay); the audit records it. If "
                "not, they keep the line they were read with.", QMessageBox.Yes | QMessageBox.No,
                QMessageBox.No) != QMessageBox.Yes:
            return None
        return self.reread_cases()

    def reread_cases(self) -> Job | None:
        """Every saved case read again with the flag line in use, off the GUI thread; the job (None: no rule)."""
        job = self.triage.reread_cases()
        if job is None:
            self.sig_status.emit("No combined rule for the installed models: nothing to re-read with.", 8000)
            return None
        self.sig_status.emit("Reading the saved cases again with the current flag line…", 0)
        return job

    def _on_reread_done(self, n: int) -> None:
        self.sig_worklist_changed.emit()
        self.sig_status.emit(f"{n} case(s) re-read with the current flag line.", 8000)
        self.sig_reread_done.emit(n)

    def ask_reread(self) -> None:
        if QMessageBox.question(self.parent(), "Re-read all cases", "Read every saved case again with the flag line "
                                "now in use? Their risk and flag change; the models' answers stay.",
                                QMessageBox.Yes | QMessageBox.No, QMessageBox.No) == QMessageBox.Yes:
            self.reread_cases()

    # -- the Models menu ------------------------------------------------------------------------
    def show_metrics(self):
        from melanoma_desktop.ui.metrics_panel import MetricsPanel

        panel = MetricsPanel([i.bundle_dir for i in self.triage.model_infos() if i.bundle_dir], self.parent())
        panel.show()
        return panel

    def show_retrain_wizard(self):
        active = {i.name: i.bundle_dir for i in self.triage.model_infos() if i.available and i.bundle_dir}
        wizard = RetrainWizard(self.triage.runner, self.registry, self.registry.root.parent / "runs", active,
                               backbones=self.backbones, parent=self.parent())
        wizard.sig_promoted.connect(self.models_promoted)
        wizard.sig_adapt_requested.connect(self.show_adapt_dialog)
        wizard.show()
        return wizard

    def show_adapt_dialog(self):
        dialog = AdaptDialog(self.adaptation, self.parent())
        dialog.show()
        return dialog

    def show_versions(self):
        dialog = VersionsDialog(self.registry, self.parent(), adaptation=self.adaptation)
        dialog.sig_restored.connect(self.version_restored)
        dialog.sig_site_rule_restored.connect(self.use_site_rule)
        dialog.show()
        return dialog

    def _on_site_models_changed(self, site_models) -> None:
        """New cases are read by other models: load them (saved cases keep the versions they were read with)."""
        self.sig_status.emit("New cases will be read with " + (
            f"the models adapted to this clinic ({site_models.version})" if site_models is not None
            else "the installed models as they are") + "; loading them…", 10000)
        self.sig_models_changed.emit()

    # -- models put in use ------------------------------------------------------------------------
    def models_promoted(self, promoted: list) -> None:
        """Retrained models put in use from the wizard: audited (who, when, which versions), then loaded."""
        if promoted:
            self._audit_then_load("retrained models put in use", ", ".join(f"{v.name} {v.version}" for v in promoted))

    def version_restored(self, name: str, version: str) -> None:
        """Models > Versions put another version of a model in use: audited, then loaded."""
        self._audit_then_load("model version put in use", f"{name} {version}")

    def _audit_then_load(self, action: str, detail: str) -> Job:
        return self.triage.run_on_database(f"Recording: {action}", lambda db, *_: db.audit(action, detail),
                                           lambda _result: self.sig_models_changed.emit())

