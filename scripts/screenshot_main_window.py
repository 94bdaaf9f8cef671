"""Screenshots of the main window as a clinician meets it (run under a display, e.g. xvfb-run).

    xvfb-run -s "-screen 0 1920x1080x24" python scripts/screenshot_main_window.py \\
        --data ../shared/data/isic2017 --size 1280x800 --out docs/main_window_1280.png

With ``--data``: a few of that folder's images (its validation part when labels.csv has one, which the
shipped models never saw), plus a photo of a typed letter, so the worklist shows flagged cases, the
models-disagree marker and a "cannot assess" row; the top case is shown with its heatmaps. Without
``--data``: the empty window right after start, "N of 3 models ready" (the fresh-install shot).
Models: the shipped ones unless ``--models``. The case database lives in a new temporary folder.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def pick_images(data: Path, n_each: int) -> list[str]:
    rows = list(csv.DictReader(open(data / "labels.csv")))
    if any(r.get("source_split") == "val" for r in rows):
        rows = [r for r in rows if r.get("source_split") == "val"]
    chosen = []
    for label in ("malignant", "benign"):
        chosen += [str(data / "images" / r["image"]) for r in rows if r["label"] == label][3 : 3 + n_each]
    return chosen


def document_photo(path: Path) -> Path:
    """A typed referral letter, photographed: what a clinic drops by mistake."""
    import numpy as np
    from PIL import Image

    page = np.full((600, 800, 3), 236, np.uint8)
    rng = np.random.default_rng(3)
    for y in range(60, 540, 26):
        x = 60
        while x < 700:
            width = int(rng.integers(20, 70))
            page[y : y + 10, x : x + width] = 40
            x += width + 12
    Image.fromarray(page).save(path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", help="bundles (default: the shipped ones)")
    parser.add_argument("--backbones")
    parser.add_argument("--data", help="a labels.csv data folder to take cases from (else: the empty window)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--size", default="1280x800", help="window size WxH")
    parser.add_argument("--n-each", type=int, default=5)
    parser.add_argument("--about", help="also save the About box here")
    parser.add_argument("--lesion-view", help="file the first three cases as visits of one lesion and save "
                                              "Case > Lesion over time here (instead of the main window)")
    parser.add_argument("--select", choices=["top", "disagree", "cannot"], default="top",
                        help="which case to show: the top risk, one where the models disagree, or one set aside")
    args = parser.parse_args()

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from melanoma_desktop.core.classifier import default_models_dir, load_models
    from melanoma_desktop.ui.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    home = Path(tempfile.mkdtemp())
    window = MainWindow(home / "cases.sqlite3", lambda on_progress: load_models(
        args.models or default_models_dir(), args.backbones, on_progress=on_progress))
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.show()

    def shoot():
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(args.out)
        print(f"saved {args.out} ({window.width()}x{window.height()}): {window.models_status.text()}")
        if args.about:
            from PySide6.QtCore import Qt
            from PySide6.QtWidgets import QMessageBox

            from melanoma_desktop.ui.dialogs import about_details, about_html

            box = QMessageBox(window)
            box.setWindowTitle("About Melanoma triage")
            box.setTextFormat(Qt.RichText)
            box.setText(about_html(window.model_infos(), window.classifier.ensemble, window.classifier.ensemble_note))
            box.setDetailedText(about_details(window.model_infos(), window.classifier.ensemble))
            box.show()
            app.processEvents()
            box.grab().save(args.about)
            print(f"saved {args.about}")
        app.quit()

    def on_ready(_infos):
        if not args.data:
            QTimer.singleShot(300, shoot)
            return
        paths = pick_images(Path(args.data), args.n_each) + [str(document_photo(home / "referral letter.jpg"))]
        window.triage_paths(paths)

    def lesion_shot():
        from melanoma_desktop.core.patients import Identity

        scored = sorted((r for r in window.db.list() if r.risk is not None), key=lambda r: r.risk)
        cases = [scored[0], scored[len(scored) // 2], scored[-1]]  # stand-ins for three visits of one lesion
        for case, date in zip(cases, ("2025-11-03", "2026-04-28", "2026-11-24")):
            window.db.assign(case.id, Identity("P-0001", "left scapula #2", "back", date))
        window.reload_worklist()
        window.worklist.select_case(cases[-1].id)
        view = window.cases.show_lesion_view()
        view.resize(width, height)
        app.processEvents()
        QTimer.singleShot(500, lambda: (view.grab().save(args.lesion_view), print(f"saved {args.lesion_view}"),
                                        app.quit()))

    def on_done(_outcome):
        if args.lesion_view:
            lesion_shot()
            return
        records = window.worklist_model.records
        choose = {"top": lambda r: r.assessable, "disagree": lambda r: r.disagreement,
                  "cannot": lambda r: not r.assessable}[args.select]
        target = next((r for r in records if choose(r)), records[0] if records else None)
        if target is None or not target.assessable:
            window.worklist.select_case(target.id) if target else None
            QTimer.singleShot(800, shoot)
            return
        window.sig_heatmaps_shown.connect(lambda _id: QTimer.singleShot(500, shoot))
        if window.worklist.current_case_id() == target.id and window.case_view.heatmaps:
            QTimer.singleShot(500, shoot)
        window.worklist.select_case(target.id)

    window.sig_models_ready.connect(on_ready)
    window.sig_batch_finished.connect(on_done)
    QTimer.singleShot(100, window.start_loading_models)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
