"""Job bodies the window starts. Each is a plain function over the core, wrapped in a Job."""

from __future__ import annotations

from pathlib import Path

from melanoma_desktop.core.database import CaseDatabase
from melanoma_desktop.core.heatmaps import heatmap_png
from melanoma_desktop.core.patients import resolve_identities
from melanoma_desktop.core.triage import TriageProgress, expand_paths, model_input, original_image, triage_paths
from melanoma_desktop.ui.worker import Job
from trainer.api import ImageDecodeError


def load_models_job(classifier_factory) -> Job:
    def body(should_stop, on_progress):
        return classifier_factory(on_progress)

    return Job("Loading models", body)


def triage_job(paths: list[str], classifier, db_path: Path, image_store: Path | None = None) -> Job:
    """Classify ``paths`` (files and folders); every result is saved before it is reported. With a clinic image
    store (a shared database), each image is copied there first and the case keeps the copy's path."""

    def body(should_stop, on_progress):
        files, problems = expand_paths(paths)
        # who each image belongs to: a DICOM header, or a PATIENT/LESION/ folder under a dropped folder
        identities = {str(f.resolve()): i for f, i in resolve_identities(
            files, roots=[Path(p) for p in paths if Path(p).is_dir()]).items()}
        total = len(files) + len(problems)
        for i, problem in enumerate(problems, start=1):
            on_progress(TriageProgress(i, total, None, error=problem))
        offset = len(problems)
        with CaseDatabase(db_path) as db:  # this thread's own connection

            originals: dict[str, str] = {}  # sha256 -> the dropped file's path (the case may keep the store's copy)

            def report(item: TriageProgress):
                where = originals.get(item.record.sha256, item.record.path) if item.record is not None else None
                if where in identities and not item.already_known:
                    db.assign(item.record.id, identities[where])
                on_progress(TriageProgress(item.done + offset, total, item.eta_s, item.record, item.error,
                                           item.already_known))

            def save(record):
                if image_store is not None:
                    from melanoma_desktop.core.storage.image_store import store_image

                    originals[record.sha256] = record.path
                    record.path = store_image(image_store, record.path, record.sha256)
                return db.save(record)

            for _ in triage_paths(files, classifier, save=save, should_stop=should_stop, on_progress=report,
                                  known=db.find_by_sha):
                pass
        return total

    return Job("Classifying images", body)


def heatmap_job(case_id: int, image_path: str, classifier, db_path: Path) -> Job:
    """Grad-CAM of one case for every model, saved to the database with the model versions."""

    def body(should_stop, on_progress):
        rgb = model_input(image_path)
        maps = classifier.heatmaps(rgb)
        with CaseDatabase(db_path) as db:
            db.save_heatmaps(case_id, {name: (version, heatmap_png(h)) for name, (version, h) in maps.items()})
        return case_id

    return Job("Computing heatmaps", body)


def shown_line_job(rule, database) -> Job:
    """Every saved case shown on the flag line ``rule`` in the worklist (core.database_worklist: their stored
    answers, a chunk at a time); returns the number of cases updated."""

    def body(should_stop, on_progress):
        with CaseDatabase(database) as db:
            return db.set_shown_line(rule, should_stop=should_stop)

    return Job("Showing the cases on the flag line in use", body)


DISPLAY_MAX_SIDE = 4096  # the viewer's copy of the original: full resolution up to this many pixels a side


def decode_case_image_job(case_id: int, image_path: str) -> Job:
    """The case's original image for the viewer and its 224 x 224 model input for the heatmap overlays,
    decoded off the GUI thread. (case_id, None, None) when the file is gone or unreadable."""

    def body(should_stop, on_progress):
        try:
            return case_id, original_image(image_path, DISPLAY_MAX_SIDE), model_input(image_path)
        except (OSError, ImageDecodeError):
            return case_id, None, None

    return Job("Opening the image", body)
