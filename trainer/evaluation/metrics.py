"""Evaluation numbers with their uncertainty: Wilson intervals for proportions, a seeded bootstrap
for ROC AUC, expected calibration error, and operating-point helpers."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix, roc_auc_score, roc_curve

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (nan, nan) when n == 0."""
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap_auc(y_true: np.ndarray, scores: np.ndarray, n_boot: int = 1000, seed: int = 0):
    """ROC AUC and its 95 % percentile-bootstrap interval (resampling cases; a resample with one class only is
    skipped). Each resample's AUC is the Mann-Whitney statistic (ties count one half, as in roc_auc_score)
    computed from how often it draws each case, for all resamples at once."""
    y_true = np.asarray(y_true)
    scores = np.asarray(scores, dtype=float)
    if len(np.unique(y_true)) < 2:
        return math.nan, (math.nan, math.nan)
    auc = float(roc_auc_score(y_true, scores))
    rng = np.random.default_rng(seed)
    n = len(y_true)
    positive = y_true == y_true.max()
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])  # groups of tied scores
    pos_sorted = positive[order]
    values = []
    for first in range(0, n_boot, _BOOT_CHUNK):
        draws = np.stack([rng.integers(0, n, n) for _ in range(min(_BOOT_CHUNK, n_boot - first))])
        offsets = np.arange(len(draws))[:, None] * n  # one bincount for the chunk: resample r's cases at r * n
        counts = np.bincount((draws + offsets).ravel(), minlength=len(draws) * n).reshape(len(draws), n)[:, order]
        pos = np.add.reduceat(np.where(pos_sorted, counts, 0), starts, axis=1).astype(float)
        neg = np.add.reduceat(np.where(pos_sorted, 0, counts), starts, axis=1).astype(float)
        below = np.cumsum(neg, axis=1) - neg  # negatives with a lower score than each group
        n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
        both = (n_pos > 0) & (n_neg > 0)
        wins = (pos * (below + 0.5 * neg)).sum(axis=1)
        values.extend((wins[both] / (n_pos[both] * n_neg[both])).tolist())
    lo, hi = np.percentile(values, [2.5, 97.5]) if values else (math.nan, math.nan)
    return auc, (float(lo), float(hi))


_BOOT_CHUNK = 100  # resamples counted at once (memory: chunk x cases integers)


def expected_calibration_error(y_true: np.ndarray, p_positive: np.ndarray, n_bins: int = 10) -> float:
    """ECE of P(malignant) with equal-width bins (the reliability-diagram definition)."""
    y_true = np.asarray(y_true, dtype=float)
    p = np.asarray(p_positive, dtype=float)
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            ece += mask.mean() * abs(p[mask].mean() - y_true[mask].mean())
    return float(ece)


def ece_noise_floor(p_positive: np.ndarray, n_bins: int = 10, repeats: int = 1000, seed: int = 0) -> float:
    """The ECE a perfectly calibrated model with these probabilities would show on this many cases, on average:
    labels drawn from the probabilities themselves. A measured ECE near it is within sampling noise."""
    p = np.asarray(p_positive, dtype=float)
    rng = np.random.default_rng(seed)
    return float(np.mean([expected_calibration_error(rng.random(len(p)) < p, p, n_bins) for _ in range(repeats)]))


def evaluate_probabilities(
    y_true: np.ndarray,
    probabilities: np.ndarray,
    class_names: tuple[str, ...] = ("benign", "malignant"),
    threshold: float = 0.5,
    positive: str = "malignant",
    n_boot: int = 1000,
    seed: int = 0,
) -> dict:
    """Every number the reports need, from true labels and predicted class probabilities.

    The predicted class is ``positive`` when its probability is >= ``threshold``.
    """
    y_true = np.asarray(y_true, dtype=int)
    probabilities = np.asarray(probabilities, dtype=float)
    pos = class_names.index(positive)
    neg = 1 - pos
    p_pos = probabilities[:, pos]
    y_pred = np.where(p_pos >= threshold, pos, neg)
    labels = list(range(len(class_names)))
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    report = classification_report(
        y_true, y_pred, labels=labels, target_names=list(class_names), output_dict=True, zero_division=0
    )
    n = len(y_true)
    correct = int((y_true == y_pred).sum())
    tp = int(cm[pos, pos])
    fn = int(cm[pos, neg])
    tn = int(cm[neg, neg])
    fp = int(cm[neg, pos])
    auc, auc_ci = bootstrap_auc((y_true == pos).astype(int), p_pos, n_boot=n_boot, seed=seed)
    fpr, tpr, _ = roc_curve((y_true == pos).astype(int), p_pos) if len(np.unique(y_true)) > 1 else ([], [], [])
    per_class = {
        name: {
            "precision": float(report[name]["precision"]),
            "recall": float(report[name]["recall"]),
            "f1": float(report[name]["f1-score"]),
            "support": int(report[name]["support"]),
        }
        for name in class_names
    }
    averages = {
        key.replace(" avg", ""): {
            "precision": float(report[key]["precision"]),
            "recall": float(report[key]["recall"]),
            "f1": float(report[key]["f1-score"]),
            "support": int(report[key]["support"]),
        }
        for key in ("macro avg", "weighted avg")
    }
    return {
        "n": n,
        "threshold": float(threshold),
        "accuracy": correct / n if n else math.nan,
        "accuracy_ci": wilson(correct, n),
        "sensitivity": tp / (tp + fn) if tp + fn else math.nan,
        "sensitivity_ci": wilson(tp, tp + fn),
        "specificity": tn / (tn + fp) if tn + fp else math.nan,
        "specificity_ci": wilson(tn, tn + fp),
        "roc_auc": auc,
        "roc_auc_ci": auc_ci,
        "ece": expected_calibration_error(y_true == pos, p_pos),
        "confusion_matrix": cm.tolist(),
        "class_names": list(class_names),
        "per_class": per_class,
        "averages": averages,
        "roc_curve": {"fpr": [float(v) for v in fpr], "tpr": [float(v) for v in tpr]},
    }


OPERATING_POINT_KEYS = ("threshold", "accuracy", "accuracy_ci", "sensitivity", "sensitivity_ci", "specificity",
                        "specificity_ci", "confusion_matrix")


def operating_point(metrics: dict) -> dict:
    """The threshold-dependent part of ``evaluate_probabilities``' result."""
    return {k: metrics[k] for k in OPERATING_POINT_KEYS}


def classification_report_text(metrics: dict) -> str:
    """A fixed-width table like the paper's Tables 3-5."""
    rows = [f"{'':>14} {'precision':>9} {'recall':>9} {'f1-score':>9} {'support':>9}", ""]
    for name, v in metrics["per_class"].items():
        rows.append(f"{name:>14} {v['precision']:9.2f} {v['recall']:9.2f} {v['f1']:9.2f} {v['support']:9d}")
    rows.append("")
    rows.append(f"{'accuracy':>14} {'':>9} {'':>9} {metrics['accuracy']:9.2f} {metrics['n']:9d}")
    for name, v in metrics["averages"].items():
        label = f"{name} avg"
        rows.append(f"{label:>14} {v['precision']:9.2f} {v['recall']:9.2f} {v['f1']:9.2f} {v['support']:9d}")
    lo, hi = metrics["accuracy_ci"]
    rows.append("")
    rows.append(f"accuracy {metrics['accuracy']:.3f} (95% CI {lo:.3f}-{hi:.3f}); "
                f"ROC AUC {metrics['roc_auc']:.3f} (95% CI {metrics['roc_auc_ci'][0]:.3f}-{metrics['roc_auc_ci'][1]:.3f})")
    rows.append(f"sensitivity {metrics['sensitivity']:.3f} (95% CI {metrics['sensitivity_ci'][0]:.3f}-"
                f"{metrics['sensitivity_ci'][1]:.3f}); specificity {metrics['specificity']:.3f} "
                f"(95% CI {metrics['specificity_ci'][0]:.3f}-{metrics['specificity_ci'][1]:.3f}) "
                f"at threshold {metrics['threshold']:.3f} on P(malignant)")
    return "\n".join(rows) + "\n"
