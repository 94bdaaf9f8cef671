"""Everything a finished model leaves on disk: the bundle (card + model file), metrics.json,
classification_report.txt, confusion_matrix.png, learning_curves.png; and the run's summary.md."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from trainer import DISCLAIMER
from trainer.bundle.calibration import (
    apply_calibration,
    fit_calibration,
    model_half_point,
    threshold_for_sensitivity,
)
from trainer.bundle.cards import probability_text
from trainer.bundle.io import SCHEMA_VERSION, save_model_file, save_tuned, write_card
from trainer.bundle.model_card import ModelCard
from trainer.data.imageio import IMAGE_SIZE
from trainer.evaluation.metric_files import metrics_table, write_metric_files
from trainer.evaluation.metrics import evaluate_probabilities, expected_calibration_error, summary
from trainer.models.registry import spec
from trainer.names import dataset_name


def display_name(name: str, config, fine_tuning_kept: bool | None = None) -> str:
    """The card's display name (its spec's, trained or fine-tuned as ``config`` says)."""
    return spec(name).long_name(config, fine_tuning_kept)


def collapsed(probabilities: np.ndarray, threshold: float, positive_index: int = 1) -> bool:
    """True when every prediction falls in one class: a model that learned nothing useful."""
    predicted = probabilities[:, positive_index] >= threshold
    return bool(predicted.all() or (~predicted).all())


TARGET_SENSITIVITY = 0.95


def write_history_csv(path: Path, history: dict) -> None:
    """The whole learning curve, one row per epoch (frozen phase then fine-tuning), one column per metric;
    a metric one phase did not log (e.g. the learning rate of a scheduled phase) is ``nan`` in the other.
    (It replaces the CSVLogger file written during training, whose phases have different columns.)"""
    keys = sorted(k for k, v in history.items() if isinstance(v, list))
    n = max((len(history[k]) for k in keys), default=0)
    lines = [",".join(["epoch", *keys])]
    lines += [",".join([str(i), *(repr(float(history[k][i])) if i < len(history[k]) else "nan" for k in keys)])
              for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def threshold_rule(n_val_positive: int) -> str:
    return (f"highest threshold on calibrated P(malignant) with sensitivity >= {TARGET_SENSITIVITY:.0%} on the "
            f"validation split ({n_val_positive} malignant images)")


def calibration_entry(parameters: dict, balanced: bool) -> dict:
    """The card's ``calibration``: the fitted parameters (trainer.bundle.calibration) and what they were fitted for."""
    return dict(parameters, fitted_on="validation split",
                prevalence=("equal (classes weighted equally, as in training)" if balanced
                            else "as in the validation split"))


def calibrate_and_score(y_val, val_probabilities, y_test, probabilities, class_names, *, method: str,
                        balanced: bool, seed: int) -> dict:
    """Fit the calibration and the operating point on validation; score the test split.

    Returns ``calibration`` (parameters), ``threshold``, ``metrics`` (metrics.json's object: at the model's own 0.5,
    its argmax, as the paper scores it; with calibration entries), ``operating`` (Metrics at the threshold),
    ``val_cal``, ``test_cal``."""
    pos = list(class_names).index("malignant")
    # Training used balanced class weights, so calibration is for equal prevalence too (see fit_temperature).
    calibration = fit_calibration(val_probabilities, y_val, method, positive_index=pos, balanced=balanced)
    val_cal = apply_calibration(val_probabilities, calibration)
    test_cal = apply_calibration(probabilities, calibration)
    # Rounded as the run's files keep probabilities: a stored prediction equal to it stays at or above it.
    threshold = float(probability_text(threshold_for_sensitivity(val_cal[:, pos], y_val == pos, TARGET_SENSITIVITY)))
    half = model_half_point(calibration)  # 0.5 of the model's own output, on the calibrated scale
    operating = evaluate_probabilities(y_test, test_cal, class_names, threshold, seed=seed)
    metrics = {**evaluate_probabilities(y_test, test_cal, class_names, half, seed=seed).to_json(),
               "collapsed_to_one_class": collapsed(test_cal, half, pos), "operating_point": operating.operating_point()}
    metrics["calibration"] = {
        **{k: v for k, v in calibration.items() if k != "positive_index"},
        "ece_test_before": expected_calibration_error(y_test == pos, probabilities[:, pos]),
        "ece_test_after": expected_calibration_error(y_test == pos, test_cal[:, pos]),
        "ece_val_before": expected_calibration_error(y_val == pos, val_probabilities[:, pos]),
        "ece_val_after": expected_calibration_error(y_val == pos, val_cal[:, pos]),
    }
    return {"calibration": calibration, "threshold": threshold, "metrics": metrics, "operating": operating,
            "val_cal": val_cal, "test_cal": test_cal}


def write_bundle_outputs(directory: Path, *, name, config, data, saved_part, part_kind, backbone, history,
                         probabilities, val_probabilities, device, seconds, preprocessing,
                         trainer_version) -> tuple[dict, np.ndarray]:
    """Calibrate on validation, choose the operating point on validation, evaluate on test, and
    write the bundle. Returns (test metrics, calibrated test probabilities)."""
    class_names = tuple(data.dataset.class_names)
    pos = class_names.index("malignant")
    scored = calibrate_and_score(data.y["val"], val_probabilities, data.y["test"], probabilities, class_names,
                                 method=config.calibration, balanced=config.class_weight, seed=config.seed)
    metrics, operating, threshold, test_cal = (scored["metrics"], scored["operating"], scored["threshold"],
                                               scored["test_cal"])
    n_val_pos = int(np.sum(data.y["val"] == pos))
    frozen_epochs = history.pop("frozen_epochs", None)
    fine_tuning_kept = history.pop("fine_tuning_kept", None)
    write_history_csv(directory / "history.csv", history)
    if part_kind == "tuned":
        model_file, model_sha = save_tuned(directory, saved_part)
    else:
        model_file, model_sha = save_model_file(directory, saved_part)
    created = datetime.now(timezone.utc)
    shown_name = display_name(name, config, fine_tuning_kept)
    card = ModelCard(
        schema_version=SCHEMA_VERSION, name=name, display_name=shown_name, architecture=name,
        architecture_variant=spec(name).variant_of(config), preset=config.preset,
        version=f"{name}-{created:%Y%m%d-%H%M%S}-{model_sha[:8]}", class_names=class_names,
        positive_class="malignant",
        input={"height": IMAGE_SIZE, "width": IMAGE_SIZE, "channels": 3, "color": "RGB", "range": [0, 255]},
        preprocessing={"mode": preprocessing, "inside_model": True,
                       "decode": "trainer.data.imageio.load_rgb: EXIF orientation, RGB, bilinear resize to 224x224"},
        model_file=model_file, model_part=part_kind, model_sha256=model_sha,
        weights_dtype="float32" if part_kind != "tuned" else saved_part.dtype_note,
        tuned_layers=tuple(saved_part.layers) if part_kind == "tuned" else None,
        backbone=backbone.card() if backbone is not None else None,
        threshold=threshold, threshold_rule=threshold_rule(n_val_pos),
        calibration=calibration_entry(scored["calibration"], config.class_weight),
        training=training_entry(config, data, backbone is not None),
        hyperparameters=hyperparameters_entry(name, config, history, frozen_epochs, fine_tuning_kept),
        metrics={"test": operating.summary(), "test_at_0.5": summary(metrics),
                 "calibration": metrics["calibration"]},
        device=device, training_seconds=round(seconds, 1), created_at=created.isoformat(timespec="seconds"),
        trainer_version=trainer_version, disclaimer=DISCLAIMER)
    write_card(directory, card)
    write_metric_files(directory, metrics, f"{shown_name} - test set", history, frozen_epochs)
    return metrics, test_cal


def training_entry(config, data, on_backbone: bool) -> dict:
    """The card's ``training``: what the model was trained on, and how the data was split and augmented."""
    return {
        # the folder's name (its path stays in the run's config.json); several sources: their names, joined
        "data": " + ".join(s["data"] for s in data.sources if not s.get("left_out")) if data.sources
                else dataset_name(config.data),
        "layout": data.dataset.layout,
        "protocol": config.protocol,
        "fractions": list(config.fractions) if config.fractions else None,
        "split_seed": config.resolved_split_seed,
        "counts": data.counts,
        "extra_data": data.extra_counts,  # training only; "counts" above include them in "train"
        # several sources: each one's name, protocol, split seed and counts per part ("left_out": scored only)
        "sources": data.sources or None,
        "excluded_dx": list(config.exclude_dx) or None,
        "skipped_files": len(data.skipped),
        "augmentation": config.augmentation if config.augment else "none",
        "feature_cache": bool(config.feature_cache and on_backbone),
    }


def hyperparameters_entry(name: str, config, history: dict, frozen_epochs, fine_tuning_kept) -> dict:
    """The card's ``hyperparameters``: the optimiser, epochs run, fine-tuning, early stopping, class weights."""
    from_scratch = spec(name).from_scratch
    return {
        "optimizer": "adam",
        "learning_rate": config.learning_rate,
        "batch_size": config.batch_size,
        "max_epochs": (config.cnn_epochs or config.epochs) if from_scratch else config.epochs,
        "epochs_run": len(history.get("loss", [])),
        "fine_tuning": (dict(config.finetune.get(name, {}), epochs_frozen=frozen_epochs,
                             epochs_run=len(history.get("loss", [])) - frozen_epochs,
                             kept=fine_tuning_kept, rule="kept only if it lowered the best validation loss")
                        if frozen_epochs is not None else None),
        "early_stopping": {"monitor": "val_loss", "restore_best_weights": True,
                           "patience": (config.cnn_patience if from_scratch and config.cnn_patience is not None
                                        else config.patience)},
        "reduce_lr_on_plateau": config.plateau.get(name),
        "max_minutes": config.max_minutes_per_model,
        "class_weight": "balanced" if config.class_weight else "none",
        "seed": config.seed,
    }


def _data_text(config, data) -> str:
    if not data.sources:
        return f"`{config.data}` ({data.dataset.layout})"
    return "several sources, each split on its own: " + ", ".join(
        f"`{s['data']}` ({'left out: scored only' if s.get('left_out') else s['protocol']})" for s in data.sources)


def write_summary(out: Path, config, data, all_metrics: dict, seconds: float, device: str) -> Path:
    counts = data.counts
    text = [
        f"# Training run: protocol {config.protocol}, seed {config.seed}, split seed {config.resolved_split_seed}",
        "",
        f"Data: {_data_text(config, data)}; train {counts['train']}, validation {counts['val']}, "
        f"test {counts['test']}; {len(data.skipped)} file(s) skipped (see skipped.txt).",
        f"Models: {', '.join(config.models)}. Device: {device}. Wall time: {seconds / 60:.1f} min.",
        "",
        "Test set, at each model's own 0.5 (its argmax, as in the paper; on the calibrated scale where a logistic "
        "calibration moves it). Confidence intervals: Wilson "
        "(proportions), bootstrap with 1,000 resamples (AUC).",
        "",
        metrics_table(all_metrics),
        f"_{DISCLAIMER}_",
        "",
    ]
    path = out / "summary.md"
    path.write_text("\n".join(text), encoding="utf-8")
    return path
