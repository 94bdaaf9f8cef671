"""Screenshots of Models > Adapt to this clinic on real confirmed cases, and of Models > Versions with the adapted
set in use (run under a display, e.g. Xvfb with a window manager).

    python scripts/screenshot_adapt.py --data ../shared/data/derm7pt --half A --seed 0 \\
        --out docs/adapt_dialog_1280.png --versions-out docs/versions_adapted_1280.png

Reads half ``--half`` of ``--data`` (experiments/simulated_clinic.halves, lesion-grouped) into a new case database
with the shipped models (embeddings kept as the app keeps them), files each image under its lesion, imports the
labels as confirmed diagnoses, opens the dialog, adapts and measures, saves the picture; then adopts the adapted
models and saves Models > Versions.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))  # simulated_clinic.halves


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--half", choices=("A", "B"), default="A")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--versions-out")
    parser.add_argument("--size", default="1280x800")
    args = parser.parse_args()

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication
    from simulated_clinic import halves

    from melanoma_desktop.core.classifier import load_models
    from melanoma_desktop.core.registry import ModelRegistry
    from melanoma_desktop.ui.main_window import MainWindow

    data = Path(args.data)
    rows = list(csv.DictReader(open(data / "labels.csv")))
    rows = halves(rows, args.seed)[0 if args.half == "A" else 1]
    home = Path(tempfile.mkdtemp())
    labels = home / "confirmed.csv"
    with open(labels, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label", "source"])
        writer.writerows((r["image"], r["label"], "histopathology") for r in rows)
    registry = ModelRegistry(home / "models")
    app = QApplication(sys.argv[:1])
    window = MainWindow(home / "cases.sqlite3", lambda on_progress: load_models(
        on_progress=on_progress, site_models=registry.active_site_models()), registry=registry)
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.show()
    state = {"batch": False}

    def on_ready(_infos):
        if state["batch"]:
            return
        state["batch"] = True
        window.triage_paths([str(data / "images" / r["image"]) for r in rows])

    def on_done(_outcome):
        from melanoma_desktop.core.patients import Identity

        lesion_of = {r["image"]: r.get("lesion_id") or r["image"] for r in rows}
        for record in window.db.list():  # one lesion's images stay together in the cross-validation
            lesion = lesion_of.get(record.file_name, record.file_name)
            window.db.assign(record.id, Identity(patient_id=lesion, lesion_label="lesion 1"))
        imported = QEventLoop()  # the import is a job: its outcome, then the dialog
        window.clinic.sig_import_done.connect(lambda summary: (print(summary), imported.quit()))
        window.clinic.import_confirmed(str(labels))
        imported.exec()
        dialog = window.clinic.show_adapt_dialog()
        dialog.resize(min(width, 940), min(height - 40, 720))

        def versions():
            shown = window.clinic.show_versions()
            shown.resize(min(width, 900), min(height - 40, 700))
            app.processEvents()
            shown.grab().save(args.versions_out)
            print(f"saved {args.versions_out}")
            app.quit()

        def evidence(outcome):
            def shoot():
                dialog.grab().save(args.out)
                print(f"saved {args.out}: offered {outcome.offered}")
                if args.versions_out and outcome.offered:
                    dialog.adopt(confirm=False)
                    QTimer.singleShot(1500, versions)
                else:
                    app.quit()
            QTimer.singleShot(500, shoot)

        import time

        started = time.perf_counter()
        window.clinic.adaptation.sig_evidence.connect(
            lambda outcome: print(f"adapted and measured on {outcome.site_models.cases} in "
                                  f"{time.perf_counter() - started:.0f} s (embeddings kept when the cases were read)"))
        window.clinic.adaptation.sig_evidence.connect(evidence)
        window.clinic.adaptation.sig_failed.connect(lambda message: (print("failed:", message), app.quit()))
        dialog.start()

    window.sig_models_ready.connect(on_ready)
    window.sig_batch_finished.connect(on_done)
    QTimer.singleShot(100, window.start_loading_models)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
