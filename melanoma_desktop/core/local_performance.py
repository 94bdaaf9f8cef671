"""How the models do on the clinic's own confirmed cases, and the clinic's own flag line.

``evaluate_local`` reads the saved cases that have a confirmed diagnosis (benign or melanoma; "other
malignant" is counted apart) and scores the combined risk, under a given rule, and each model: cases and
melanomas, AUC, sensitivity and specificity at the flag line with 95 % intervals, a calibration curve
(predicted risk against the observed melanoma rate) and the melanomas the flag missed. No retraining;
it runs in seconds.

``fit_site_rule`` makes the clinic's flag line from those cases: the combined risk's calibration refitted
on them (at the clinic's own mix of melanomas) and the highest flag line that keeps the target
sensitivity. Its expected sensitivity and specificity are cross-validated over the cases (each fifth
scored by a line chosen on the other four fifths), so they do not flatter the line with the cases it
was chosen on. Too few cases are refused with the counts.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import numpy as np

from trainer.bundle.calibration import calibrate_p_positive, fit_calibration, threshold_for_sensitivity
from trainer.bundle.cards import validate_calibration
from trainer.bundle.combine import combine
from trainer.bundle.ensemble_rule import EnsembleRule
from trainer.bundle.site_rule import SITE_RULE_KIND
from trainer.errors import BundleError

MIN_MELANOMAS, MIN_BENIGN = 20, 50
DEFAULT_TARGET = 0.95
CALIBRATION_BINS = 10


class SiteRuleRefused(ValueError):
    """Too few confirmed cases (or none read by these models) to set a flag line; the message gives the counts."""


def _members_mean(record, members: dict, rule: EnsembleRule | None = None) -> float | None:
    """The members' combination (``rule``'s weights; none: the mean) of P(melanoma) of a record read by exactly
    these model versions; None otherwise."""
    versions = {p.name: p.version for p in record.predictions}
    if not members or versions != members:
        return None
    return float(combine({p.name: p.p_malignant for p in record.predictions}, rule.weights if rule else None))


def confirmed_cases(records, members: dict, rule: EnsembleRule | None = None) -> tuple[list, np.ndarray, np.ndarray, dict]:
    """The records usable for a melanoma-vs-benign score under ``members``: (records, members' combination under
    ``rule``'s weights, is_melanoma, counts of what was left out and why)."""
    kept, means, labels = [], [], []
    left_out = {"other malignant": 0, "read by other model versions": 0, "cannot be assessed": 0}
    for r in records:
        if r.confirmed_label not in ("benign", "melanoma", "other malignant"):
            continue
        if r.confirmed_label == "other malignant":
            left_out["other malignant"] += 1
            continue
        if not r.assessable:
            left_out["cannot be assessed"] += 1
            continue
        mean = _members_mean(r, members, rule)
        if mean is None:
            left_out["read by other model versions"] += 1
            continue
        kept.append(r)
        means.append(mean)
        labels.append(r.confirmed_label == "melanoma")
    return kept, np.asarray(means, dtype=float), np.asarray(labels, dtype=bool), left_out


@dataclass
class ScoreOnCases:
    """One score (the combined risk, or one model) on the confirmed cases, at its flag line."""

    name: str
    n: int
    melanomas: int
    auc: float
    auc_ci: tuple[float, float]
    flag_line: float
    caught: int
    sensitivity: float
    sensitivity_ci: tuple[float, float]
    flagged_benign: int
    specificity: float
    specificity_ci: tuple[float, float]
    calibration_curve: list[dict] = field(default_factory=list)  # {"predicted", "observed", "n"} per bin

    @property
    def benign(self) -> int:
        return self.n - self.melanomas


def score_on_cases(name: str, p: np.ndarray, is_melanoma: np.ndarray, flag_line: float, n_boot: int = 500) -> ScoreOnCases:
    from trainer.evaluation.metrics import bootstrap_auc, wilson

    p, y = np.asarray(p, dtype=float), np.asarray(is_melanoma, dtype=bool)
    flagged = p >= flag_line
    n_mel, n_ben = int(y.sum()), int((~y).sum())
    caught, flagged_benign = int((flagged & y).sum()), int((flagged & ~y).sum())
    auc, ci = bootstrap_auc(y.astype(int), p, n_boot=n_boot)
    curve = []
    bins = np.minimum((p * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    for b in range(CALIBRATION_BINS):
        mask = bins == b
        if mask.any():
            curve.append({"predicted": float(p[mask].mean()), "observed": float(y[mask].mean()), "n": int(mask.sum())})
    return ScoreOnCases(name, len(y), n_mel, float(auc), tuple(ci), float(flag_line), caught,
                        caught / n_mel if n_mel else math.nan, wilson(caught, n_mel), flagged_benign,
                        (n_ben - flagged_benign) / n_ben if n_ben else math.nan, wilson(n_ben - flagged_benign, n_ben),
                        curve)


@dataclass
class LocalPerformance:
    rule: str  # which flag line: "shipped" or the site rule's version
    combined: ScoreOnCases | None
    models: list[ScoreOnCases]
    missed: list[dict]  # melanomas below the flag line: {"case_id", "file", "risk"}
    left_out: dict
    target: float = DEFAULT_TARGET
    confirmed_total: int = 0

    @property
    def warning(self) -> str:
        c = self.combined
        if c is None or not c.melanomas:
            return ""
        if c.sensitivity_ci[0] < self.target:
            return (f"The flag may catch fewer than {self.target:.0%} of melanomas here: on these cases the lower end "
                    f"of its range is {c.sensitivity_ci[0]:.0%}.")
        return ""

    def verdict(self) -> str:
        c = self.combined
        if c is None or c.n == 0:
            left = ", ".join(f"{n} {why}" for why, n in self.left_out.items() if n)
            return (f"None of the {self.confirmed_total} confirmed cases can be scored"
                    + (f" ({left})" if left else "") + ": confirm diagnoses (benign or melanoma) of assessable cases "
                    "read by the installed model versions.")
        lo, hi = c.sensitivity_ci
        text = (f"On your {c.n} confirmed cases the flag caught {c.caught} of {c.melanomas} melanomas "
                f"({c.sensitivity:.0%}, {lo:.0%}–{hi:.0%}) and also flagged {c.flagged_benign} of {c.benign} "
                f"benign lesions.")
        return text

    def to_json(self) -> dict:
        out = asdict(self)
        out["verdict"], out["warning"] = self.verdict(), self.warning
        return out


def evaluate_local(records, rule: EnsembleRule, target: float = DEFAULT_TARGET) -> LocalPerformance:
    """The combined risk under ``rule`` (members, calibration, threshold) and each model, on the confirmed cases."""
    members = dict(rule.members)
    confirmed_total = sum(r.confirmed_label is not None for r in records)
    kept, means, y, left_out = confirmed_cases(records, members, rule)
    rule_name = rule.site_version or "shipped"
    if not kept:
        return LocalPerformance(rule_name, None, [], [], left_out, target, confirmed_total)
    risk = calibrate_p_positive(means, rule.calibration)
    combined = score_on_cases("combined risk", risk, y, float(rule.threshold))
    per_model = []
    for name in members:
        p = np.array([next(q.p_malignant for q in r.predictions if q.name == name) for r in kept])
        line = next(q.threshold for q in kept[0].predictions if q.name == name)
        per_model.append(score_on_cases(name, p, y, line))
    missed = [{"case_id": r.id, "file": r.file_name, "risk": float(v)}
              for r, v, mel in zip(kept, risk, y) if mel and v < float(rule.threshold)]
    return LocalPerformance(rule_name, combined, per_model, sorted(missed, key=lambda m: m["risk"]), left_out, target,
                            confirmed_total)


def _refit(means: np.ndarray, y: np.ndarray, target: float) -> tuple[dict, float]:
    two = np.stack([1.0 - means, means], axis=1)
    # classes weighted equally, as the shipped calibration: the clinic's risk stays on the scale the screens use
    calibration = fit_calibration(two, y.astype(int), "logistic", positive_index=1, balanced=True)
    calibration["fitted_on"] = "the clinic's confirmed cases"
    calibration["prevalence"] = "equal (classes weighted equally, as the shipped calibration)"
    line = threshold_for_sensitivity(calibrate_p_positive(means, calibration), y, target)
    return calibration, line


def _cross_validated(means: np.ndarray, y: np.ndarray, target: float, folds: int = 5, seed: int = 0):
    """Each case flagged or not by a line fitted on the other folds (stratified by diagnosis)."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=int)
    for cls in (True, False):
        idx = np.flatnonzero(y == cls)
        fold[rng.permutation(idx)] = np.arange(len(idx)) % folds
    flagged = np.zeros(len(y), dtype=bool)
    for k in range(folds):
        train, test = fold != k, fold == k
        calibration, line = _refit(means[train], y[train], target)
        flagged[test] = calibrate_p_positive(means[test], calibration) >= line
    return flagged


def fit_site_rule(records, base_rule: EnsembleRule, target: float = DEFAULT_TARGET, min_melanomas: int = MIN_MELANOMAS,
                  min_benign: int = MIN_BENIGN, note: str = "") -> EnsembleRule:
    """The clinic's flag line from its confirmed cases, as a rule the app applies like the shipped ensemble's:
    the base rule's members and weights, a refitted calibration and threshold, and ``site_rule`` (version,
    date, cases, target, expected, ...)."""
    from trainer.evaluation.metrics import wilson

    if not 0.5 <= target < 1.0:
        raise SiteRuleRefused(f"target sensitivity {target} must be between 0.5 and 1 (e.g. 0.95)")
    members = dict(base_rule.members)
    kept, means, y, left_out = confirmed_cases(records, members, base_rule)
    n_mel, n_ben = int(y.sum()), int((~y).sum())
    if n_mel < min_melanomas or n_ben < min_benign:
        raise SiteRuleRefused(
            f"too few confirmed cases read by the installed models: {n_mel} melanomas and {n_ben} benign lesions; "
            f"a flag line needs at least {min_melanomas} melanomas and {min_benign} benign lesions"
            + (f" (left out: {', '.join(f'{v} {k}' for k, v in left_out.items() if v)})" if any(left_out.values())
               else ""))
    calibration, line = _refit(means, y, target)
    flagged = _cross_validated(means, y, target)
    caught, cleared = int((flagged & y).sum()), int((~flagged & ~y).sum())
    created = datetime.now(timezone.utc)
    version = f"site-{created:%Y%m%d-%H%M%S}-{n_mel}m{n_ben}b"
    return EnsembleRule.from_dict({
        "members": dict(members), **({"weights": dict(base_rule.weights)} if base_rule.weights else {}),
        "calibration": calibration, "threshold": round(float(line), 9),
        "threshold_rule": f"highest flag line keeping {target:.0%} of the clinic's {n_mel} confirmed melanomas",
        "site_rule": {
            "kind": SITE_RULE_KIND, "version": version, "created_at": created.isoformat(timespec="seconds"),
            "target_sensitivity": target, "cases": {"melanomas": n_mel, "benign": n_ben, "left_out": left_out},
            "expected": {"sensitivity": caught / n_mel, "sensitivity_ci": list(wilson(caught, n_mel)),
                         "specificity": cleared / n_ben, "specificity_ci": list(wilson(cleared, n_ben)),
                         "how": "5-fold cross-validation over the confirmed cases"},
            "base_rule": {"threshold": base_rule.threshold, "calibration": base_rule.calibration},
            "note": note,
        },
    }, "the clinic's flag line")


def expected_sentence(rule: EnsembleRule) -> str:
    info = rule.site_rule
    e, n_mel, n_ben = info.expected, info.melanomas, info.benign
    return (f"From your {n_mel} confirmed melanomas and {n_ben} benign lesions: a flag line at risk "
            f"{rule.threshold:.0%} would have caught about {round(e.sensitivity * n_mel)} of the {n_mel} melanomas "
            f"({e.sensitivity:.0%}, {e.sensitivity_ci[0]:.0%}–{e.sensitivity_ci[1]:.0%}) and flagged about "
            f"{round((1 - e.specificity) * n_ben)} of the {n_ben} benign lesions (cleared {e.specificity:.0%}, "
            f"{e.specificity_ci[0]:.0%}–{e.specificity_ci[1]:.0%}), each case judged by a line set without it. "
            f"Target: {info.target_sensitivity:.0%} of melanomas.")


def misses_target(rule: EnsembleRule) -> bool:
    return rule.site_rule.misses_target


def validate_site_rule(rule: dict, where: str = "site rule") -> EnsembleRule:
    """A site-rule file's content (as exported or shared), checked; raise SiteRuleRefused saying what is wrong."""
    if not isinstance(rule, dict) or not isinstance(rule.get("site_rule"), dict):
        raise SiteRuleRefused(f"{where} is not a clinic flag line (no 'site_rule' entry)")
    if rule["site_rule"].get("kind") != SITE_RULE_KIND or not rule["site_rule"].get("version"):
        raise SiteRuleRefused(f"{where}: unknown kind {rule['site_rule'].get('kind')!r} or no version")
    if not isinstance(rule.get("members"), dict) or not rule["members"]:
        raise SiteRuleRefused(f"{where}: no model versions ('members')")
    threshold = rule.get("threshold")
    if not isinstance(threshold, (int, float)) or not 0.0 < float(threshold) < 1.0:
        raise SiteRuleRefused(f"{where}: flag line {threshold!r} is not a number between 0 and 1")
    calibration = rule.get("calibration") or {}
    if not isinstance(calibration, dict):
        raise SiteRuleRefused(f"{where}: 'calibration' must be an object, got {calibration!r}")
    try:
        validate_calibration(calibration, 2, where)
        return EnsembleRule.from_dict(rule, where)
    except BundleError as exc:
        raise SiteRuleRefused(str(exc)) from None
