"""The clinician's main window: drop images, see the three models side by side, keep the history.

Flow: dropped paths -> triage job (off the GUI thread) -> records saved to the database by the
job -> the window reads each saved record back and shows it. The window never calls a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QSplitter, QVBoxLayout, QWidget

from melanoma_desktop import DISCLAIMER
from melanoma_desktop.core.database import CaseDatabase
from melanoma_desktop.core.records import WORKLIST_FILTERS, ModelInfo, worklist_order
from melanoma_desktop.ui.batch_bar import BatchBar
from melanoma_desktop.ui.case_view import CaseView
from melanoma_desktop.ui.dialogs import show_about
from melanoma_desktop.ui.jobs import load_models_job, triage_job
from melanoma_desktop.ui.clinic_actions import ClinicActions
from melanoma_desktop.ui.input_actions import InputActions
from melanoma_desktop.ui.report_actions import ReportActions
from melanoma_desktop.ui.worker import JobRunner
from melanoma_desktop.ui.worklist_panel import WorklistPanel


class MainWindow(ReportActions, InputActions, ClinicActions, QMainWindow):
    sig_images_dropped = Signal(list)  # paths
    sig_models_ready = Signal(list)  # ModelInfo list
    sig_batch_finished = Signal(str)  # "finished" | "cancelled" | "failed"
    sig_case_saved = Signal(int)  # case id
    sig_heatmaps_shown = Signal(int)  # case id
    sig_report_finished = Signal(str)  # "finished" | "cancelled" | "failed" (the batch report job)

    def __init__(self, db_path: Path, classifier_factory: Callable[[Callable[[str], None]], object], parent=None,
                 registry=None, backbones: str | None = None):
        super().__init__(parent)
        self.registry = registry  # where retrained models are promoted (None: retraining is off)
        self.backbones = backbones
        self.setWindowTitle("Melanoma triage — research software")
        self.resize(1280, 820)
        self.setAcceptDrops(True)
        self.db_path = Path(db_path)
        self.db = CaseDatabase(self.db_path)
        self.classifier = None
        self.classifier_factory = classifier_factory
        self.runner = JobRunner(self)
        self.runner.sig_job_failed.connect(self._on_job_failed)
        self._batch_job = None
        self._closed = False  # job signals queued before the window closed must not touch the database
        self._pending_paths: list[str] = []
        self._incoming: list[int] = []  # saved case ids not yet shown
        self._batch_records: list = []  # the running batch's saved records, for selecting its top case
        self._already_known = 0  # images of the running batch that were already in the history
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(150)
        self._flush_timer.timeout.connect(self._show_incoming)
        self._build_ui()
        self._build_menus()
        self.sig_images_dropped.connect(self.triage_paths)
        self._restore_layout()
        self.reload_worklist()

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
        self.worklist.sig_case_selected.connect(self._on_case_selected)
        left.sig_filter_changed.connect(lambda _key: self.reload_worklist())
        splitter.addWidget(left)
        self.case_view = CaseView()
        self.case_view.sig_review_changed.connect(self._on_review_changed)
        self.case_view.sig_heatmaps_wanted.connect(self.request_heatmaps)
        self.case_view.sig_image_wanted.connect(self._decode_case_image)
        splitter.addWidget(self.case_view)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([590, 690])
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
                                ("Print case report…", QKeySequence.Print, self._print_dialog),
                                ("Save case report as PDF…", "Ctrl+Shift+S", self._case_report_dialog),
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
        erase = QAction("Erase this case's patient…", self)
        erase.triggered.connect(self._erase_patient_dialog)
        case_menu.addAction(erase)
        reread = QAction("Re-read all cases with the current flag line…", self)
        reread.triggered.connect(self._reread_dialog)
        case_menu.addAction(reread)
        models_menu = self.menuBar().addMenu("&Models")
        for text, slot in (("Metrics…", self.show_metrics), ("Local performance…", self.show_local_performance),
                           ("Retrain…", self.show_retrain_wizard), ("Versions…", self.show_versions)):
            action = QAction(text, self)
            action.triggered.connect(slot)
            action.setEnabled(self.registry is not None or text == "Metrics…")
            models_menu.addAction(action)
        reload_action = QAction("Reload models", self)
        reload_action.triggered.connect(self.start_loading_models)
        models_menu.addAction(reload_action)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("About…", self)
        about.triggered.connect(lambda: show_about(self, self.model_infos(), getattr(self.classifier, "ensemble", None),
                                                   getattr(self.classifier, "ensemble_note", "")))
        help_menu.addAction(about)

    # -- models ---------------------------------------------------------------------------------
    def model_infos(self) -> list[ModelInfo]:
        return self.classifier.model_infos() if self.classifier is not None else []

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
        wizard.sig_promoted.connect(lambda promoted: promoted and self.start_loading_models())
        wizard.show()
        return wizard

    def show_versions(self):
        from melanoma_desktop.ui.versions_dialog import VersionsDialog

        dialog = VersionsDialog(self.registry, self)
        dialog.sig_restored.connect(lambda *_: self.start_loading_models())
        dialog.sig_site_rule_restored.connect(self.use_site_rule)
        dialog.show()
        return dialog

    def start_loading_models(self) -> None:
        self.models_status.setText("Loading models… (the window works meanwhile; dropped images wait for them)")
        job = load_models_job(self.classifier_factory)
        job.signals.sig_progress.connect(lambda text: self.models_status.setText(f"Loading models… {text}"))
        job.signals.sig_finished.connect(self._on_models_loaded)
        self.runner.submit(job)

    def _on_models_loaded(self, classifier) -> None:
        if self._closed:
            return
        self.classifier = classifier
        infos = classifier.model_infos()
        available = [i for i in infos if i.available]
        parts = [f"{len(available)} of {len(infos)} models ready"]
        missing = [info for info in infos if not info.available]
        if missing:  # the full reason and the fix are in each model's panel and tooltip
            parts.append(f"unavailable: {', '.join(i.display_name for i in missing)} (see their panels)")
            self.models_status.setToolTip("\n\n".join(f"{i.display_name}: {i.reason}" for i in missing))
        rule = (getattr(classifier, "ensemble", None) or {}).get("site_rule")
        if rule:
            parts.append(f"flag line: the clinic's own ({rule['version']})")
        elif infos:
            parts.append("flag line: the shipped one, not yet checked on your confirmed cases (Models > Local "
                         "performance)")
        if getattr(classifier, "site_rule_note", ""):
            parts.append(classifier.site_rule_note)
        empty = getattr(classifier, "empty_reason", "")
        if not infos:
            text = empty or "No models are installed."
            self.models_status.setStyleSheet("color: #b3261e; font-weight: 600;")
        else:
            text = " — ".join(parts)
            self.models_status.setStyleSheet("" if len(available) == len(infos) else "color: #b3261e;")
        self.models_status.setText(text)
        self.worklist_model.set_model_names([i.name for i in infos])
        self.case_view.set_models(infos)
        self.reload_worklist()
        self.sig_models_ready.emit(infos)
        if self._pending_paths:
            paths, self._pending_paths = self._pending_paths, []
            self.triage_paths(paths)

    # -- triage ---------------------------------------------------------------------------------
    def triage_paths(self, paths: list[str]) -> None:
        if not paths:
            return
        if self.classifier is None:
            self._pending_paths.extend(paths)
            self.models_status.setText(f"{len(self._pending_paths)} item(s) waiting for the models to load…")
            return
        if not any(i.available for i in self.classifier.model_infos()):
            QMessageBox.warning(self, "No models", self.models_status.text())
            return
        job = triage_job(paths, self.classifier, self.db_path)
        job.signals.sig_progress.connect(self._on_triage_progress)
        job.signals.sig_finished.connect(lambda _r: self._on_batch_done("finished"))
        job.signals.sig_cancelled.connect(lambda: self._on_batch_done("cancelled"))
        job.signals.sig_failed.connect(lambda *_: self._on_batch_done("failed"))
        self._batch_job = job
        self.batch_bar.start(f"Classifying {len(paths)} item(s)…", 0)
        self.runner.submit(job)

    def _on_triage_progress(self, item) -> None:
        if self._closed:
            return
        self.batch_bar.update_progress(item.done, item.total, item.eta_s)
        if item.error:
            self.error_list.show()
            self.error_list.addItem(f"{Path(item.error[0]).name}: {item.error[1]}")
            self.statusBar().showMessage(f"Could not read {item.error[0]}: {item.error[1]}", 8000)
            return
        self._already_known += item.already_known
        # Saved records are shown in small groups: one worklist update per group keeps the window
        # responsive when results arrive every few milliseconds.
        self._incoming.append(item.record.id)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _show_incoming(self) -> None:
        if self._closed:
            return
        ids, self._incoming = self._incoming, []
        for case_id in ids:
            record = self.db.get(case_id)  # show the saved record, as stored
            if record is None:
                continue
            self._batch_records.append(record)
            if self._matches_filter(record):
                self.worklist_model.upsert(record)
        if ids and self.worklist.current_case_id() is None:
            self._select_top_of_batch()
        self._update_count()
        for case_id in ids:
            self.sig_case_saved.emit(case_id)

    def _on_batch_done(self, outcome: str) -> None:
        if self._closed:
            return
        self._flush_timer.stop()
        self._show_incoming()
        self._select_top_of_batch()
        self.after_batch([r.id for r in self._batch_records])
        self._batch_records = []
        self.batch_bar.finish()
        self._batch_job = None
        known = (f" {self._already_known} image(s) were already in the history (the same file content) and are "
                 "shown as they were read." if self._already_known else "")
        self._already_known = 0
        self.statusBar().showMessage(f"Batch {outcome}.{known}", 10000)
        self.sig_batch_finished.emit(outcome)

    def _select_top_of_batch(self) -> None:
        """Select the new case at the top of the worklist order (highest combined risk)."""
        shown = [r for r in self._batch_records if self._matches_filter(r)]
        if shown:
            self.worklist.select_case(min(shown, key=worklist_order).id)

    def cancel_batch(self) -> None:
        if self._batch_job is not None:
            self._batch_job.cancel()

    def _on_job_failed(self, name: str, message: str, _traceback: str) -> None:
        QMessageBox.critical(self, f"{name} failed", message)

    # -- worklist -------------------------------------------------------------------------------
    def current_filter(self) -> str:
        return self.worklist_panel.current_filter()

    def _matches_filter(self, record) -> bool:
        return WORKLIST_FILTERS[self.current_filter()][1](record)

    def reload_worklist(self) -> None:
        current = self.worklist.current_case_id()
        self.worklist_model.set_records(self.db.list(self.current_filter()))
        self._update_count()
        if current is not None:
            self.worklist.select_case(current)

    def _update_count(self) -> None:
        self.worklist_panel.update_count(self.db.count())

    def _on_case_selected(self, case_id) -> None:
        self.case_view.set_record(self.db.get(case_id) if case_id is not None else None)

    def _decode_case_image(self, case_id: int) -> None:
        from melanoma_desktop.ui.jobs import decode_case_image_job

        record = self.db.get(case_id)
        if record is None:
            return
        job = decode_case_image_job(case_id, record.path)
        job.signals.sig_finished.connect(lambda result: None if self._closed else self.case_view.set_image(*result))
        self.runner.submit(job, heavy=False)

    def request_heatmaps(self, case_id: int) -> None:
        """Show cached heatmaps of the current model versions, or compute them off the GUI thread."""
        from melanoma_desktop.core.heatmaps import heatmap_from_png
        from melanoma_desktop.ui.jobs import heatmap_job

        current = {i.name: i.version for i in self.model_infos() if i.available}
        cached = self.db.get_heatmaps(case_id)
        if current and all(cached.get(n, ("",))[0] == v for n, v in current.items()):
            self.case_view.set_heatmaps(case_id, {n: heatmap_from_png(cached[n][1]) for n in current})
            self.sig_heatmaps_shown.emit(case_id)
            return
        record = self.db.get(case_id)
        if self.classifier is None or not current or record is None or not Path(record.path).is_file():
            return
        job = heatmap_job(case_id, record.path, self.classifier, self.db_path)
        job.signals.sig_finished.connect(self._on_heatmaps_computed)
        self.runner.submit(job)

    def _on_heatmaps_computed(self, case_id: int) -> None:
        if self._closed:
            return
        if self.case_view.record is not None and self.case_view.record.id == case_id:
            self.request_heatmaps(case_id)

    def _on_review_changed(self, case_id: int, change: dict) -> None:
        if "confirmed" in change:
            label, source = change.pop("confirmed")
            self.db.set_confirmed(case_id, label, source)
        record = self.db.update_review(case_id, **change)
        if "assess_anyway" in change:
            self.worklist_model.upsert(record)  # its risk, flag and place change
            self.worklist.select_case(case_id)
        else:
            self.worklist_model.replace(record)
        if self.case_view.record is not None and self.case_view.record.id == case_id and "note" not in change:
            self.case_view.set_record(record)
            if self.case_view.wants_heatmaps():  # the view was rebuilt: show this case's heatmaps again
                self.request_heatmaps(case_id)
        elif self.case_view.record is not None and self.case_view.record.id == case_id:
            self.case_view.record = record

    def toggle_reviewed(self) -> None:
        case_id = self.worklist.current_case_id()
        if case_id is not None:
            record = self.db.get(case_id)
            self._on_review_changed(case_id, {"reviewed": not record.reviewed})

    def closeEvent(self, event):
        self._save_layout()
        self._closed = True
        self.runner.cancel_all()
        self.runner.wait(15000)
        self.db.close()
        super().closeEvent(event)
