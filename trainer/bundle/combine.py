"""How the members' calibrated P(malignant) become one number, and how the member weights are chosen
(NumPy and scikit-learn only: the app imports it).

The combination is a weighted mean of the members' calibrated probabilities (the rule's ``weights``; a rule
without them, written before weights existed, is the plain mean). The weights are fitted on the validation
set: the weighted mean with the highest validation AUC on a grid over the simplex (steps of 0.1), ties going
to the weights nearest equal; then no member keeps weight if dropping it (the others' weights kept) gives
the same or a higher validation AUC. A member that does not raise validation AUC does not count.
"""

from __future__ import annotations

import itertools

import numpy as np

WEIGHT_STEP = 0.1
WEIGHTS_RULE = ("weighted mean of the members' calibrated P(malignant); weights with the highest validation AUC "
                "(grid of 0.1), a member kept only if it raises validation AUC")


def member_weights(weights, names) -> dict[str, float]:
    """The weight of each of ``names`` under a rule's ``weights`` (None or empty: equal weights)."""
    names = list(names)
    if not weights:
        return {n: 1.0 / len(names) for n in names} if names else {}
    return {n: float(weights.get(n, 0.0)) for n in names}


def combine(p_by_member, weights=None):
    """The weighted mean of the members' P(malignant) (floats or arrays, one per member name) under a rule's
    ``weights`` (None: the plain mean)."""
    weights = member_weights(weights, p_by_member)
    total = sum(weights.values())
    if total <= 0:
        raise ValueError(f"the combination rule gives no member any weight ({weights}); refit the ensemble")
    return sum(w * np.asarray(p_by_member[n], dtype=float) for n, w in weights.items()) / total


def _auc(y, p) -> float:
    from sklearn.metrics import roc_auc_score  # fitting only: applying a rule needs NumPy alone

    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")


def _grid(n: int, step: float):
    units = int(round(1 / step))
    for combo in itertools.product(range(units + 1), repeat=n - 1):
        if sum(combo) <= units:
            yield np.array([*combo, units - sum(combo)], dtype=float) / units


def fit_member_weights(p_val: dict[str, np.ndarray], y_val, step: float = WEIGHT_STEP) -> dict:
    """Weights for the members from their validation P(malignant); see the module docstring.

    Returns ``{"weights": {name: w}, "val_auc": combined, "val_auc_equal": plain mean,
    "member_val_auc": {name: auc}, "dropped": [names that did not raise validation AUC]}``."""
    names = list(p_val)
    y = np.asarray(y_val)
    stack = np.stack([np.asarray(p_val[n], dtype=float) for n in names], axis=1)
    equal = np.full(len(names), 1.0 / len(names))
    best, best_auc = equal, _auc(y, stack @ equal)
    for w in _grid(len(names), step):
        auc = _auc(y, stack @ w)
        closer = np.sum((w - equal) ** 2) < np.sum((best - equal) ** 2)
        if auc > best_auc + 1e-12 or (abs(auc - best_auc) <= 1e-12 and closer):
            best, best_auc = w, auc
    dropped = []
    changed = True
    while changed and np.count_nonzero(best) > 1:
        changed = False
        for i in np.flatnonzero(best):
            without = best.copy()
            without[i] = 0.0
            if _auc(y, stack @ without) >= best_auc:
                best, best_auc, changed = without / without.sum(), _auc(y, stack @ without), True
                dropped.append(names[i])
                break
    weights = {n: round(float(w), 4) for n, w in zip(names, best)}
    dropped += [n for n, w in weights.items() if w == 0 and n not in dropped]
    return {"weights": weights, "val_auc": best_auc, "val_auc_equal": _auc(y, stack @ equal),
            "member_val_auc": {n: _auc(y, stack[:, i]) for i, n in enumerate(names)}, "dropped": dropped}
