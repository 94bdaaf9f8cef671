"""Startup and throughput of the desktop app on this machine (not a test: timings swing with load).

Reports: launch to window visible, launch to models ready (fresh processes, median of --launches),
one image through all installed models after warm-up (median of 20), images per second for a
batch of 100 through the same triage code the window runs.

    python scripts/benchmark_app.py --models runs/paper --backbones ../shared/backbones \\
        --images ../shared/data/ham10000/images
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def launch_times(models: str, backbones: str, launches: int) -> tuple[list[float], list[float]]:
    visible, ready = [], []
    for _ in range(launches):
        env = dict(os.environ, MELANOMA_HOME=tempfile.mkdtemp(), QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
        env["MELANOMA_STARTUP_T0"] = repr(time.time())
        out = subprocess.run([sys.executable, "-m", "melanoma_desktop", "--models", models, "--backbones", backbones],
                             env=env, capture_output=True, text=True, timeout=300).stdout
        for line in out.splitlines():
            if line.startswith("timing window_visible_s"):
                visible.append(float(line.split()[-1]))
            elif line.startswith("timing models_ready_s"):
                ready.append(float(line.split()[-1]))
    return visible, ready


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", required=True)
    parser.add_argument("--backbones", required=True)
    parser.add_argument("--images", required=True, help="folder of images (at least 100)")
    parser.add_argument("--launches", type=int, default=3)
    args = parser.parse_args()

    visible, ready = launch_times(args.models, args.backbones, args.launches)
    print(f"launch to window visible: median {statistics.median(visible):.2f} s  ({', '.join(f'{v:.2f}' for v in visible)})")
    print(f"launch to models ready:   median {statistics.median(ready):.2f} s  ({', '.join(f'{v:.2f}' for v in ready)})")

    from melanoma_desktop.core.classifier import load_models
    from melanoma_desktop.core.triage import triage_paths
    from trainer.data.imageio import load_rgb

    models = load_models(args.models, args.backbones)
    files = sorted(Path(args.images).glob("*.jpg"))[:120]
    one = load_rgb(files[0])[None]
    models.predict(one)  # warm-up
    singles = []
    for f in files[1:21]:
        image = load_rgb(f)[None]
        started = time.perf_counter()
        models.predict(image)
        singles.append(time.perf_counter() - started)
    names = ", ".join(i.name for i in models.model_infos() if i.available)
    print(f"one image through {names} after warm-up: median {statistics.median(singles) * 1000:.0f} ms")
    started = time.perf_counter()
    done = sum(1 for item in triage_paths(files[20:120], models) if item.record)
    elapsed = time.perf_counter() - started
    print(f"batch of {done} images (decode + hash + thumbnail + all models): {done / elapsed:.1f} images/s")


if __name__ == "__main__":
    main()
