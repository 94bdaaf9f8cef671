"""The clinician's main window: drop images, see the three models side by side, keep the history.

The window keeps layout, menus and input; its controllers do the work, as jobs off the GUI thread, and say
what came of it by their signals: :class:`TriageController` (the database, the models, batches, heatmaps,
reviews), :class:`ReportController` (what is written or printed), :class:`ClinicController` (confirmed
diagnoses, the clinic's flag line) and :class:`CaseController` (cases and patients). Flow: dropped paths ->
the triage job -> records saved to the database by the job -> read back -> the window shows them. The
window never calls a model and never writes to the database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QSplitter, QVBoxLayout, QWidget

from melanoma_desktop import DISCLAIMER
from melanoma_desktop.core.records import WORKLIST_FILTERS, ModelInfo, worklist_order
from melanoma_desktop.ui import input as window_input
from melanoma_desktop.ui.batch_bar import BatchBar
from melanoma_desktop.ui.case_controller import CaseController
from melanoma_desktop.ui.case_view import CaseView
from melanoma_desktop.ui.clinic_controller import ClinicController
from melanoma_desktop.ui.clinician_controller import ClinicianController
from melanoma_desktop.ui.dialogs import show_about
from melanoma_desktop.ui.models_status import models_status
from melanoma_desktop.ui.report_controller import ReportController
from melanoma_desktop.ui.screen_fit import fit_to_screen
from melanoma_desktop.ui.triage_controller import TriageController
from melanoma_desktop.ui.worklist_panel import WorklistPanel


class MainWindow(QMainWindow):
    sig_images_dropped = Signal(list)  # paths
    sig_models_ready = Signal(list)  # ModelInfo list
    sig_batch_finished = Signal(str)  # "finished" | "cancelled" | "failed"
    sig_case_saved = Signal(int)  # case id
    sig_heatmaps_shown = Signal(int)  # case id

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
        self._bar_shows = ""  # "batch" or "report": whose progress the batch bar shows, and Cancel stops
        self._selected_by_window = None  # the case the window selected itself during the running batch
        self._build_ui()
        self.clinicians = ClinicianController(self.db_path.parent, self)  # who is using the app
        current_case = lambda: self.worklist.current_case_id()  # noqa: E731 (asked when needed)
        self.reports = ReportController(controller, lambda: self.clinicians.settings.clinic_name, current_case,
                                        self.current_filter, self)
        self.clinic = ClinicController(controller, registry, backbones, self.db_path.parent, self)
        self.cases = CaseController(controller, current_case, self.sig_images_dropped.emit, self)
        self._build_menus()
        self._connect_controller(controller)
        self._connect_actions()
        self.sig_images_dropped.connect(self.triage_paths)
        window_input.restore_layout(self, self.db_path.parent)
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
        delete.activated.connect(lambda: self.cases.ask_delete())  # (the controllers come after the layout)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self._add_entries(bar.addMenu("&File"), [
            ("Open images…", QKeySequence.Open, self._open_files),
            ("Open folder…", "Ctrl+Shift+O", self._open_folder),
            ("Open images of one patient's lesion…", None, lambda: self.cases.open_for_patient()),
            ("Paste images", QKeySequence.Paste, self.paste_from_clipboard), None,
            *self.clinic.menu_entries(), None, *self.reports.menu_entries(), None,
            ("Quit", QKeySequence.Quit, self.close)])
        case_menu = bar.addMenu("&Case")
        self.reviewed_action, self.delete_action, *_ = self._add_entries(case_menu, [
            ("Mark reviewed / unreviewed", "Ctrl+R", self.toggle_reviewed), *self.cases.menu_entries(),
            ("Re-read all cases with the current flag line…", None, self.clinic.ask_reread)])
        models_menu = bar.addMenu("&Models")
        for action in self._add_entries(models_menu, [
                ("Metrics…", None, self.clinic.show_metrics),
                ("Local performance…", None, self.clinic.show_local_performance),
                ("Adapt to this clinic…", None, self.clinic.show_adapt_dialog),
                ("Retrain…", None, self.clinic.show_retrain_wizard), ("Versions…", None, self.clinic.show_versions)]):
            action.setEnabled(self.registry is not None or action.text() == "Metrics…")
        self._add_entries(models_menu, [("Reload models", None, self.start_loading_models)])
        self.clinicians.build_menu(bar)
        self._add_entries(bar.addMenu("&Help"), [("About…", None, lambda: show_about(
            self, self.model_infos(), self.controller.flag_rule, self.classifier.ensemble_note if self.classifier
            else ""))])

    def _add_entries(self, menu, entries: list) -> list[QAction]:
        """(text, shortcut or None, slot) entries as actions of ``menu``; None: a separator."""
        actions = []
        for entry in entries:
            if entry is None:
                menu.addSeparator()
                continue
            text, key, slot = entry
            action = QAction(text, self)
            if key is not None:
                action.setShortcut(QKeySequence(key))
            action.triggered.connect(slot)
            menu.addAction(action)
            actions.append(action)
        return actions

    def _connect_actions(self) -> None:
        """The other controllers' news: said in the status bar; the list, the case and the batch bar follow."""
        for controller in (self.reports, self.clinic, self.cases):
            controller.sig_status.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        for controller in (self.clinic, self.cases):
            controller.sig_worklist_changed.connect(self.reload_worklist)
        self.reports.sig_report_started.connect(self._on_report_started)
        self.reports.sig_report_progress.connect(lambda done, total: self.batch_bar.update_progress(done, total, None,
                                                                                                    "pages"))
        self.reports.sig_report_finished.connect(lambda _outcome: self.batch_bar.finish())
        self.clinic.sig_flag_line_changed.connect(
            lambda: self._show_models_status(self.classifier) if self.classifier is not None else None)
        self.clinic.sig_models_changed.connect(self.start_loading_models)
        self.cases.sig_cases_removed.connect(self._on_cases_removed)
        self.cases.sig_case_deleted.connect(lambda case_id: (self.worklist_model.remove(case_id),
                                                             self.worklist_panel.update_count()))

    # -- models ---------------------------------------------------------------------------------
    def model_infos(self) -> list[ModelInfo]:
        return self.controller.model_infos()

    def start_loading_models(self) -> None:
        self.controller.load_models()

    def _on_models_loaded(self, classifier) -> None:
        infos = self._show_models_status(classifier)
        self.worklist_model.set_model_names([i.name for i in infos])
        self.case_view.set_models(infos)
        self.reload_worklist()
        self.sig_models_ready.emit(infos)

    def _show_models_status(self, classifier) -> list:
        """The line under the notice (ui.models_status); the models' infos."""
        text, style, tooltip = models_status(classifier)
        self.models_status.setText(text)
        self.models_status.setStyleSheet(style)
        self.models_status.setToolTip(tooltip)
        return classifier.model_infos()

    # -- triage ---------------------------------------------------------------------------------
    def triage_paths(self, paths: list[str]) -> None:
        if paths and self.controller.triage(paths) == "no models":
            QMessageBox.warning(self, "No models", self.models_status.text())

    def cancel_batch(self) -> None:
        """The batch bar's Cancel: the job the bar shows (the batch of images, or the batch report)."""
        if self._bar_shows == "report" and self.reports.report_job is not None:
            self.reports.cancel_report()
        else:
            self.controller.cancel_batch()

    def _on_batch_started(self, n_items: int) -> None:
        self._bar_shows = "batch"
        self._selected_by_window = None  # the case the window selected itself during this batch, if any
        self.batch_bar.start("Finding the images…", 0)  # a dropped folder is one item: the count comes next

    def _on_report_started(self, text: str, steps: int) -> None:
        self._bar_shows = "report"
        self.batch_bar.start(text, steps)

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
        self.cases.after_batch([r.id for r in records])
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

    def toggle_reviewed(self) -> None:
        case_id = self.worklist.current_case_id()
        if case_id is not None:
            self._on_review_changed(case_id, {"reviewed": not self.db.get(case_id).reviewed})

    def _on_cases_removed(self, case_ids) -> None:
        """Cases about to be deleted (None: a patient's, being erased): the case view lets go of the one it shows
        first, so that no note being typed is saved back to it."""
        view = self.case_view
        if view.record is not None and (case_ids is None or view.record.id in case_ids):
            view.record = None
            view.set_record(None)

    def _on_cases_changed(self, case_ids: list) -> None:
        """Cases added, changed or deleted elsewhere (another workstation): the list and its counts follow; the
        clinician's selection stays on the case it was on."""
        current = self.worklist.current_case_id()
        self.worklist_model.refresh(case_ids)
        view = self.case_view
        if current is not None and not self.worklist.select_case(current):  # deleted, or left the filter: the
            self.worklist.clear_highlight()  # row goes, the case stays on screen (nothing else highlighted)
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

    # -- input ----------------------------------------------------------------------------------
    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event):
        paths = window_input.paths_from_urls(event.mimeData().urls())
        if paths:
            event.acceptProposedAction()
            self.sig_images_dropped.emit(paths)

    def paste_from_clipboard(self) -> None:
        paths = window_input.paths_from_clipboard(self.db_path.parent / "pasted")
        if paths:
            self.sig_images_dropped.emit(paths)
        else:
            self.statusBar().showMessage("The clipboard holds no image or image file.", 5000)

    def _open_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open dermoscopic images", "", window_input.image_file_filter())
        self.sig_images_dropped.emit(files)

    def _open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images")
        if folder:
            self.sig_images_dropped.emit([folder])

    def closeEvent(self, event):
        window_input.save_layout(self, self.db_path.parent)
        self.controller.close()
        super().closeEvent(event)
