"""Refit a finished run's calibration without training it again.

``python -m trainer recalibrate RUN --method logistic``. Calibration and the operating point are fitted on
the validation split after training (trainer.training.outputs.calibrate_and_score), and a run keeps every model's
calibrated P(malignant) on its validation and test images (predictions.csv). The card says how they were
calibrated, so the model's own probabilities follow from them (trainer.bundle.calibration.uncalibrated_p; the file
keeps 9 significant digits, runs written before that 6 decimals), and the new calibration is fitted on what
training would have fitted it on.

Rewritten for every bundle in the run: the card's calibration, threshold and metrics, metrics.json, the
classification report and the confusion matrix; for the run: predictions.csv, external_predictions.csv
(the benchmark's cache) when there is one, config.json's ``calibration`` and ensemble.json. Model files,
versions and learning curves stay as they were.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from trainer.bundle.calibration import CALIBRATION_METHODS, apply_calibration, uncalibrated_p
from trainer.bundle.cards import EXTERNAL_FILE, PREDICTIONS_FILE, find_bundles, probability_text, read_card, write_card
from trainer.config import TrainConfig
from trainer.errors import BundleError, ConfigError
from trainer.evaluation.metric_files import write_metric_files
from trainer.evaluation.metrics import summary
from trainer.training.ensemble import fit_ensemble
from trainer.training.outputs import calibrate_and_score, calibration_entry, threshold_rule
from trainer.training.rundir import RunDir


def _read_rows(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _write_rows(path: Path, header: list[str], rows: list[dict]) -> None:
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def _two_columns(p_positive: np.ndarray, positive_index: int) -> np.ndarray:
    out = np.empty((len(p_positive), 2))
    out[:, positive_index], out[:, 1 - positive_index] = p_positive, 1.0 - p_positive
    return out


def _recalibrated(p_calibrated: np.ndarray, old: dict, new: dict, positive_index: int) -> np.ndarray:
    own = uncalibrated_p(p_calibrated, old)
    return apply_calibration(_two_columns(own, positive_index), new)[:, positive_index]


def recalibrate_run(run_dir: str | Path, method: str) -> dict[str, dict]:
    """Refit every bundle's calibration in ``run_dir`` with ``method``; returns model -> new test metrics (at
    the model's own 0.5, with ``operating_point`` and ``calibration``)."""
    if method not in CALIBRATION_METHODS:
        raise ConfigError(f"unknown calibration {method!r}; use one of {', '.join(CALIBRATION_METHODS)}")
    run_dir = Path(run_dir)
    try:
        config = TrainConfig.from_json(RunDir(run_dir).saved_config())
        header, rows = _read_rows(run_dir / PREDICTIONS_FILE)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{run_dir} is not a finished training run (config.json and {PREDICTIONS_FILE} are "
                          f"needed): {exc}") from None
    cards = {card.name: (d, card) for d, card in ((d, read_card(d)) for d in find_bundles(run_dir))}
    missing = [name for name in cards if not any(r["model"] == name for r in rows)]
    if missing:
        raise BundleError(f"{run_dir / PREDICTIONS_FILE} has no predictions of {', '.join(missing)}; retrain them")
    old_calibrations, results = {}, {}
    for name, (bundle_dir, card) in cards.items():
        class_names = list(card.class_names)
        pos = card.positive_index
        mine = {part: [r for r in rows if r["model"] == name and r["split"] == part] for part in ("val", "test")}
        parts = {}
        for part, part_rows in mine.items():
            own = uncalibrated_p(np.array([float(r["p_malignant"]) for r in part_rows]), card.calibration)
            parts[part] = (_two_columns(own, pos), np.array([class_names.index(r["label"]) for r in part_rows]))
        scored = calibrate_and_score(parts["val"][1], parts["val"][0], parts["test"][1], parts["test"][0],
                                     class_names, method=method, balanced=config.class_weight, seed=config.seed)
        old_calibrations[name] = card.calibration
        card = card.replace(threshold=scored["threshold"],
                            threshold_rule=threshold_rule(int(np.sum(parts["val"][1] == pos))),
                            calibration=calibration_entry(scored["calibration"], config.class_weight),
                            metrics=dict(card.metrics, test=summary(scored["operating"]),
                                         **{"test_at_0.5": summary(scored["metrics"]),
                                            "calibration": scored["metrics"]["calibration"]}))
        write_card(bundle_dir, card)
        write_metric_files(bundle_dir, scored["metrics"], f"{card.display_name} - test set")
        cards[name] = (bundle_dir, card)
        results[name] = scored["metrics"]
        for part, column in (("val", "val_cal"), ("test", "test_cal")):
            for r, p in zip(mine[part], scored[column][:, pos]):
                r["p_malignant"] = probability_text(p)
    _write_rows(run_dir / PREDICTIONS_FILE, header, rows)
    _recalibrate_external(run_dir, cards, old_calibrations)
    RunDir(run_dir).write_config(dict(RunDir(run_dir).saved_config(), calibration=method))
    fit_ensemble(run_dir, seed=config.seed, method=method)
    return results


def _recalibrate_external(run_dir: Path, cards: dict, old_calibrations: dict) -> None:
    """The benchmark's cached P(malignant) on external images (one row per bundle version and image)."""
    path = run_dir / EXTERNAL_FILE
    if not path.is_file():
        return
    header, rows = _read_rows(path)
    by_version = {card.version: name for name, (_, card) in cards.items()}
    kept = []
    for version in dict.fromkeys(r["version"] for r in rows):
        if version not in by_version:
            continue  # an earlier version of a bundle: the cache is refilled when needed
        name = by_version[version]
        card = cards[name][1]
        mine = [r for r in rows if r["version"] == version]
        pos = card.positive_index
        new = _recalibrated(np.array([float(r["p_malignant"]) for r in mine]), old_calibrations[name],
                            card.calibration, pos)
        for r, p in zip(mine, new):
            r["p_malignant"] = probability_text(p)
        kept.extend(mine)
    _write_rows(path, header, kept)
