"""Screenshots of one clinic database shared by workstations, at 1280 x 800, the whole X screen with the window
manager's title bars (run under Xvfb with a window manager):

    Xvfb :99 -screen 0 1280x800x24 & DISPLAY=:99 openbox &
    DISPLAY=:99 python scripts/screenshot_clinic_database.py --out docs

Starts a local PostgreSQL server (the ``pgserver`` package, as the tests do), fills it with 2,000 synthetic cases
(scripts/benchmark_history.py), opens the window on it with the shipped models, and saves
database_settings_1280.png (Settings > Database after Test connection) and conflict_1280.png (a note refused
because another workstation changed the case)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "tests")]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--cases", type=int, default=2000)
    args = parser.parse_args()
    out = Path(args.out)

    import json

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from melanoma_desktop.core.classifier import default_models_dir, load_models
    from melanoma_desktop.core.database import CaseDatabase
    from melanoma_desktop.core.storage.location import DatabaseSettings, Storage, save_settings
    from melanoma_desktop.ui.main_window import MainWindow
    from trainer.bundle.ensemble_rule import EnsembleRule

    import benchmark_history
    from benchmark_history import populate, thumbnails
    from pg_server import new_database

    shipped = EnsembleRule.from_dict(json.loads((default_models_dir() / "ensemble.json").read_text()))
    benchmark_history.MEMBERS, benchmark_history.ENTRY = dict(shipped.members), shipped.record_entry()  # no †
    work = Path(tempfile.mkdtemp())
    url = new_database(work)
    with CaseDatabase(url) as db:
        populate(db, args.cases, thumbnails())
    store = work / "clinic-images"
    store.mkdir()
    home = work / "home"
    home.mkdir()
    save_settings(home, DatabaseSettings(url=url, ssl_mode="prefer", image_store=str(store)))
    app = QApplication(sys.argv[:1])
    window = MainWindow(home / "cases.sqlite3", lambda on_progress: load_models(
        default_models_dir(), None, on_progress=on_progress), storage=Storage(url, store))
    window.showMaximized()
    steps = []

    def screen(name):
        app.processEvents()
        app.primaryScreen().grabWindow(0).save(str(out / name))
        print("saved", out / name, flush=True)

    def next_step(ms=800):
        QTimer.singleShot(ms, lambda: steps.pop(0)() if steps else app.quit())

    def settings_shot():
        dialog = window.clinicians.edit_database()
        dialog.controller.sig_tested.connect(lambda *_: QTimer.singleShot(300, lambda: (
            screen("database_settings_1280.png"), dialog.close(), next_step())))
        dialog.test()

    def conflict_shot():
        window.worklist.selectRow(2)
        case_id = window.worklist.current_case_id()
        with CaseDatabase(url) as other:
            other.update_review(case_id, note="Seen in room 2: compare with last year's image first.")
        window.case_view.note_edit.setPlainText("Looks stable to me; follow-up in 6 months.")

        def grab_and_close():
            screen("conflict_1280.png")
            box = app.activeModalWidget()
            if box is not None:
                box.close()
            next_step()

        QTimer.singleShot(900, grab_and_close)
        window.case_view._save_note()  # the warning is modal: the timer grabs the screen while it shows

    steps += [settings_shot, conflict_shot]
    window.sig_models_ready.connect(lambda _infos: next_step(1200))
    QTimer.singleShot(100, window.start_loading_models)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
