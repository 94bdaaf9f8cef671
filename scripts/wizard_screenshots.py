"""Drive the retraining wizard on real data under a display and save a screenshot of each page and
of the metrics panel; print the wizard's training wall time (to compare with the CLI).

    xvfb-run -s "-screen 0 1400x1000x24" python scripts/wizard_screenshots.py \\
        --data ../shared/data/ham10000 --backbones ../shared/backbones --out docs --epochs 20
    (``--recipe best --setup-only``: the setup page with the best preset, without training;
    ``--extra-data DIR``: the data page with an extra training folder; ``--active resources/models``: the
    results page compares the new models with those)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--backbones", required=True)
    parser.add_argument("--out", default="docs")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--alpha", default="0.35")
    parser.add_argument("--models", default="cnn,vgg16,mobilenetv2")
    parser.add_argument("--recipe", default="paper", help="the setup page's recipe (a preset name)")
    parser.add_argument("--setup-only", action="store_true", help="stop after the setup page's screenshot")
    parser.add_argument("--size", default="1100x800", help="wizard window size WxH")
    parser.add_argument("--suffix", default="", help="added to each file name, e.g. _1280")
    parser.add_argument("--extra-data", help="an extra training folder for the data page (training split only)")
    parser.add_argument("--extra-data-split", help="with --extra-data: only its rows with this source_split")
    parser.add_argument("--active", help="a folder of bundles (e.g. resources/models) to stand as the active models, "
                                         "so that the results page compares with them")
    args = parser.parse_args()

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QWizard

    from melanoma_desktop.core.registry import ModelRegistry
    from melanoma_desktop.ui.metrics_panel import MetricsPanel
    from melanoma_desktop.ui.wizard import RetrainWizard
    from melanoma_desktop.ui.worker import JobRunner

    app = QApplication(sys.argv[:1])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp())
    active = {d.name: str(d) for d in sorted(Path(args.active).iterdir()) if (d / "card.json").is_file()} \
        if args.active else {}
    wizard = RetrainWizard(JobRunner(), ModelRegistry(home / "models"), home / "runs", active,
                           backbones=args.backbones)
    wizard.resize(*(int(v) for v in args.size.split("x")))
    wizard.show()
    state = {"started": None, "mid_shot": False}

    def shot(name):
        app.processEvents()
        name = name.replace(".png", f"{args.suffix}.png")
        wizard.grab().save(str(out / name))
        print(f"saved {out / name}", flush=True)

    def after_inspect():
        data_page = wizard.data_page
        if args.extra_data and data_page.extra_report is None:
            data_page.extra_edit.setText(args.extra_data)
            data_page.inspect_extra()
            wait_for(lambda: data_page.extra_report is not None, after_inspect)
            return
        if args.extra_data_split:
            data_page.extra_split.setCurrentIndex(data_page.extra_split.findData(args.extra_data_split))
        shot("wizard_1_data.png")
        wizard.next()
        page = wizard.setup_page
        page.recipe.setCurrentIndex(page.recipe.findData(args.recipe))
        page.alpha.setCurrentText(args.alpha)
        for name, box in page.model_boxes.items():
            box.setChecked(name in args.models.split(","))
        if args.recipe == "paper":
            page.epochs.setValue(args.epochs)
        page.backbones.setText(args.backbones)
        page.check()
        wait_for(page.isComplete, after_check)

    def after_check():
        shot("wizard_2_setup.png")
        if args.setup_only:
            app.quit()
            return
        state["started"] = time.perf_counter()
        wizard.train_page.sig_training_finished.connect(after_training)
        wizard.train_page.log.textChanged.connect(maybe_mid_shot)
        wizard.next()

    def maybe_mid_shot():
        if not state["mid_shot"] and len(wizard.train_page.histories.get("cnn", {}).get("loss", [])) >= 2:
            state["mid_shot"] = True
            shot("wizard_3_training.png")

    def after_training(outcome):
        print(f"wizard training wall time: {time.perf_counter() - state['started']:.1f} s ({outcome})", flush=True)
        shot("wizard_3_train_done.png")
        wizard.next()
        for box in wizard.results_page.promote_boxes.values():
            box.setChecked(True)
        status = wizard.results_page.status
        wait_for(lambda: "evaluating" not in status.text().lower(), after_results)

    def after_results():
        shot("wizard_4_results.png")
        result = wizard.train_page.result
        panel = MetricsPanel([str(p) for p in result.bundles.values()])
        panel.resize(1400, 1000)
        panel.show()
        app.processEvents()
        panel.grab().save(str(out / "metrics_panel.png"))
        print(f"saved {out / 'metrics_panel.png'}; run in {result.out}", flush=True)
        wizard.button(QWizard.FinishButton).click()
        app.quit()

    def wait_for(predicate, then, every_ms=500):
        def poll():
            if predicate():
                then()
            else:
                QTimer.singleShot(every_ms, poll)
        QTimer.singleShot(every_ms, poll)

    wizard.choice_page.train_button.click()  # the first page offers adapting to the clinic; this script trains
    wizard.data_page.path_edit.setText(args.data)
    wizard.data_page.inspect()
    wait_for(wizard.data_page.isComplete, after_inspect)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
