"""Screenshot of Models > Metrics for a folder of bundles (run under a display, e.g. xvfb-run).

    xvfb-run -s "-screen 0 1400x1000x24" python scripts/screenshot_metrics.py --models resources/models --out docs/metrics_panel.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--size", default="1400x1000", help="window size WxH")
    parser.add_argument("--tab", type=int, default=0, help="0: test results, 1: engineering details")
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from melanoma_desktop.ui.metrics_panel import MetricsPanel
    from trainer.bundle.cards import find_bundles

    app = QApplication(sys.argv[:1])
    from melanoma_desktop.core.classifier import MODEL_ORDER

    order = {name: i for i, name in enumerate(MODEL_ORDER)}
    panel = MetricsPanel([str(p) for p in sorted(find_bundles(args.models), key=lambda p: order.get(p.name, 99))])
    panel.resize(*(int(v) for v in args.size.split("x")))
    for column in panel.columns:
        column.tabs.setCurrentIndex(args.tab)
    panel.show()
    app.processEvents()
    panel.grab().save(args.out)
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
