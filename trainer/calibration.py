"""Temperature scaling and the choice of an operating point, both fitted on validation data only."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar



def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax(log p / T): temperature scaling applied to a model's softmax output."""
    if temperature == 1.0:
        return np.asarray(probabilities, dtype="float64")
    logits = np.log(np.clip(np.asarray(probabilities, dtype="float64"), 1e-300, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def _nll(probabilities: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> float:
    p = np.clip(probabilities[np.arange(len(labels)), labels], 1e-300, 1.0)
    return float(np.average(-np.log(p), weights=weights))


def balanced_weights(labels: np.ndarray) -> np.ndarray:
    """Per-sample weights n / (k * count of its class): every class counts equally."""
    labels = np.asarray(labels, dtype=int)
    counts = np.bincount(labels)
    present = int(np.sum(counts > 0))
    return np.array([len(labels) / (present * counts[y]) for y in labels], dtype=float)


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray, bounds=(0.05, 20.0),
                    balanced: bool = False) -> float:
    """The temperature T > 0 minimising the negative log-likelihood of softmax(log p / T).

    ``balanced`` weighs the classes equally, as in training with balanced class weights: the
    probabilities are then calibrated for equal class prevalence, not for the validation split's mix.
    """
    labels = np.asarray(labels, dtype=int)
    if len(labels) == 0 or len(np.unique(labels)) < 2:
        return 1.0
    weights = balanced_weights(labels) if balanced else None
    result = minimize_scalar(lambda log_t: _nll(apply_temperature(probabilities, float(np.exp(log_t))), labels,
                                                weights),
                             bounds=tuple(np.log(bounds)), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))


def threshold_for_sensitivity(p_positive: np.ndarray, is_positive: np.ndarray, target: float = 0.95) -> float:
    """The highest threshold on P(positive) whose sensitivity on these cases is >= ``target``.

    The highest such threshold gives the best specificity at that sensitivity. Returns 0.5 when
    there are no positive cases to choose from.
    """
    p_positive = np.asarray(p_positive, dtype=float)
    positives = np.sort(p_positive[np.asarray(is_positive, dtype=bool)])
    if len(positives) == 0:
        return 0.5
    allowed_misses = int(np.floor((1.0 - target) * len(positives) + 1e-9))
    # Cases at or above the threshold count as positive: the (allowed_misses)-th smallest positive
    # score is the highest threshold that still keeps all but allowed_misses of them.
    return float(positives[allowed_misses])
