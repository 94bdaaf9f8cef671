"""The three-model ensemble: the mean of the members' calibrated P(malignant), with its own
operating point chosen on the run's validation split (never on test)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from trainer.bundle import load_bundle
from trainer.calibration import threshold_for_sensitivity
from trainer.cards import ENSEMBLE_FILE, find_bundles
from trainer.data import Sample, decode_samples, discover, without_unreadable
from trainer.metrics import evaluate_probabilities
from trainer.outputs import TARGET_SENSITIVITY

ENSEMBLE_RULE = "mean of the members' calibrated P(malignant)"


def _split_part(run_dir: Path, part: str) -> tuple[list[Path], np.ndarray]:
    with open(run_dir / "split.csv", newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == part]
    return [Path(r["path"]) for r in rows], np.array([r["label"] == "malignant" for r in rows], dtype=int)


def _mean_p_malignant(bundles, images: np.ndarray) -> np.ndarray:
    columns = []
    for bundle in bundles:
        probs = bundle.predict_proba(images, batch_size=32)
        columns.append(probs[:, bundle.class_names.index(bundle.card["positive_class"])])
    return np.mean(columns, axis=0)


def _as_probs(p: np.ndarray) -> np.ndarray:
    return np.stack([1 - p, p], axis=1)


def fit_ensemble(run_dir: str | Path, backbones=None) -> dict:
    """Threshold on the run's validation split, metrics on its test split; writes ensemble.json."""
    run_dir = Path(run_dir)
    bundles = [load_bundle(d, backbones) for d in find_bundles(run_dir)]
    parts = {}
    for part in ("val", "test"):
        paths, labels = _split_part(run_dir, part)
        decoded = decode_samples([Sample(p, "benign") for p in paths])
        parts[part] = (_mean_p_malignant(bundles, decoded.images), labels[decoded.kept])
    p_val, y_val = parts["val"]
    threshold = threshold_for_sensitivity(p_val, y_val == 1, TARGET_SENSITIVITY)
    p_test, y_test = parts["test"]
    result = {
        "members": {b.name: b.version for b in bundles},
        "rule": ENSEMBLE_RULE,
        "threshold": threshold,
        "threshold_rule": f"highest threshold with sensitivity >= {TARGET_SENSITIVITY:.0%} on the validation split",
        "test": evaluate_probabilities(y_test, _as_probs(p_test), threshold=0.5),
        "test_at_threshold": evaluate_probabilities(y_test, _as_probs(p_test), threshold=threshold),
    }
    (run_dir / ENSEMBLE_FILE).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


def evaluate_ensemble(run_dir: str | Path, data_dir: str | Path, backbones=None) -> dict:
    """The fitted ensemble (its stored threshold) on every readable image of another dataset."""
    run_dir = Path(run_dir)
    stored = json.loads((run_dir / ENSEMBLE_FILE).read_text(encoding="utf-8"))
    bundles = [load_bundle(d, backbones) for d in find_bundles(run_dir)]
    dataset, _ = without_unreadable(discover(data_dir))
    decoded = decode_samples(dataset.samples)
    y = dataset.labels[decoded.kept]
    p = _mean_p_malignant(bundles, decoded.images)
    return {"at_0.5": evaluate_probabilities(y, _as_probs(p), threshold=0.5),
            "at_threshold": evaluate_probabilities(y, _as_probs(p), threshold=stored["threshold"]),
            "threshold": stored["threshold"]}
