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
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from melanoma_desktop.ui.metrics_panel import MetricsPanel
    from trainer.cards import find_bundles

    app = QApplication(sys.argv[:1])
    panel = MetricsPanel([str(p) for p in find_bundles(args.models)])
    panel.resize(1400, 1000)
    panel.show()
    app.processEvents()
    panel.grab().save(args.out)
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
