"""The clinician's main window: drop images, see the three models side by side, keep the history.

The window keeps layout, menus and input; its :class:`TriageController` keeps the database, the models
and the jobs. Flow: dropped paths -> the controller's triage job (off the GUI thread) -> records saved
to the database by the job -> the controller reads them back -> the window shows them. The window
never calls a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QSplitter, QVBoxLayout, QWidget

from melanoma_desktop import DISCLAIMER
from melanoma_desktop.core.records import WORKLIST_FILTERS, ModelInfo, worklist_order
from melanoma_desktop.core.wording import short_model_name, version_words
from melanoma_desktop.ui.batch_bar import BatchBar
from melanoma_desktop.ui.case_view import CaseView
from melanoma_desktop.ui.clinic_actions import ClinicActions
from melanoma_desktop.ui.clinician_controller import ClinicianController
from melanoma_desktop.ui.dialogs import show_about
from melanoma_desktop.ui.input_actions import InputActions
from melanoma_desktop.ui.report_actions import ReportActions
from melanoma_desktop.ui.screen_fit import fit_to_screen
from melanoma_desktop.ui.triage_controller import TriageController
from melanoma_desktop.ui.worklist_panel import WorklistPanel


class MainWindow(ReportActions, InputActions, ClinicActions, QMainWindow):
    sig_images_dropped = Signal(list)  # paths
    sig_models_ready = Signal(list)  # ModelInfo list
    sig_batch_finished = Signal(str)  # "finished" | "cancelled" | "failed"
    sig_case_saved = Signal(int)  # case id
    sig_heatmaps_shown = Signal(int)  # case id
    sig_report_finished = Signal(str)  # "finished" | "cancelled" | "failed" (the batch report job)

    def __init__(self, db_path: Path, classifier_factory: Callable[[Callable[[str], None]], object], parent=None,
                 registry=None, backbones: str | None = None, storage=None):
        super().__init__(parent)
        self.registry = registry  # where retrained models are promoted (None: retraining is off)
        self.backbones = backbones
        self.setWindowTitle("Melanoma triage — research software")
        fit_to_screen(self, 1280, 820)
        self.setAcceptDrops(True)
        self.db_path = Path(db_path)
        self.controller = controller = TriageController(self.db_path, classifier_factory, self, storage)
        self.adaptation = None  # the clinic's adapted models (ui.adaptation_controller), with a registry
        if registry is not None:
            from melanoma_desktop.ui.adaptation_controller import AdaptationController

            self.adaptation = AdaptationController(controller.database, registry, controller.runner,
                                                   lambda: controller.classifier, self)
            self.adaptation.sig_site_models_changed.connect(self._on_site_models_changed)
        self._report_job = None  # the batch report being written (ui.report_actions)
        self._bar_shows = ""  # "batch" or "report": whose progress the batch bar shows, and Cancel stops
        self._selected_by_window = None  # the case the window selected itself during the running batch
        self._build_ui()
        self.clinicians = ClinicianController(self.db_path.parent, self)  # who is using the app
        self._build_menus()
        self._connect_controller(controller)
        self.sig_images_dropped.connect(self.triage_paths)
        self._restore_layout()
        self.reload_worklist()

    def _connect_controller(self, controller: TriageController) -> None:
        controller.sig_job_failed.connect(self._on_job_failed)
        controller.sig_worklist_rescaled.connect(lambda _n: self.reload_worklist())
        controller.sig_case_conflict.connect(self._on_case_conflict)
        controller.sig_cases_changed.connect(self._on_cases_changed)
        controller.sig_models_loading.connect(
            lambda text: self.models_status.setText(f"Loading models… {text}".rstrip()
                                                    + ("" if text else " (the window works meanwhile; dropped "
                                                                       "images wait for them)")))
        controller.sig_models_loaded.connect(self._on_models_loaded)
        controller.sig_paths_waiting.connect(
            lambda n: self.models_status.setText(f"{n} dropped item{'' if n == 1 else 's'} (files or folders) "
                                                 "waiting for the models to load…"))
        controller.sig_batch_started.connect(self._on_batch_started)
        controller.sig_batch_progress.connect(self._on_batch_progress)
        controller.sig_item_failed.connect(self._on_item_failed)
        controller.sig_records_saved.connect(self._show_saved)
        controller.sig_batch_done.connect(self._on_batch_done)
        controller.sig_image_decoded.connect(self.case_view.set_image)
        controller.sig_heatmaps_ready.connect(self._on_heatmaps_ready)

    # what the menus and actions reach through the window: the controller's
    db = property(lambda self: self.controller.db)
    classifier = property(lambda self: self.controller.classifier)
    runner = property(lambda self: self.controller.runner)
    _closed = property(lambda self: self.controller.closed)

    # -- layout ---------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        central = QWidget()
        outer = QVBoxLayout(central)
        self.disclaimer_label = QLabel(f"⚠ {DISCLAIMER}")
        self.disclaimer_label.setObjectName("disclaimer")
        self.disclaimer_label.setStyleSheet("background: #fff4ce; color: #5c4400; padding: 6px; font-weight: 600;"
                                            "border: 1px solid #e0c36a;")
        outer.addWidget(self.disclaimer_label)
        self.models_status = QLabel("Loading models…")
        self.models_status.setObjectName("models_status")
        self.models_status.setWordWrap(True)
        outer.addWidget(self.models_status)
        self.splitter = splitter = QSplitter(Qt.Horizontal)
        left = self.worklist_panel = WorklistPanel()
        self.worklist, self.worklist_model, self.error_list = left.view, left.model, left.error_list
        left.model.source = self.controller  # the list asks the database for what it shows
        self.worklist.sig_case_selected.connect(self._on_case_selected)
        left.sig_filter_changed.connect(lambda _key: self.reload_worklist())
        splitter.addWidget(left)
        self.case_view = CaseView()
        self.case_view.sig_review_changed.connect(self._on_review_changed)
        self.case_view.sig_heatmaps_wanted.connect(self.request_heatmaps)
        self.case_view.sig_image_wanted.connect(lambda case_id: self.controller.decode_image(case_id))
        splitter.addWidget(self.case_view)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([630, 650])  # the worklist with its patient columns, and the case
        outer.addWidget(splitter, 1)
        self.batch_bar = BatchBar()
        self.batch_bar.sig_cancel_requested.connect(self.cancel_batch)
        outer.addWidget(self.batch_bar)
        self.setCentralWidget(central)
        shortcut = QShortcut(QKeySequence("R"), self.worklist)
        shortcut.setContext(Qt.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.toggle_reviewed)
        delete = QShortcut(QKeySequence.Delete, self.worklist)
        delete.setContext(Qt.WidgetWithChildrenShortcut)
        delete.activated.connect(self.delete_current_case)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for text, key, slot in (("Open images…", QKeySequence.Open, self._open_files),
                                ("Open folder…", "Ctrl+Shift+O", self._open_folder),
                                ("Open images of one patient's lesion…", None, self._open_for_patient),
                                ("Paste images", QKeySequence.Paste, self.paste_from_clipboard),
                                ("Export worklist to CSV…", "Ctrl+E", self._export_csv),
                                ("Import confirmed diagnoses (CSV)…", None, self._import_confirmed_dialog),
                                ("Undo last import of confirmed diagnoses…", None, self.undo_last_import),
                                ("Print case report…", QKeySequence.Print, self._print_dialog),
                                ("Save case report as PDF…", "Ctrl+Shift+S", self._case_report_dialog),
                                ("Export case for the patient's record (DICOM PDF, FHIR)…", None,
                                 self._export_to_record_dialog),
                                ("Batch report (PDF + CSV)…", "Ctrl+Shift+P", self._batch_report_dialog),
                                ("Quit", QKeySequence.Quit, self.close)):
            action = QAction(text, self)
            if key is not None:
                action.setShortcut(QKeySequence(key))
            action.triggered.connect(slot)
            file_menu.addAction(action)
        case_menu = self.menuBar().addMenu("&Case")
        self.reviewed_action = QAction("Mark reviewed / unreviewed", self)
        self.reviewed_action.setShortcut(QKeySequence("Ctrl+R"))
        self.reviewed_action.triggered.connect(self.toggle_reviewed)
        case_menu.addAction(self.reviewed_action)
        self.delete_action = QAction("Delete case…", self)
        self.delete_action.triggered.connect(self.delete_current_case)
        case_menu.addAction(self.delete_action)
        lesion = QAction("Lesion over time…", self)
        lesion.setShortcut(QKeySequence("Ctrl+L"))
        lesion.triggered.connect(self.show_lesion_view)
        case_menu.addAction(lesion)
        assign = QAction("Assign to patient / lesion…", self)
        assign.setShortcut(QKeySequence("Ctrl+Shift+A"))
        assign.triggered.connect(lambda: self.show_assign_dialog())
        case_menu.addAction(assign)
        details = QAction("Patient details…", self)
        details.triggered.connect(lambda: self.show_patient_dialog())
        case_menu.addAction(details)
        erase = QAction("Erase this case's patient…", self)
        erase.triggered.connect(self._erase_patient_dialog)
        case_menu.addAction(erase)
        reread = QAction("Re-read all cases with the current flag line…", self)
        reread.triggered.connect(self._reread_dialog)
        case_menu.addAction(reread)
        models_menu = self.menuBar().addMenu("&Models")
        for text, slot in (("Metrics…", self.show_metrics), ("Local performance…", self.show_local_performance),
                           ("Adapt to this clinic…", self.show_adapt_dialog),
                           ("Retrain…", self.show_retrain_wizard), ("Versions…", self.show_versions)):
            action = QAction(text, self)
            action.triggered.connect(slot)
            action.setEnabled(self.registry is not None or text == "Metrics…")
            models_menu.addAction(action)
        reload_action = QAction("Reload models", self)
        reload_action.triggered.connect(self.start_loading_models)
        models_menu.addAction(reload_action)
        self.clinicians.build_menu(self.menuBar())
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("About…", self)
        about.triggered.connect(lambda: show_about(self, self.model_infos(), self.controller.flag_rule,
                                                   self.classifier.ensemble_note if self.classifier else ""))
        help_menu.addAction(about)

    # -- models ---------------------------------------------------------------------------------
    def model_infos(self) -> list[ModelInfo]:
        return self.controller.model_infos()

    def show_metrics(self):
        from melanoma_desktop.ui.metrics_panel import MetricsPanel

        panel = MetricsPanel([i.bundle_dir for i in self.model_infos() if i.bundle_dir], self)
        panel.show()
        return panel

    def show_retrain_wizard(self):
        from melanoma_desktop.ui.wizard import RetrainWizard

        active = {i.name: i.bundle_dir for i in self.model_infos() if i.available and i.bundle_dir}
        wizard = RetrainWizard(self.runner, self.registry, self.registry.root.parent / "runs", active,
                               backbones=self.backbones, parent=self)
        wizard.sig_promoted.connect(self._on_models_promoted)
        wizard.sig_adapt_requested.connect(self.show_adapt_dialog)
        wizard.show()
        return wizard

    def show_adapt_dialog(self):
        from melanoma_desktop.ui.adapt_dialog import AdaptDialog

        dialog = AdaptDialog(self.adaptation, self)
        dialog.show()
        return dialog

    def _on_site_models_changed(self, site_models) -> None:
        """New cases are read by other models: load them (saved cases keep the versions they were read with)."""
        self.statusBar().showMessage("New cases will be read with " + (
            f"the models adapted to this clinic ({site_models.version})" if site_models is not None
            else "the installed models as they are") + "; loading them…", 10000)
        self.start_loading_models()

    def show_versions(self):
        from melanoma_desktop.ui.versions_dialog import VersionsDialog

        dialog = VersionsDialog(self.registry, self, adaptation=self.adaptation)
        dialog.sig_restored.connect(self._on_version_restored)
        dialog.sig_site_rule_restored.connect(self.use_site_rule)
        dialog.show()
        return dialog

    def start_loading_models(self) -> None:
        self.controller.load_models()

    def _on_models_loaded(self, classifier) -> None:
        infos = self._show_models_status(classifier)
        self.worklist_model.set_model_names([i.name for i in infos])
        self.case_view.set_models(infos)
        self.reload_worklist()
        self.sig_models_ready.emit(infos)

    def _show_models_status(self, classifier) -> list:
        """The line under the notice: models ready, the flag line or adapted models in use, and why a clinic's
        own is not used. Said again whenever either changes (not only when the models load)."""
        infos = classifier.model_infos()
        available = [i for i in infos if i.available]
        parts = [f"{len(available)} of {len(infos)} models ready"]
        missing = [info for info in infos if not info.available]
        if missing:  # the full reason and the fix are in each model's panel and tooltip
            parts.append(f"unavailable: {', '.join(short_model_name(i.display_name) for i in missing)} (see their panels)")
            self.models_status.setToolTip("\n\n".join(f"{i.display_name}: {i.reason}" for i in missing))
        site = classifier.ensemble.site_version if classifier.ensemble is not None else None
        adapted = classifier.site_models
        if adapted is not None:
            parts.append(f"models adapted to this clinic ({adapted.cases['melanomas']} melanomas, "
                         f"{adapted.cases['benign']} benign confirmed)")
        elif site:
            parts.append(f"flag line: the clinic's own ({version_words(site)})")
        elif infos:
            parts.append("flag line: the shipped one, not yet checked on your confirmed cases (Models > Local "
                         "performance)")
        for note in (classifier.site_rule_note, classifier.site_models_note):
            if note:
                parts.append(note)
        if not infos:
            text = classifier.empty_reason or "No models are installed."
            self.models_status.setStyleSheet("color: #b3261e; font-weight: 600;")
        else:
            text = " — ".join(parts)
            self.models_status.setStyleSheet("" if len(available) == len(infos) else "color: #b3261e;")
        self.models_status.setText(text)
        return infos

    # -- triage ---------------------------------------------------------------------------------
    def triage_paths(self, paths: list[str]) -> None:
        if paths and self.controller.triage(paths) == "no models":
            QMessageBox.warning(self, "No models", self.models_status.text())

    def cancel_batch(self) -> None:
        """The batch bar's Cancel: the job the bar shows (the batch of images, or the batch report)."""
        if self._bar_shows == "report" and self._report_job is not None:
            self._report_job.cancel()
        else:
            self.controller.cancel_batch()

    def _on_batch_started(self, n_items: int) -> None:
        self._bar_shows = "batch"
        self._selected_by_window = None  # the case the window selected itself during this batch, if any
        self.batch_bar.start("Finding the images…", 0)  # a dropped folder is one item: the count comes next

    def _on_batch_progress(self, done: int, total: int, eta_s) -> None:
        if self._bar_shows == "batch":
            self.batch_bar.set_text(f"Classifying {total} image{'' if total == 1 else 's'}…")
            self.batch_bar.update_progress(done, total, eta_s, "images" if total != 1 else "image")

    def _on_item_failed(self, path: str, message: str) -> None:
        self.error_list.show()
        self.error_list.addItem(f"{Path(path).name}: {message}")
        self.statusBar().showMessage(f"Could not read {path}: {message}", 8000)

    def _show_saved(self, records: list) -> None:
        current = self.worklist.current_case_id()
        self.worklist_model.refresh([r.id for r in records])  # the count and the rows on screen: not the rest
        if current is not None:
            self.worklist.select_case(current)  # rows may have moved under it
        if self.worklist.current_case_id() is None:
            self._select_top_of(self.controller.batch_records)
            self._selected_by_window = self.worklist.current_case_id()
        self.worklist_panel.update_count()
        for record in records:
            self.sig_case_saved.emit(record.id)

    def _on_batch_done(self, outcome: str, records: list, already_known: int) -> None:
        current = self.worklist.current_case_id()
        if current is None or current == self._selected_by_window:
            self._select_top_of(records)  # the top new case, unless the clinician chose a case meanwhile
        self.after_batch([r.id for r in records])
        self.batch_bar.finish()
        known = (f" {already_known} image(s) were already in the history (the same file content) and are "
                 "shown as they were read." if already_known else "")
        self.statusBar().showMessage(f"Batch {outcome}.{known}", 10000)
        self.sig_batch_finished.emit(outcome)

    def _select_top_of(self, records: list) -> None:
        """Select the new case at the top of the worklist order (highest combined risk)."""
        shown = [r for r in records if self._matches_filter(r)]
        if shown:
            self.worklist.select_case(min(shown, key=worklist_order).id)

    def _on_job_failed(self, name: str, message: str) -> None:
        QMessageBox.critical(self, f"{name} failed", message)

    # -- worklist -------------------------------------------------------------------------------
    def current_filter(self) -> str:
        return self.worklist_panel.current_filter()

    def _matches_filter(self, record) -> bool:
        return WORKLIST_FILTERS[self.current_filter()][1](record)

    def reload_worklist(self) -> None:
        current = self.worklist.current_case_id()
        self.worklist_model.set_filter(self.current_filter())  # the database filters, sorts and pages
        self.worklist_panel.update_count()
        if current is not None:
            self.worklist.select_case(current)

    def _on_case_selected(self, case_id) -> None:
        view = self.case_view  # (a note being typed in the case shown stays as it is: its row only moved)
        if view.record is None or view.record.id != case_id or view.note_edit.toPlainText() == view.record.note:
            view.set_record(self.controller.shown(self.db.get(case_id)) if case_id is not None else None)

    def request_heatmaps(self, case_id: int) -> None:
        """The case's heatmaps of the current model versions: from the database, or computed off the GUI thread."""
        self.controller.request_heatmaps(case_id)

    def _on_heatmaps_ready(self, case_id: int, maps: dict) -> None:
        if self.case_view.record is not None and self.case_view.record.id == case_id:
            self.case_view.set_heatmaps(case_id, maps)
            self.sig_heatmaps_shown.emit(case_id)

    def _on_review_changed(self, case_id: int, change: dict) -> None:
        record = self.controller.update_review(case_id, change)
        if "assess_anyway" in change:
            self.worklist_model.upsert(record)  # its risk, flag and place change, and the counts
            self.worklist.select_case(case_id)
            self.worklist_panel.update_count()
        else:
            self.worklist_model.replace(record)
        if self.case_view.record is not None and self.case_view.record.id == case_id and "note" not in change:
            self.case_view.set_record(record)
            if self.case_view.wants_heatmaps():  # the view was rebuilt: show this case's heatmaps again
                self.request_heatmaps(case_id)
        elif self.case_view.record is not None and self.case_view.record.id == case_id:
            self.case_view.record = record

    def closeEvent(self, event):
        self._save_layout()
        self.controller.close()
        super().closeEvent(event)
