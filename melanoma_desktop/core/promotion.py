"""Promoting a retrained model: each new model beside the active one on the same test images, and plain
warnings for the person about to promote (no Qt: the wizard's results page shows what this computes)."""

from __future__ import annotations

import math
from pathlib import Path

from melanoma_desktop.core.numbers import with_ci
from trainer.bundle.calibration import model_half_point
from trainer.bundle.cards import read_card, read_ensemble
from trainer.data.samples import Sample, decode_samples
from trainer.errors import TrainerError
from trainer.training.rundir import RunDir, RunResult

COLUMNS = ["model", "which", "accuracy (the paper's measure)", "orders lesions (AUC)", "melanomas caught",
           "benign cleared", "its flag line", "version"]  # numbers with their 95 % intervals


def _metric_cells(at_half: dict, at_threshold: dict, threshold) -> list[str]:
    """accuracy at the model's own 0.5, AUC, sensitivity and specificity at its threshold (with intervals)."""
    return [with_ci(at_half.get("accuracy"), at_half.get("accuracy_ci")),
            with_ci(at_half.get("roc_auc"), at_half.get("roc_auc_ci"), pct=False),
            with_ci(at_threshold.get("sensitivity"), at_threshold.get("sensitivity_ci")),
            with_ci(at_threshold.get("specificity"), at_threshold.get("specificity_ci")), with_ci(threshold, pct=False)]


def compare_with_active(run_dir: Path, names: list[str], active_dirs: dict[str, str], backbones) -> dict[str, dict]:
    """The active bundles' numbers on the new run's test images (the same split)."""
    from trainer.bundle.io import load_bundle
    from trainer.evaluation.metrics import evaluate_probabilities

    paths, labels = RunDir(run_dir).part("test")
    decoded = decode_samples([Sample(Path(p), "benign") for p in paths])
    y = labels[decoded.kept]
    out = {}
    for name in names:
        if name not in active_dirs:
            continue
        try:
            bundle = load_bundle(active_dirs[name], backbones)
        except Exception as exc:  # an unavailable active model is reported, not fatal
            out[name] = {"error": str(exc)}
            continue
        probs = bundle.predict_proba(decoded.images)
        names_ = tuple(bundle.class_names)
        at_half = evaluate_probabilities(y, probs, names_, model_half_point(bundle.calibration))
        at_thr = evaluate_probabilities(y, probs, names_, bundle.threshold, n_boot=0)
        out[name] = {"at_half": {"accuracy": at_half.accuracy, "accuracy_ci": at_half.accuracy_ci,
                                 "roc_auc": at_half.roc_auc, "roc_auc_ci": at_half.roc_auc_ci},
                     "at_threshold": {"sensitivity": at_thr.sensitivity, "sensitivity_ci": at_thr.sensitivity_ci,
                                      "specificity": at_thr.specificity, "specificity_ci": at_thr.specificity_ci},
                     "threshold": bundle.threshold, "version": bundle.version}
    return out


def promotion_warnings(new: dict[str, dict], active: dict[str, dict]) -> list[str]:
    """Plain warnings for the person about to promote: a new model no better than chance on its test images, or
    worse than the active one on the same images (their AUC intervals apart). ``new``: name -> the run's
    metrics; ``active``: name -> compare_with_active's numbers."""
    warnings = []
    for name, m in new.items():
        auc, ci = m.get("roc_auc"), m.get("roc_auc_ci") or [None, None]
        a = active.get(name, {}).get("at_half", {})
        a_auc, a_ci = a.get("roc_auc"), a.get("roc_auc_ci") or [None, None]
        if auc is None or ci[0] is None or math.isnan(auc):
            continue
        if a_auc is not None and a_ci[0] is not None and ci[1] < a_ci[0]:
            warnings.append(f"The new {name} is worse than the active one on the same test images (AUC {auc:.3f} "
                            f"vs {a_auc:.3f}, intervals apart): keep the active {name}.")
        elif ci[0] <= 0.5:
            warnings.append(f"The new {name} is not shown to be better than chance (AUC {auc:.3f}, interval "
                            f"{ci[0]:.3f}–{ci[1]:.3f} includes 0.5): more data or epochs before promoting it.")
    return warnings


def comparison_rows(result: RunResult, active: dict[str, dict]) -> list[list[str]]:
    """The results table: per model the new one and the active one (``active``: compare_with_active's numbers),
    then the new run's ensemble; one cell per ``COLUMNS``."""
    rows = []
    for name, m in result.metrics.items():
        op = m.get("operating_point", {})
        rows.append([name, "new", *_metric_cells(m, op, op.get("threshold")), read_card(result.bundles[name]).version])
        a = active.get(name)
        if a and "error" in a:
            rows.append([name, "active", "unavailable", "", "", "", "", a["error"][:80]])
        elif a:
            rows.append([name, "active", *_metric_cells(a["at_half"], a["at_threshold"], a["threshold"]), a["version"]])
    return rows + ensemble_rows(result.out)


def ensemble_rows(run_dir: Path) -> list[list[str]]:
    """The new run's ensemble (its ensemble.json: calibrated mean, threshold from validation), if it has one;
    it reaches the app when every one of its models is promoted."""
    try:
        rule = read_ensemble(run_dir)
    except TrainerError as exc:
        return [["ensemble", "new", "unavailable", "", "", "", "", str(exc)[:80]]]
    if rule is None:
        return []
    return [["ensemble", "new (if all promoted)", *_metric_cells(rule.test, rule.test_at_threshold, rule.threshold),
             " + ".join(sorted(rule.members))]]


def test_split_counts(run_dir: Path) -> tuple[int, int]:
    """(images, melanomas) of a run's test split."""
    _, labels = RunDir(run_dir).part("test")
    return len(labels), int(labels.sum())
