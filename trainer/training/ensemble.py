"""The three-model ensemble: a weighted mean of the members' calibrated P(malignant) (trainer.bundle.combine: the
weights, fitted on validation, give no weight to a member that does not raise validation AUC), calibrated
once more (a mean of calibrated probabilities is under-confident) and with its own operating point, all
fitted on the run's validation split (never on test).

ensemble.json holds the members (name -> version), their ``weights`` (absent in files written before them:
the plain mean), the ``calibration`` of the combination (as a card's, see trainer.bundle.calibration; absent in
older files: none) and the ``threshold`` on the calibrated ensemble probability."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from trainer.bundle.calibration import calibrate_p_positive, model_half_point
from trainer.bundle.cards import ENSEMBLE_FILE, find_bundles, read_card, read_ensemble
from trainer.bundle.combine import WEIGHTS_RULE, combine, fit_member_weights
from trainer.bundle.ensemble_rule import EnsembleRule
from trainer.bundle.io import load_bundle
from trainer.data.samples import Sample, decode_samples, discover, without_unreadable
from trainer.errors import BundleError
from trainer.evaluation.metrics import evaluate_probabilities, expected_calibration_error, summary
from trainer.training.outputs import TARGET_SENSITIVITY, calibrate_and_score, calibration_entry
from trainer.training.rundir import RunDir, read_predictions

ENSEMBLE_RULE = "weighted mean of the members' calibrated P(malignant), calibrated on validation"
CLASS_NAMES = ["benign", "malignant"]


def _members_p_malignant(bundles, images: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    for bundle in bundles:
        probs = bundle.predict_proba(images, batch_size=32)
        out[bundle.card.name] = probs[:, bundle.card.positive_index]
    return out


def _as_probs(p: np.ndarray) -> np.ndarray:
    return np.stack([1 - p, p], axis=1)


def members_from_predictions(preds: dict, members: list[str], split: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each member's calibrated P(malignant) on one split of read_predictions' output, and the labels."""
    paths, labels, _ = preds[members[0]][split]
    for name in members[1:]:
        if preds[name][split][0] != paths:
            raise BundleError(f"the {split} images of {name} differ from those of {members[0]}; retrain the run")
    return {name: preds[name][split][2] for name in members}, labels


def mean_from_predictions(preds: dict, members: list[str], split: str, rule: EnsembleRule | None = None):
    """The members' combination under ``rule`` (its weights; none: the plain mean) on one split of
    read_predictions' output, and the labels."""
    p, labels = members_from_predictions(preds, members, split)
    return combine(p, rule.weights if rule is not None else None), labels


def ensemble_probability(mean_p_malignant, rule: EnsembleRule) -> np.ndarray:
    """The ensemble's P(malignant): the members' mean through the rule's calibration (none: the mean)."""
    return calibrate_p_positive(mean_p_malignant, rule.calibration)


def _members_calibration(run_dir: Path) -> tuple[str, bool]:
    """How the run calibrated its members (config.json): the method, and whether the classes were weighted
    equally (with class weights in training)."""
    try:
        config = RunDir(run_dir).saved_config()
    except (OSError, ValueError):
        config = {}
    return config.get("calibration", "temperature"), bool(config.get("class_weight", True))


def fit_ensemble(run_dir: str | Path, backbones=None, seed: int = 0, method: str | None = None) -> dict:
    """Calibration and threshold on the run's validation split, metrics on its test split; writes ensemble.json.

    ``method``: how the mean is calibrated (trainer.bundle.calibration; default: the run's config.json
    ``calibration``, as its members). The members' probabilities come from the run's predictions.csv when
    it has one (no model is run), else from predicting the split's images with each bundle."""
    run_dir = Path(run_dir)
    cards = [read_card(d) for d in find_bundles(run_dir)]
    members = [c.name for c in cards]
    if RunDir(run_dir).has_predictions():
        preds = read_predictions(run_dir)
        parts = {part: members_from_predictions(preds, members, part) for part in ("val", "test")}
    else:
        bundles = [load_bundle(d, backbones) for d in find_bundles(run_dir)]
        parts = {}
        for part in ("val", "test"):
            paths, labels = RunDir(run_dir).part(part)
            decoded = decode_samples([Sample(Path(p), "benign") for p in paths])
            parts[part] = (_members_p_malignant(bundles, decoded.images), labels[decoded.kept])
    weighting = fit_member_weights(parts["val"][0], parts["val"][1])
    (p_val, y_val), (p_test, y_test) = ((combine(parts[k][0], weighting["weights"]), parts[k][1])
                                        for k in ("val", "test"))
    members_method, balanced = _members_calibration(run_dir)  # as the members: e.g. for equal prevalence
    scored = calibrate_and_score(y_val, _as_probs(p_val), y_test, _as_probs(p_test), CLASS_NAMES,
                                 method=method or members_method, balanced=balanced, seed=seed)
    checks = scored["metrics"]["calibration"]
    result = {
        "members": {c.name: c.version for c in cards},
        "rule": ENSEMBLE_RULE,
        "weights": weighting["weights"],
        "weights_rule": WEIGHTS_RULE,
        "weights_validation": {k: weighting[k] for k in ("val_auc", "val_auc_equal", "member_val_auc", "dropped")},
        "calibration": calibration_entry(scored["calibration"], balanced),
        "threshold": scored["threshold"],
        "threshold_rule": f"highest threshold on the calibrated ensemble P(malignant) with sensitivity >= "
                          f"{TARGET_SENSITIVITY:.0%} on the validation split ({int(np.sum(y_val == 1))} malignant "
                          f"images)",
        "ece": {k: checks[k] for k in ("ece_test_before", "ece_test_after", "ece_val_before", "ece_val_after")},
        "test": scored["metrics"],  # at the mean's 0.5 (on the calibrated scale: model_half_point)
        "test_at_threshold": scored["operating"].to_json(),
    }
    stored = dict(result, test=summary(result["test"]), test_at_threshold=summary(result["test_at_threshold"]))
    (run_dir / ENSEMBLE_FILE).write_text(json.dumps(stored, indent=2, default=float), encoding="utf-8")
    return result


def fit_run_ensemble(run_dir: str | Path, seed: int = 0) -> dict | None:
    """fit_ensemble for a finished run with two or more models, from its predictions.csv (no model runs);
    None, and a stale ensemble.json removed, when the folder's models cannot form one."""
    run_dir = Path(run_dir)
    names = [read_card(d).name for d in find_bundles(run_dir)]
    preds = read_predictions(run_dir) if RunDir(run_dir).has_predictions() else {}
    if len(names) < 2 or not all({"val", "test"} <= set(preds.get(name, {})) for name in names):
        (run_dir / ENSEMBLE_FILE).unlink(missing_ok=True)
        return None
    return fit_ensemble(run_dir, seed=seed)


def evaluate_ensemble(run_dir: str | Path, data_dir: str | Path, backbones=None) -> dict:
    """The fitted ensemble (its stored threshold) on every readable image of another dataset."""
    run_dir = Path(run_dir)
    stored = read_ensemble(run_dir)
    if stored is None:
        raise BundleError(f"{run_dir} has no {ENSEMBLE_FILE}; fit it first: python -m trainer ensemble --run {run_dir}")
    bundles = [load_bundle(d, backbones) for d in find_bundles(run_dir)]
    dataset, _ = without_unreadable(discover(data_dir))
    decoded = decode_samples(dataset.samples)
    y = dataset.labels[decoded.kept]
    mean = stored.combine(_members_p_malignant(bundles, decoded.images))
    p = ensemble_probability(mean, stored)
    half = model_half_point(stored.calibration or {})  # no calibration: the mean's 0.5
    return {"at_0.5": evaluate_probabilities(y, _as_probs(p), threshold=half).to_json(),
            "at_threshold": evaluate_probabilities(y, _as_probs(p), threshold=stored.threshold).to_json(),
            "threshold": stored.threshold, "calibration": stored.calibration,
            "ece_before": expected_calibration_error(y, mean)}


def add_member(run_dir: str | Path, bundle_dir: str | Path, backbones=None) -> dict:
    """Put a bundle trained elsewhere into a finished run as one more member: its calibrated P(malignant) on
    every image of the run's predictions.csv (validation, test, left-out) is appended, the bundle copied in, and
    the ensemble refitted (weights included) on the run's validation set. The caller vouches that the bundle
    never trained on those images (e.g. the same first-source split, which trainer.data.sources keeps)."""
    run_dir, bundle_dir = Path(run_dir), Path(bundle_dir)
    bundle = load_bundle(bundle_dir, backbones)
    name = bundle.card.name
    if (run_dir / name).exists():
        raise BundleError(f"{run_dir} already holds a {name} model; remove it or pick another run")
    run = RunDir(run_dir)
    rows = run.prediction_rows()
    first = rows[0]["model"]
    mine = [r for r in rows if r["model"] == first]
    decoded = decode_samples([Sample(Path(r["path"]), r["label"]) for r in mine])
    if len(decoded.kept) != len(mine):
        raise BundleError(f"{len(mine) - len(decoded.kept)} image(s) of {run_dir}'s predictions no longer decode")
    probs = bundle.predict_proba(decoded.images, batch_size=32)
    p = probs[:, bundle.card.positive_index]
    run.append_predictions(name, mine, p)
    shutil.copytree(bundle_dir, run_dir / name)
    return fit_ensemble(run_dir)
