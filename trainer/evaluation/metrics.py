"""Evaluation numbers with their uncertainty: Wilson intervals for proportions, a seeded bootstrap
for ROC AUC, expected calibration error, and operating-point helpers. ``evaluate_probabilities`` gives a
typed :class:`Metrics`; ``Metrics.to_json`` is what metrics.json and the cards keep, ``Metrics.from_json``
reads it back."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

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


@dataclass(frozen=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int

    def to_json(self) -> dict:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "support": self.support}


SUMMARY_KEYS = ("n", "threshold", "accuracy", "accuracy_ci", "sensitivity", "sensitivity_ci", "specificity",
                "specificity_ci", "roc_auc", "roc_auc_ci", "ece")  # the headline numbers tables and cards keep
OPERATING_POINT_KEYS = ("threshold", "accuracy", "accuracy_ci", "sensitivity", "sensitivity_ci", "specificity",
                        "specificity_ci", "confusion_matrix")  # what depends on the threshold


@dataclass(frozen=True)
class Metrics:
    """Every number the reports need for one model (or the combined risk) on one set of images, at one threshold
    on P(positive class): counts, proportions with their Wilson intervals, ROC AUC with its bootstrap interval,
    calibration error, the confusion matrix, per-class scores and the ROC curve."""

    n: int
    threshold: float
    accuracy: float
    accuracy_ci: tuple[float, float]
    sensitivity: float
    sensitivity_ci: tuple[float, float]
    specificity: float
    specificity_ci: tuple[float, float]
    roc_auc: float
    roc_auc_ci: tuple[float, float]
    ece: float
    confusion_matrix: list[list[int]]
    class_names: tuple[str, ...]
    per_class: Mapping[str, ClassScores]
    averages: Mapping[str, ClassScores]  # "macro", "weighted"
    roc_curve: Mapping[str, list[float]]  # "fpr", "tpr"

    def to_json(self) -> dict:
        """The JSON object metrics.json keeps (keys in the order the files have always had)."""
        return {"n": self.n, "threshold": self.threshold, "accuracy": self.accuracy, "accuracy_ci": self.accuracy_ci,
                "sensitivity": self.sensitivity, "sensitivity_ci": self.sensitivity_ci,
                "specificity": self.specificity, "specificity_ci": self.specificity_ci, "roc_auc": self.roc_auc,
                "roc_auc_ci": self.roc_auc_ci, "ece": self.ece, "confusion_matrix": self.confusion_matrix,
                "class_names": list(self.class_names),
                "per_class": {k: v.to_json() for k, v in self.per_class.items()},
                "averages": {k: v.to_json() for k, v in self.averages.items()},
                "roc_curve": {k: list(v) for k, v in self.roc_curve.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Metrics":
        """Metrics read back from metrics.json (keys this type does not know are left out)."""
        scores = lambda table: {k: ClassScores(**v) for k, v in (table or {}).items()}  # noqa: E731
        return cls(n=int(data["n"]), threshold=float(data["threshold"]), accuracy=data["accuracy"],
                   accuracy_ci=tuple(data["accuracy_ci"]), sensitivity=data["sensitivity"],
                   sensitivity_ci=tuple(data["sensitivity_ci"]), specificity=data["specificity"],
                   specificity_ci=tuple(data["specificity_ci"]), roc_auc=data["roc_auc"],
                   roc_auc_ci=tuple(data["roc_auc_ci"]), ece=data.get("ece", math.nan),
                   confusion_matrix=[list(row) for row in data.get("confusion_matrix", [])],
                   class_names=tuple(data.get("class_names", ())), per_class=scores(data.get("per_class")),
                   averages=scores(data.get("averages")), roc_curve=dict(data.get("roc_curve") or {}))

    def summary(self) -> dict:
        """The headline numbers (what ensemble.json, the cards' ``metrics`` and the tables keep)."""
        return {k: v for k, v in self.to_json().items() if k in SUMMARY_KEYS}

    def operating_point(self) -> dict:
        """The threshold-dependent numbers."""
        return {k: v for k, v in self.to_json().items() if k in OPERATING_POINT_KEYS}

    def report_text(self) -> str:
        """A fixed-width table like the paper's Tables 3-5."""
        rows = [f"{'':>14} {'precision':>9} {'recall':>9} {'f1-score':>9} {'support':>9}", ""]
        for name, v in self.per_class.items():
            rows.append(f"{name:>14} {v.precision:9.2f} {v.recall:9.2f} {v.f1:9.2f} {v.support:9d}")
        rows.append("")
        rows.append(f"{'accuracy':>14} {'':>9} {'':>9} {self.accuracy:9.2f} {self.n:9d}")
        for name, v in self.averages.items():
            label = f"{name} avg"
            rows.append(f"{label:>14} {v.precision:9.2f} {v.recall:9.2f} {v.f1:9.2f} {v.support:9d}")
        (lo, hi), (auc_lo, auc_hi) = self.accuracy_ci, self.roc_auc_ci
        rows.append("")
        rows.append(f"accuracy {self.accuracy:.3f} (95% CI {lo:.3f}-{hi:.3f}); "
                    f"ROC AUC {self.roc_auc:.3f} (95% CI {auc_lo:.3f}-{auc_hi:.3f})")
        rows.append(f"sensitivity {self.sensitivity:.3f} (95% CI {self.sensitivity_ci[0]:.3f}-"
                    f"{self.sensitivity_ci[1]:.3f}); specificity {self.specificity:.3f} "
                    f"(95% CI {self.specificity_ci[0]:.3f}-{self.specificity_ci[1]:.3f}) "
                    f"at threshold {self.threshold:.3f} on P(malignant)")
        return "\n".join(rows) + "\n"


def evaluate_probabilities(
    y_true: np.ndarray,
    probabilities: np.ndarray,
    class_names: tuple[str, ...] = ("benign", "malignant"),
    threshold: float = 0.5,
    positive: str = "malignant",
    n_boot: int = 1000,
    seed: int = 0,
) -> Metrics:
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
    scores = {name: ClassScores(float(report[key]["precision"]), float(report[key]["recall"]),
                                float(report[key]["f1-score"]), int(report[key]["support"]))
              for name, key in [(c, c) for c in class_names] + [("macro", "macro avg"), ("weighted", "weighted avg")]}
    return Metrics(
        n=n, threshold=float(threshold), accuracy=correct / n if n else math.nan, accuracy_ci=wilson(correct, n),
        sensitivity=tp / (tp + fn) if tp + fn else math.nan, sensitivity_ci=wilson(tp, tp + fn),
        specificity=tn / (tn + fp) if tn + fp else math.nan, specificity_ci=wilson(tn, tn + fp),
        roc_auc=auc, roc_auc_ci=auc_ci, ece=expected_calibration_error(y_true == pos, p_pos),
        confusion_matrix=cm.tolist(), class_names=tuple(class_names),
        per_class={name: scores[name] for name in class_names},
        averages={"macro": scores["macro"], "weighted": scores["weighted"]},
        roc_curve={"fpr": [float(v) for v in fpr], "tpr": [float(v) for v in tpr]})


def summary(metrics: Metrics | Mapping) -> dict:
    """The headline numbers of a result, or of its JSON (a metrics.json, a run's ``test`` entry)."""
    return metrics.summary() if isinstance(metrics, Metrics) else {k: metrics[k] for k in SUMMARY_KEYS}


def operating_point(metrics: Metrics | Mapping) -> dict:
    """The threshold-dependent part of ``evaluate_probabilities``' result (or of its JSON, read back)."""
    return (metrics if isinstance(metrics, Metrics) else Metrics.from_json(metrics)).operating_point()


def classification_report_text(metrics: Metrics | Mapping) -> str:
    """A fixed-width table like the paper's Tables 3-5, of a result or of its JSON read back."""
    return (metrics if isinstance(metrics, Metrics) else Metrics.from_json(metrics)).report_text()
