"""Screenshot of Models > Local performance on real confirmed cases (run under a display, e.g. xvfb-run).

    xvfb-run -s "-screen 0 1920x1080x24" python scripts/screenshot_local_performance.py \\
        --data ../shared/data/isic2017 --split val --out docs/local_performance_1280.png

Reads the images of ``--data`` (only its ``--split`` rows of labels.csv) into a new case database with the
shipped models, imports their labels as confirmed diagnoses, opens the dialog, computes a clinic flag
line (not adopted) and saves the picture.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", help="only the rows of labels.csv with this source_split")
    parser.add_argument("--out", required=True)
    parser.add_argument("--size", default="1280x800")
    parser.add_argument("--versions-out", help="also adopt the flag line and save Models > Versions here")
    args = parser.parse_args()

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from melanoma_desktop.core.classifier import load_models
    from melanoma_desktop.core.registry import ModelRegistry
    from melanoma_desktop.ui.main_window import MainWindow

    data = Path(args.data)
    rows = [r for r in csv.DictReader(open(data / "labels.csv")) if not args.split or r.get("source_split") == args.split]
    home = Path(tempfile.mkdtemp())
    labels = home / "confirmed.csv"
    with open(labels, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label", "source"])
        writer.writerows((r["image"], r["label"], "histopathology") for r in rows)
    app = QApplication(sys.argv[:1])
    window = MainWindow(home / "cases.sqlite3", lambda on_progress: load_models(on_progress=on_progress),
                        registry=ModelRegistry(home / "models"))
    window.resize(1280, 800)
    window.show()

    def on_ready(_infos):
        window.triage_paths([str(data / "images" / r["image"]) for r in rows])

    def on_done(_outcome):
        imported = QEventLoop()  # the import is a job: its outcome, then the dialog
        window.clinic.sig_import_done.connect(lambda summary: (print(summary), imported.quit()))
        window.clinic.import_confirmed(str(labels))
        imported.exec()
        dialog = window.clinic.show_local_performance()
        dialog.resize(*(int(v) for v in args.size.split("x")))

        def versions():
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.question = lambda *a, **k: QMessageBox.No  # saved cases keep their line (no modal question)
            dialog.adopt_rule(confirm=False)
            shown = window.clinic.show_versions()
            shown.resize(*(int(v) for v in args.size.split("x")))
            app.processEvents()
            shown.grab().save(args.versions_out)
            print(f"saved {args.versions_out}")

        def shoot(result):
            dialog.grab().save(args.out)
            print(f"saved {args.out}: {result.verdict()}")
            if args.versions_out:
                versions()
            app.quit()

        def computed(result):
            dialog.sig_rule_fitted.connect(lambda _rule: QTimer.singleShot(500, lambda: shoot(result)))
            dialog.fit_rule()  # off the GUI thread: the picture once the line is shown

        dialog.sig_computed.connect(computed)

    window.sig_models_ready.connect(on_ready)
    window.sig_batch_finished.connect(on_done)
    QTimer.singleShot(100, window.start_loading_models)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
