"""Screenshot of the main window with a few real cases (run under a display, e.g. xvfb-run).

    xvfb-run -s "-screen 0 1400x900x24" python scripts/screenshot_main_window.py \\
        --models runs/paper --backbones ../shared/backbones --data ../shared/data/ham10000 --out docs/main_window.png
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def pick_images(data: Path, n_each: int, split_csv: str | None = None) -> list[str]:
    """Images of each class; with ``split_csv`` (a run's split.csv) only from its test part, which the
    models never saw."""
    if split_csv:
        rows = [r for r in csv.DictReader(open(split_csv)) if r["split"] == "test"]
        return [path for label in ("malignant", "benign")
                for path in [r["path"] for r in rows if r["label"] == label][:n_each]]
    rows = list(csv.DictReader(open(data / "labels.csv")))
    chosen = []
    for label in ("malignant", "benign"):
        chosen += [str(data / "images" / r["image"]) for r in rows if r["label"] == label][7 : 7 + n_each]
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", required=True)
    parser.add_argument("--backbones", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--n-each", type=int, default=4)
    parser.add_argument("--split-csv", help="a run's split.csv: take the images from its test part")
    args = parser.parse_args()

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from melanoma_desktop.core.classifier import load_models
    from melanoma_desktop.ui.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    window = MainWindow(Path(tempfile.mkdtemp()) / "cases.sqlite3",
                        lambda on_progress: load_models(args.models, args.backbones, on_progress=on_progress))
    window.resize(1360, 860)
    window.show()

    def on_ready(_infos):
        window.triage_paths(pick_images(Path(args.data), args.n_each, args.split_csv))

    def on_done(_outcome):
        records = window.worklist_model.records
        target = next((r for r in records if r.consensus.disagreement), records[0] if records else None)
        window.sig_heatmaps_shown.connect(lambda _id: QTimer.singleShot(300, shoot))
        if target is not None:
            window.worklist.select_case(target.id)

    def shoot():
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(args.out)
        print(f"saved {args.out}")
        app.quit()

    window.sig_models_ready.connect(on_ready)
    window.sig_batch_finished.connect(on_done)
    window.start_loading_models()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
