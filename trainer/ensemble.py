"""The three-model ensemble: the mean of the members' calibrated P(malignant), with its own
operating point chosen on the run's validation split (never on test)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from trainer.bundle import load_bundle
from trainer.calibration import threshold_for_sensitivity
from trainer.cards import ENSEMBLE_FILE, PREDICTIONS_FILE, find_bundles, read_card
from trainer.errors import BundleError
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


SUMMARY_KEYS = ("n", "threshold", "accuracy", "accuracy_ci", "sensitivity", "sensitivity_ci", "specificity",
                "specificity_ci", "roc_auc", "roc_auc_ci", "ece")


def summary(metrics: dict) -> dict:
    """The headline numbers of ``evaluate_probabilities``' output (what ensemble.json and tables keep)."""
    return {k: metrics[k] for k in SUMMARY_KEYS}


def read_predictions(run_dir: Path) -> dict[str, dict[str, tuple[list[str], np.ndarray, np.ndarray]]]:
    """model -> split -> (paths, labels as 0/1, calibrated P(malignant)) from a run's predictions.csv."""
    table: dict[str, dict[str, list]] = {}
    with open(Path(run_dir) / PREDICTIONS_FILE, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            part = table.setdefault(row["model"], {}).setdefault(row["split"], [[], [], []])
            part[0].append(row["path"])
            part[1].append(int(row["label"] == "malignant"))
            part[2].append(float(row["p_malignant"]))
    return {m: {s: (v[0], np.array(v[1]), np.array(v[2])) for s, v in parts.items()} for m, parts in table.items()}


def mean_from_predictions(preds: dict, members: list[str], split: str) -> tuple[np.ndarray, np.ndarray]:
    """The members' mean calibrated P(malignant) on one split of read_predictions' output, and the labels."""
    paths, labels, _ = preds[members[0]][split]
    for name in members[1:]:
        if preds[name][split][0] != paths:
            raise BundleError(f"the {split} images of {name} differ from those of {members[0]}; retrain the run")
    return np.mean([preds[name][split][2] for name in members], axis=0), labels


def fit_ensemble(run_dir: str | Path, backbones=None, seed: int = 0) -> dict:
    """Threshold on the run's validation split, metrics on its test split; writes ensemble.json.

    The members' probabilities come from the run's predictions.csv when it has one (no model is run),
    else from predicting the split's images with each bundle."""
    run_dir = Path(run_dir)
    cards = [read_card(d) for d in find_bundles(run_dir)]
    members = [c["name"] for c in cards]
    if (run_dir / PREDICTIONS_FILE).is_file():
        preds = read_predictions(run_dir)
        parts = {part: mean_from_predictions(preds, members, part) for part in ("val", "test")}
    else:
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
        "members": {c["name"]: c["version"] for c in cards},
        "rule": ENSEMBLE_RULE,
        "threshold": threshold,
        "threshold_rule": f"highest threshold with sensitivity >= {TARGET_SENSITIVITY:.0%} on the validation split "
                          f"({int(np.sum(y_val == 1))} malignant images)",
        "test": evaluate_probabilities(y_test, _as_probs(p_test), threshold=0.5, seed=seed),
        "test_at_threshold": evaluate_probabilities(y_test, _as_probs(p_test), threshold=threshold, seed=seed),
    }
    stored = dict(result, test=summary(result["test"]), test_at_threshold=summary(result["test_at_threshold"]))
    (run_dir / ENSEMBLE_FILE).write_text(json.dumps(stored, indent=2, default=float), encoding="utf-8")
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
