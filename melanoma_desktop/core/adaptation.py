"""Adapting the models to a clinic: each model's head refitted on the clinic's confirmed cases (a clinic
adapter, trainer.bundle.adapter), then the combination (member weights, calibration, flag line) refitted on
out-of-fold predictions, with the evidence measured before anything is adopted. NumPy, SciPy and
scikit-learn; no Keras, no Qt, no database: ``core.adaptation_job`` feeds it.

How the evidence is measured (``fit_adaptation``): the confirmed cases are split into ``folds`` parts grouped
by lesion (or patient) and stratified by diagnosis. Each part is read by adapters fitted on the other parts
(each adapter's penalty chosen by an inner grouped cross-validation on those parts alone): every case gets an
out-of-fold P(melanoma) from every adapted model. The combination is then judged the same way one level up:
each part's combined risk and flag come from member weights, a calibration and a flag line fitted on the
other parts' out-of-fold predictions. The active models need no fitting: their combined risk and flag line
are applied as they are. Both are scored on the same cases; intervals come from a bootstrap over lesions
(AUC and every paired difference) or Wilson's interval (sensitivity, specificity).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from trainer.bundle.adapter import PENALTIES, fit_adapter, sigmoid
from trainer.bundle.calibration import calibrate_p_positive, fit_calibration, threshold_for_sensitivity
from trainer.bundle.combine import combine, fit_member_weights

FOLDS = 5
INNER_FOLDS = 3
N_BOOT = 1000
PENALTY_TOLERANCE = 0.005  # the strongest penalty whose inner AUC is within this of the best is chosen


class AdaptationCancelled(Exception):
    """The clinician cancelled; nothing was changed."""


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half); nan with one class."""
    from scipy.stats import rankdata

    y = np.asarray(y, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def grouped_folds(y: np.ndarray, groups: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold number per case: no group in two folds, diagnoses spread evenly (fewer folds when a class is rare)."""
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(y, dtype=bool)
    k = max(2, min(k, int(y.sum()), int((~y).sum())))
    fold = np.empty(len(y), dtype=int)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for i, (_, test) in enumerate(splitter.split(np.zeros(len(y)), y.astype(int), groups)):
        fold[test] = i
    return fold


def choose_penalty(z: np.ndarray, e: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int,
                   penalties=PENALTIES, replay: tuple | None = None) -> tuple[float, dict]:
    """The adapter's penalty by grouped cross-validation on these cases alone: the strongest one whose
    out-of-fold AUC is within PENALTY_TOLERANCE of the best. Returns (penalty, {penalty: AUC})."""
    fold = grouped_folds(y, groups, INNER_FOLDS, seed + 1)
    scores = {}
    for penalty in penalties:
        oof = np.empty(len(y))
        for k in np.unique(fold):
            train, test = fold != k, fold == k
            oof[test] = fit_adapter(z[train], e[train], y[train], penalty, replay).logit(z[test], e[test])
        scores[penalty] = auc(y, oof)
    best = max(scores.values())
    chosen = next(p for p in penalties if scores[p] >= best - PENALTY_TOLERANCE)
    return chosen, scores


@dataclass
class Combination:
    """Member weights, the combined risk's calibration and its flag line, fitted on out-of-fold predictions."""

    weights: dict
    calibration: dict
    threshold: float

    def risk(self, p_by_member: dict) -> np.ndarray:
        return calibrate_p_positive(np.asarray(combine(p_by_member, self.weights), dtype=float), self.calibration)


def fit_combination(p_by_member: dict, y: np.ndarray, target: float) -> Combination:
    weights = fit_member_weights(p_by_member, y)["weights"] if len(p_by_member) > 1 else None
    mean = np.asarray(combine(p_by_member, weights), dtype=float)
    calibration = fit_calibration(np.stack([1 - mean, mean], axis=1), y.astype(int), "logistic", positive_index=1,
                                  balanced=True)
    calibration["fitted_on"] = "the clinic's confirmed cases (out-of-fold predictions of the adapted models)"
    calibration["prevalence"] = "equal (classes weighted equally, as the shipped calibration)"
    line = threshold_for_sensitivity(calibrate_p_positive(mean, calibration), y, target)
    return Combination(weights, calibration, float(line))


@dataclass
class AdaptationFit:
    """What ``fit_adaptation`` returns: the adapters fitted on every case, the combination, each model's flag
    line, and the out-of-fold predictions the evidence is measured on."""

    adapters: dict  # name -> Adapter
    thresholds: dict  # name -> the adapted model's own flag line
    combination: Combination
    oof_p: dict  # name -> out-of-fold adapted P(melanoma) per case
    oof_risk: np.ndarray  # the combined risk, each part judged by a combination fitted without it
    oof_flagged: np.ndarray
    penalties: dict  # name -> chosen penalty (on every case)
    folds: int
    log: list = field(default_factory=list)


def fit_adaptation(embeddings: dict, base_logits: dict, y: np.ndarray, groups: np.ndarray, target: float = 0.95,
                   seed: int = 0, should_stop: Callable[[], bool] = lambda: False,
                   on_progress: Callable[[str, float], None] = lambda text, fraction: None,
                   replay: dict | None = None) -> AdaptationFit:
    """``embeddings`` and ``base_logits``: model name -> (n, d) and (n,) arrays of the same cases; ``y``: is
    melanoma; ``groups``: the lesion (or patient) of each case. ``replay``: model name -> (base logits,
    embeddings, is_positive) of public cases fitted alongside (an experiment; not used by the app).
    Raises AdaptationCancelled."""
    replay = replay or {}
    y, groups = np.asarray(y, dtype=bool), np.asarray(groups)
    names = list(embeddings)
    fold = grouped_folds(y, groups, FOLDS, seed)
    parts = np.unique(fold)
    steps, done = len(parts) * len(names) + len(names) + 1, 0
    oof_p = {name: np.empty(len(y)) for name in names}
    log = []

    def tick(text):
        nonlocal done
        if should_stop():
            raise AdaptationCancelled("adaptation cancelled; the active models are unchanged")
        done += 1
        on_progress(text, done / steps)

    for k in parts:
        train, test = fold != k, fold == k
        for name in names:
            z, e = base_logits[name], embeddings[name]
            penalty, _ = choose_penalty(z[train], e[train], y[train], groups[train], seed, replay=replay.get(name))
            adapter = fit_adapter(z[train], e[train], y[train], penalty, replay.get(name))
            oof_p[name][test] = sigmoid(adapter.logit(z[test], e[test]))
            log.append({"fold": int(k), "model": name, "penalty": penalty})
            tick(f"cross-validation: part {k + 1} of {len(parts)}, {name}")
    oof_risk, oof_flagged = np.empty(len(y)), np.zeros(len(y), dtype=bool)
    for k in parts:
        train, test = fold != k, fold == k
        combination = fit_combination({n: oof_p[n][train] for n in names}, y[train], target)
        oof_risk[test] = combination.risk({n: oof_p[n][test] for n in names})
        oof_flagged[test] = oof_risk[test] >= combination.threshold
    adapters, penalties = {}, {}
    for name in names:
        z, e = base_logits[name], embeddings[name]
        penalties[name], _ = choose_penalty(z, e, y, groups, seed, replay=replay.get(name))
        adapters[name] = fit_adapter(z, e, y, penalties[name], replay.get(name))
        tick(f"fitting {name} on every confirmed case")
    thresholds = {name: threshold_for_sensitivity(oof_p[name], y, target) for name in names}
    combination = fit_combination(oof_p, y, target)
    tick("combining the models")
    return AdaptationFit(adapters, thresholds, combination, oof_p, oof_risk, oof_flagged, penalties, len(parts), log)


def adapter_predictions(adapters: dict, embeddings: dict, base_logits: dict) -> dict:
    """Each adapted model's P(melanoma) on these cases."""
    return {n: sigmoid(a.logit(base_logits[n], embeddings[n])) for n, a in adapters.items()}


def _bootstrap(groups: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray], n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, k) statistics of case sets resampled by group (lesion or patient) with replacement."""
    rng = np.random.default_rng(seed)
    unique, inverse = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(len(unique))]
    out = []
    for _ in range(n_boot):
        picked = rng.integers(0, len(unique), len(unique))
        out.append(statistic(np.concatenate([members[g] for g in picked])))
    return np.asarray(out, dtype=float)


def interval(samples: np.ndarray) -> list[float]:
    finite = samples[np.isfinite(samples)]
    return [float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5))] if len(finite) else [np.nan] * 2


def compare(y, groups, active: dict, adapted: dict, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """The evidence, both sides on the same cases. ``active`` / ``adapted``: {"risk": combined risk per case,
    "flagged": per case, "flag_line": float or None, "models": {name: P(melanoma) per case}}."""
    from trainer.evaluation.metrics import wilson

    y, groups = np.asarray(y, dtype=bool), np.asarray(groups)
    names = [n for n in active["models"] if n in adapted["models"]]

    def side(s) -> dict:
        flagged = np.asarray(s["flagged"], dtype=bool)
        caught, cleared = int((flagged & y).sum()), int((~flagged & ~y).sum())
        n_mel, n_ben = int(y.sum()), int((~y).sum())
        return {"auc": auc(y, s["risk"]), "flag_line": s.get("flag_line"),
                "sensitivity": caught / n_mel, "sensitivity_ci": list(wilson(caught, n_mel)), "caught": caught,
                "specificity": cleared / n_ben, "specificity_ci": list(wilson(cleared, n_ben)), "cleared": cleared,
                "models": {n: {"auc": auc(y, s["models"][n])} for n in names}}

    before, after = side(active), side(adapted)

    def statistic(idx):
        yy = y[idx]
        values = [auc(yy, active["risk"][idx]), auc(yy, adapted["risk"][idx])]
        for s in (active, adapted):
            f = np.asarray(s["flagged"], dtype=bool)[idx]
            values += [f[yy].mean() if yy.any() else np.nan, (~f[~yy]).mean() if (~yy).any() else np.nan]
        values += [v for n in names for v in (auc(yy, active["models"][n][idx]), auc(yy, adapted["models"][n][idx]))]
        return np.asarray(values)

    boot = _bootstrap(groups, statistic, n_boot, seed)
    before["auc_ci"], after["auc_ci"] = interval(boot[:, 0]), interval(boot[:, 1])
    for i, n in enumerate(names):
        before["models"][n]["auc_ci"] = interval(boot[:, 6 + 2 * i])
        after["models"][n]["auc_ci"] = interval(boot[:, 7 + 2 * i])
    difference = {
        "auc": after["auc"] - before["auc"], "auc_ci": interval(boot[:, 1] - boot[:, 0]),
        "sensitivity": after["sensitivity"] - before["sensitivity"], "sensitivity_ci": interval(boot[:, 4] - boot[:, 2]),
        "specificity": after["specificity"] - before["specificity"], "specificity_ci": interval(boot[:, 5] - boot[:, 3]),
        "models": {n: {"auc": after["models"][n]["auc"] - before["models"][n]["auc"],
                       "auc_ci": interval(boot[:, 7 + 2 * i] - boot[:, 6 + 2 * i])} for i, n in enumerate(names)},
    }
    return {"active": before, "adapted": after, "difference": difference,
            "cases": {"melanomas": int(y.sum()), "benign": int((~y).sum()), "lesions": int(len(np.unique(groups)))},
            "bootstrap": {"resamples": n_boot, "by": "lesion (or patient) groups"}}


def not_worse(evidence: dict) -> bool:
    """Adoption is offered only when the adapted combination ranks the clinic's cases at least as well as the
    active one (paired AUC difference >= 0) and still catches the target share of melanomas it was set for
    no worse than the lower end of the active models' interval."""
    d = evidence["difference"]
    return bool(d["auc"] >= 0 and evidence["adapted"]["sensitivity"] >= evidence["active"]["sensitivity_ci"][0])
