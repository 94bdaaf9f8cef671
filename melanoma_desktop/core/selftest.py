"""``--self-test``: load every installed model, classify the sample images, and compare the
probabilities with the values recorded when the package was built.

``samples/expected.json`` (written by ``record_expected``) lists each sample image with the
probability each model gave it at build time. Exit 0 when everything matches within the
tolerance; any failure is printed with its reason and exits non-zero.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from melanoma_desktop import DISCLAIMER
from trainer.imageio import load_rgb

TOLERANCE = 1e-3
EXPECTED_NAME = "expected.json"


def record_expected(models, samples_dir: Path) -> Path:
    """Classify every image in ``samples_dir`` and write ``expected.json`` beside them."""
    files = sorted(p for p in samples_dir.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    images = np.stack([load_rgb(p) for p in files])
    predictions = models.predict(images)
    data = {
        "models": {i.name: i.version for i in models.model_infos() if i.available},
        "images": {f.name: {p.name: p.p_malignant for p in preds} for f, preds in zip(files, predictions)},
    }
    path = samples_dir / EXPECTED_NAME
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def run_self_test(models, samples_dir: Path, out=print, tolerance: float = TOLERANCE) -> int:
    started = time.perf_counter()
    failures = []
    out("Melanoma triage self-test")
    out(f"  {DISCLAIMER}")
    for info in models.model_infos():
        out(f"  model {info.name}: " + (f"{info.version} loaded" if info.available else f"UNAVAILABLE: {info.reason}"))
        if not info.available:
            failures.append(f"model {info.name} unavailable: {info.reason}")
    expected_path = Path(samples_dir) / EXPECTED_NAME
    if not expected_path.is_file():
        failures.append(f"no recorded expectations at {expected_path}")
    else:
        expected = json.loads(expected_path.read_text(encoding="utf-8"))
        loaded = {i.name: i.version for i in models.model_infos() if i.available}
        if expected["models"] != loaded:
            failures.append(f"installed models {loaded} differ from the ones recorded at build time {expected['models']}")
        names = sorted(expected["images"])
        if not names:
            failures.append("no sample images recorded")
        else:
            images = np.stack([load_rgb(Path(samples_dir) / n) for n in names])
            worst = 0.0
            for name, preds in zip(names, models.predict(images)):
                for p in preds:
                    want = expected["images"][name].get(p.name)
                    if want is None:
                        failures.append(f"{name}: no recorded value for {p.name}")
                        continue
                    diff = abs(p.p_malignant - want)
                    worst = max(worst, diff)
                    if diff > tolerance:
                        failures.append(f"{name} / {p.name}: P(malignant) {p.p_malignant:.6f}, recorded {want:.6f}")
            out(f"  {len(names)} sample images classified; largest difference to the recorded values {worst:.1e} "
                f"(tolerance {tolerance:g})")
    out(f"  took {time.perf_counter() - started:.1f} s")
    if failures:
        out("SELF-TEST FAILED:")
        for failure in failures:
            out(f"  - {failure}")
        return 1
    out("SELF-TEST PASSED")
    return 0
