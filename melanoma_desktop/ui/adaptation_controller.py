"""The clinic's adapted models, for the window: adapting runs as a job (core.adaptation_job, off the GUI thread,
with progress and cancel); adopting, restoring, exporting and importing go through the registry, each audited.
Dialogs reach the registry and the case database only through this controller."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Signal

from melanoma_desktop.core.adaptation_job import adapt_to_clinic
from melanoma_desktop.core.database import CaseDatabase
from melanoma_desktop.core.site_models import SiteModelsRefused, read_site_model_file
from melanoma_desktop.core.wording import short_model_name
from melanoma_desktop.ui.worker import Job


class AdaptationController(QObject):
    sig_progress = Signal(str, object)  # what is being done, fraction done (None: not known)
    sig_evidence = Signal(object)  # core.adaptation_job.AdaptationOutcome: offered, not installed
    sig_failed = Signal(str)  # why nothing came of it (too few cases, ...), in words
    sig_cancelled = Signal()
    sig_site_models_changed = Signal(object)  # the set now used for new cases (None: the installed models)

    def __init__(self, db_path: Path, registry, runner, classifier: Callable[[], object], parent=None):
        super().__init__(parent)
        # the case database (a file's path, or a clinic database's URL: core.storage.location)
        self.db_path = db_path if "://" in str(db_path) else Path(db_path)
        self.registry, self.runner, self._classifier = registry, runner, classifier
        self.job: Job | None = None

    @property
    def running(self) -> bool:
        return self.job is not None

    def active(self):
        return self.registry.active_site_models()

    def sets(self) -> list:
        return self.registry.site_model_sets()

    def model_names(self) -> dict[str, str]:
        """Model name -> the short name the screens use ('VGG16')."""
        classifier = self._classifier()
        infos = classifier.model_infos() if classifier is not None else []
        return {info.name: short_model_name(info.display_name) for info in infos}

    def current_note(self) -> str:
        """Why the clinic's adapted models are not in use although chosen (a new release), or ""."""
        classifier = self._classifier()
        return classifier.site_models_note if classifier is not None else ""

    def start(self, target: float = 0.95) -> Job | None:
        classifier = self._classifier()
        if classifier is None or self.job is not None:
            self.sig_failed.emit("The models are still loading; try again in a moment." if classifier is None
                                 else "An adaptation is already running.")
            return None
        db_path = self.db_path

        def body(should_stop, on_progress):
            with CaseDatabase(db_path) as db:  # this thread's own connection
                try:
                    return adapt_to_clinic(db.list(), classifier, db, target, should_stop=should_stop,
                                           on_progress=on_progress)
                except SiteModelsRefused as exc:
                    return exc

        job = Job("Adapting the models to this clinic", body)
        job.signals.sig_progress.connect(lambda event: self.sig_progress.emit(event.text, event.fraction))
        job.signals.sig_finished.connect(self._on_finished)
        job.signals.sig_failed.connect(lambda message, _tb: self.sig_failed.emit(message))
        job.signals.sig_cancelled.connect(self.sig_cancelled)
        job.signals.sig_done.connect(self._on_done)
        self.job = job
        self.runner.submit(job)
        return job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _on_finished(self, outcome) -> None:
        if isinstance(outcome, Exception):
            self.sig_failed.emit(str(outcome))
        else:
            self.sig_evidence.emit(outcome)

    def _on_done(self) -> None:
        self.job = None

    def _audit(self, action: str, detail: str) -> None:
        with CaseDatabase(self.db_path) as db:
            db.audit(action, detail)

    def adopt(self, outcome) -> str:
        """Keep the adapted set and read new cases with it; saved cases keep the versions they were read with."""
        site = outcome.site_models
        self.registry.keep_site_models(site)
        self.registry.activate_site_models(site.version)
        self._audit("models adapted to the clinic adopted", f"{site.version} ({site.cases['melanomas']} melanomas, "
                    f"{site.cases['benign']} benign)")
        self.sig_site_models_changed.emit(site)
        return site.version

    def use(self, version: str | None) -> None:
        """Read new cases with a kept adapted set (None: the installed models as they are)."""
        self.registry.activate_site_models(version)
        self._audit("adapted models chosen for new cases" if version else "installed models chosen for new cases",
                    version or "")
        self.sig_site_models_changed.emit(self.registry.active_site_models())

    def export(self, version: str, path: str) -> None:
        shutil.copyfile(self.registry.site_models_file(version), path)

    def import_file(self, path: str):
        """Keep a set exported elsewhere (not made active: the clinician chooses it in the list)."""
        site = read_site_model_file(path)
        self.registry.keep_site_models(site)
        self._audit("adapted models imported", site.version)
        return site
