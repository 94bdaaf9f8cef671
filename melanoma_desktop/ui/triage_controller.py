"""What the main window asks for, done off the GUI thread: models, batches, heatmaps, reviews, flag lines.

The controller owns the case database, the loaded models and the job runner; the window owns
layout, menus and input, and shows what the controller's signals carry. Flow: paths -> triage job
(the records are saved by the job) -> ``sig_records_saved`` with the records read back as stored.
Neither the controller nor the window calls a model on the GUI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from sqlalchemy.exc import SQLAlchemyError

from melanoma_desktop.core.classifier import Classifier
from melanoma_desktop.core.clinicians import acting_clinician, current_clinician
from melanoma_desktop.core.database import CHANGE_LOOKBACK, CaseDatabase, DatabaseError, StaleCaseError
from melanoma_desktop.core.heatmaps import heatmap_from_png
from melanoma_desktop.core.records import ModelInfo
from melanoma_desktop.core.risk_scale import shown_with
from melanoma_desktop.core.wording import version_words
from melanoma_desktop.ui.jobs import decode_case_image_job, heatmap_job, load_models_job, shown_line_job, triage_job
from melanoma_desktop.ui.worker import Job, JobRunner
from trainer.api import EnsembleRule

FLUSH_INTERVAL_MS = 150  # saved records reach the window in groups: one worklist update per group
CHANGE_POLL_MS = 1000  # how often the change log is read: another workstation's case shows within about a second


class TriageController(QObject):
    sig_models_loading = Signal(str)  # what is being loaded
    sig_models_loaded = Signal(object)  # the Classifier
    sig_paths_waiting = Signal(int)  # items held until the models are loaded
    sig_batch_started = Signal(int)  # dropped items (files and folders)
    sig_batch_progress = Signal(int, int, object)  # done, total, seconds left (or None)
    sig_item_failed = Signal(str, str)  # path, why it could not be read
    sig_records_saved = Signal(list)  # CaseRecords of the running batch, read back from the database
    sig_batch_done = Signal(str, list, int)  # outcome, the batch's records, images already in the history
    sig_image_decoded = Signal(int, object, object)  # case id, original (or None), 224 x 224 model input
    sig_heatmaps_ready = Signal(int, dict)  # case id, model name -> heatmap of the current model versions
    sig_job_failed = Signal(str, str)  # job name, message
    sig_worklist_rescaled = Signal(int)  # cases now shown on the flag line in use (one risk scale)
    sig_case_conflict = Signal(int, str)  # case id, why a clinician's change was not saved (changed elsewhere)
    sig_reread_done = Signal(int)  # saved cases read again with the flag line in use
    sig_cases_changed = Signal(list)  # ids of cases another workstation (or process) added, changed or deleted

    def __init__(self, db_path: Path, classifier_factory: Callable[[Callable[[str], None]], Classifier],
                 parent=None, storage=None):
        """``db_path``: this computer's database file, in the data folder; ``storage``: the database to use when
        it is another (a clinic's PostgreSQL URL, with its image store: core.storage.location.Storage)."""
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.database = storage.target if storage is not None else self.db_path
        self.image_store = storage.image_store if storage is not None else None
        self.db = CaseDatabase(self.database)
        self.classifier: Classifier | None = None
        self.classifier_factory = classifier_factory
        self.runner = JobRunner(self)
        self.runner.sig_job_failed.connect(lambda name, message, _tb: self.sig_job_failed.emit(name, message))
        self.closed = False  # job signals queued before the window closed must not touch the database
        self._batch_job = None
        self._pending_paths: list[str] = []
        self._incoming: list[int] = []  # saved case ids not yet sent to the window
        self._batch_records: list = []  # the running batch's saved records
        self._already_known = 0  # images of the running batch that were already in the history
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_INTERVAL_MS)
        self._flush_timer.timeout.connect(self._flush_incoming)
        self._last_change = self.db.last_change()  # the change log other workstations write (core.database)
        self._seen_changes: set[int] = set()
        self._change_timer = QTimer(self)
        self._change_timer.setInterval(CHANGE_POLL_MS)
        self._change_timer.timeout.connect(self._poll_changes)
        self._change_timer.start()

    # -- models ---------------------------------------------------------------------------------
    def model_infos(self) -> list[ModelInfo]:
        return self.classifier.model_infos() if self.classifier is not None else []

    def current_versions(self) -> dict[str, str]:
        return {i.name: i.version for i in self.model_infos() if i.available}

    @property
    def flag_rule(self) -> EnsembleRule | None:
        """The combined rule new cases are read with (the clinic's own flag line when one is in use)."""
        return self.classifier.ensemble if self.classifier is not None else None

    def load_models(self) -> None:
        self.sig_models_loading.emit("")
        job = load_models_job(self.classifier_factory)
        job.signals.sig_progress.connect(self.sig_models_loading.emit)
        job.signals.sig_finished.connect(self._on_models_loaded)
        self.runner.submit(job)

    def _on_models_loaded(self, classifier: Classifier) -> None:
        if self.closed:
            return
        self.classifier = classifier
        self.sig_models_loaded.emit(classifier)
        self.sync_shown_line()
        if self._pending_paths:
            paths, self._pending_paths = self._pending_paths, []
            self.triage(paths)

    def use_site_rule(self, rule: EnsembleRule | None) -> str:
        """Read new cases with the clinic's flag line ``rule`` (None: the shipped one again); says what happened.
        Cases already saved keep the rule they were read with until they are re-read."""
        if self.classifier is None:
            return "no models"
        if rule is None:
            self.classifier.ensemble = self.classifier.base_ensemble
            self.db.audit("shipped flag line used for new cases")
            self.sync_shown_line()
            return "New cases are read with the shipped flag line."
        if rule.applies_to(self.current_versions()):
            self.classifier.ensemble = rule
            self.db.audit("clinic's flag line adopted for new cases", str(rule.site_version))
            self.sync_shown_line()  # the worklist follows, off the GUI thread
            return f"New cases are read with the clinic's flag line {version_words(rule.site_version)}."
        return (f"The clinic's flag line {version_words(rule.site_version)} was made for other model versions; "
                "the current flag line stays.")

    def run_on_database(self, name: str, work: Callable, on_done: Callable | None = None,
                        connect: Callable[[Job], None] | None = None) -> Job:
        """``work(db, should_stop, on_progress)`` off the GUI thread, on its own connection to the case database (a
        light job: no TensorFlow); ``on_done(result)`` back on the GUI thread unless the window closed meanwhile;
        ``connect(job)`` wires the job's other signals before it starts (a signal sent before a slot is connected
        is lost). Failures reach ``sig_job_failed``. What the job writes is recorded under the clinician using
        the app when it was asked for, even if another takes over before it runs. The other controllers run
        their database work through this."""
        database, who = self.database, current_clinician()

        def body(should_stop, on_progress):
            with acting_clinician(who), CaseDatabase(database) as db:
                return work(db, should_stop, on_progress)

        job = Job(name, body)
        if on_done is not None:
            job.signals.sig_finished.connect(lambda result: None if self.closed else on_done(result))
        if connect is not None:
            connect(job)
        return self.runner.submit(job, heavy=False)

    def reread_cases(self):
        """Every saved case read again with the current flag line, off the GUI thread (``sig_reread_done`` with
        the number re-read); the job, or None when there is no combined rule."""
        rule = self.flag_rule
        if not rule:
            return None
        return self.run_on_database("Reading the saved cases again", lambda db, *_: db.reread(rule),
                                    self.sig_reread_done.emit)

    # -- batches --------------------------------------------------------------------------------
    def triage(self, paths: list[str]) -> str:
        """Start classifying ``paths``: "started", "waiting" (models still loading) or "no models"."""
        if self.classifier is None:
            self._pending_paths.extend(paths)
            self.sig_paths_waiting.emit(len(self._pending_paths))
            return "waiting"
        if not any(i.available for i in self.classifier.model_infos()):
            return "no models"
        job = triage_job(paths, self.classifier, self.database, self.image_store)
        job.signals.sig_progress.connect(self._on_triage_progress)
        job.signals.sig_finished.connect(lambda _r: self._on_batch_done("finished"))
        job.signals.sig_cancelled.connect(lambda: self._on_batch_done("cancelled"))
        job.signals.sig_failed.connect(lambda *_: self._on_batch_done("failed"))
        self._batch_job = job
        self.sig_batch_started.emit(len(paths))
        self.runner.submit(job)
        return "started"

    @property
    def batch_records(self) -> list:
        """The running batch's records saved so far (as stored)."""
        return list(self._batch_records)

    def cancel_batch(self) -> None:
        if self._batch_job is not None:
            self._batch_job.cancel()

    def _on_triage_progress(self, item) -> None:
        if self.closed:
            return
        self.sig_batch_progress.emit(item.done, item.total, item.eta_s)
        if item.error:
            self.sig_item_failed.emit(str(item.error[0]), str(item.error[1]))
            return
        self._already_known += item.already_known
        self._incoming.append(item.record.id)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _flush_incoming(self) -> None:
        if self.closed:
            return
        ids, self._incoming = self._incoming, []
        records = [self.shown(r) for r in (self.db.get(case_id) for case_id in ids) if r is not None]
        self._batch_records.extend(records)
        if ids:
            self.sig_records_saved.emit(records)

    def _on_batch_done(self, outcome: str) -> None:
        if self.closed:
            return
        self._flush_timer.stop()
        self._flush_incoming()
        records, known = self._batch_records, self._already_known
        self._batch_records, self._already_known, self._batch_job = [], 0, None
        self.sig_batch_done.emit(outcome, records, known)

    # -- one case -------------------------------------------------------------------------------
    def decode_image(self, case_id: int) -> None:
        """The case's original and model input, decoded off the GUI thread (``sig_image_decoded``)."""
        record = self.db.get(case_id)
        if record is None:
            return
        job = decode_case_image_job(case_id, record.path)
        job.signals.sig_finished.connect(lambda result: None if self.closed else self.sig_image_decoded.emit(*result))
        self.runner.submit(job, heavy=False)

    def cached_heatmaps(self, case_id: int) -> dict | None:
        """The saved heatmaps of the current model versions, or None when any is missing or older."""
        current = self.current_versions()
        cached = self.db.get_heatmaps(case_id)
        if current and all(cached.get(n, ("",))[0] == v for n, v in current.items()):
            return {n: heatmap_from_png(cached[n][1]) for n in current}
        return None

    def request_heatmaps(self, case_id: int) -> None:
        """``sig_heatmaps_ready`` at once from the cache, or after computing them off the GUI thread."""
        maps = self.cached_heatmaps(case_id)
        if maps is not None:
            self.sig_heatmaps_ready.emit(case_id, maps)
            return
        record = self.db.get(case_id)
        if self.classifier is None or not self.current_versions() or record is None or not Path(record.path).is_file():
            return
        job = heatmap_job(case_id, record.path, self.classifier, self.database)
        job.signals.sig_finished.connect(self._on_heatmaps_computed)
        self.runner.submit(job)

    def _on_heatmaps_computed(self, case_id: int) -> None:
        if not self.closed:
            maps = self.cached_heatmaps(case_id)
            if maps is not None:
                self.sig_heatmaps_ready.emit(case_id, maps)

    def update_review(self, case_id: int, change: dict):
        """Save a clinician's change (reviewed, note, confirmed diagnosis, assess anyway); the saved record, as
        shown (``shown``)."""
        change = dict(change)
        expected = change.pop("expected_version", None) or None
        try:
            if "confirmed" in change:
                label, source = change.pop("confirmed")
                self.db.set_confirmed(case_id, label, source, expected_version=expected)
                expected = None  # the confirmed diagnosis was this change's own
            return self.shown(self.db.update_review(case_id, **change, expected_version=expected))
        except StaleCaseError as exc:  # changed on another workstation meanwhile: nothing overwritten
            self.sig_case_conflict.emit(case_id, str(exc))
            return self.shown(self.db.get(case_id))

    def _poll_changes(self) -> None:
        """Cases changed since the last look (one indexed query): the window shows them."""
        if self.closed:
            return
        try:
            self._last_change, changes = self.db.changes_since(self._last_change, self._seen_changes)
        except (DatabaseError, SQLAlchemyError):  # the server unreachable for now: asked again later, less often
            self._change_timer.setInterval(min(30_000, self._change_timer.interval() * 2))
            return
        self._change_timer.setInterval(CHANGE_POLL_MS)
        if len(self._seen_changes) > 20_000:
            self._seen_changes = {i for i in self._seen_changes if i > self._last_change - CHANGE_LOOKBACK}
        if changes:
            self.sig_cases_changed.emit(sorted({case_id for case_id, _action in changes}))

    def sync_shown_line(self) -> None:
        """The worklist shows every case on the flag line in use: when the database shows another, the cases'
        stored answers are shown on this one off the GUI thread (``sig_worklist_rescaled`` when done)."""
        rule = self.flag_rule
        if rule is None or self.db.shown_line_current(rule):
            return
        job = shown_line_job(rule, self.database)
        job.signals.sig_finished.connect(lambda n: None if self.closed else self.sig_worklist_rescaled.emit(n))
        self.runner.submit(job, heavy=False)

    # -- the worklist, asked of the database a page at a time (ui.worklist.WorklistModel's source) --
    def worklist_page(self, query, offset: int, limit: int) -> list:
        return self.db.worklist_page(query, offset, limit)

    def worklist_thumbnails(self, case_ids) -> dict:
        return self.db.thumbnails(case_ids)

    def worklist_position(self, query, case_id: int) -> int:
        return self.db.worklist_position(query, case_id)

    def confirmed_records(self) -> list:
        """The cases with a confirmed diagnosis, as read; from any thread (its own connection)."""
        with CaseDatabase(self.database) as db:
            return db.confirmed_records()

    def worklist_summary(self, query) -> dict:
        return self.db.worklist_summary(query)

    # -- one risk scale (records.shown_with) ----------------------------------------------------
    def shown(self, record):
        """A saved case as the window shows it: with the flag line in use when it fits the models that read it."""
        return shown_with(record, self.flag_rule) if record is not None else None

    def worklist(self, filter_name: str) -> list:
        """The worklist's cases, filtered and ordered as shown with the flag line in use."""
        return self.db.list(filter_name, self.flag_rule)

    def close(self, wait_ms: int = 15000) -> None:
        self._change_timer.stop()
        self.closed = True
        self.runner.cancel_all()
        self.runner.wait(wait_ms)
        self.db.close()
