"""Calibration (temperature scaling, or logistic: a slope and an intercept on the model's logit) and the
choice of an operating point, both fitted on validation data only.

A card's ``calibration`` entry says which: ``{"method": "temperature", "temperature": T}`` or
``{"method": "logistic", "slope": a, "intercept": b, "positive_index": i}`` (two classes only): calibrated
P(positive) = sigmoid(a * z + b), z the model's logit log(p_positive / p_other). Temperature scaling is the
case b = 0; the intercept also corrects a shift of the model's scores (e.g. after training on a source with
another melanoma prevalence), which one temperature cannot.
"""

from __future__ import annotations

import numpy as np

CALIBRATION_METHODS = ("temperature", "logistic")


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
    from scipy.optimize import minimize_scalar  # fitting only: applying a calibration needs NumPy alone

    result = minimize_scalar(lambda log_t: _nll(apply_temperature(probabilities, float(np.exp(log_t))), labels,
                                                weights),
                             bounds=tuple(np.log(bounds)), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype="float64"), 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype="float64")))


def _model_logit(probabilities: np.ndarray, positive_index: int) -> np.ndarray:
    probabilities = np.asarray(probabilities, dtype="float64")
    if probabilities.ndim != 2 or probabilities.shape[1] != 2:
        raise ValueError(f"logistic calibration needs two classes, got probabilities of shape {probabilities.shape}")
    clipped = np.clip(probabilities, 1e-300, 1.0)
    return np.log(clipped[:, positive_index]) - np.log(clipped[:, 1 - positive_index])


def fit_logistic(probabilities: np.ndarray, labels: np.ndarray, positive_index: int = 1,
                 balanced: bool = False, slope_bounds=(0.05, 20.0)) -> tuple[float, float]:
    """The slope a > 0 and intercept b minimising the negative log-likelihood of sigmoid(a * z + b) (Platt
    scaling on the model's logit z). ``balanced`` as in :func:`fit_temperature`. The slope stays within
    ``slope_bounds`` (a temperature's bounds, inverted): on validation data that says nothing, an unbounded
    fit flattens every probability to one value and the ranking is lost."""
    labels = np.asarray(labels, dtype=int)
    if len(labels) == 0 or len(np.unique(labels)) < 2:
        return 1.0, 0.0
    z = _model_logit(probabilities, positive_index)
    target = (labels == positive_index).astype("float64")
    weights = balanced_weights(labels) if balanced else np.ones(len(labels))

    def nll(params):
        s = np.exp(params[0]) * z + params[1]  # log-slope keeps the slope positive (a monotone calibration)
        return float(np.average(np.logaddexp(0.0, s) - target * s, weights=weights))

    bounds = [tuple(np.log(slope_bounds)), (-20.0, 20.0)]
    from scipy.optimize import minimize

    result = minimize(nll, x0=np.zeros(2), method="Nelder-Mead", bounds=bounds,
                      options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 2000})
    return float(np.exp(result.x[0])), float(result.x[1])


def fit_calibration(probabilities: np.ndarray, labels: np.ndarray, method: str = "temperature",
                    positive_index: int = 1, balanced: bool = False) -> dict:
    """The card's ``calibration`` parameters for ``method``, fitted on these (validation) probabilities."""
    if method == "temperature":
        return {"method": "temperature", "temperature": fit_temperature(probabilities, labels, balanced=balanced)}
    if method == "logistic":
        slope, intercept = fit_logistic(probabilities, labels, positive_index, balanced=balanced)
        return {"method": "logistic", "slope": slope, "intercept": intercept, "positive_index": int(positive_index)}
    raise ValueError(f"unknown calibration method {method!r}; expected one of {', '.join(CALIBRATION_METHODS)}")


def apply_calibration(probabilities: np.ndarray, calibration: dict) -> np.ndarray:
    """A card's calibration applied to a model's softmax output (rows of class probabilities)."""
    method = calibration.get("method", "temperature")
    if method == "temperature":
        return apply_temperature(probabilities, float(calibration.get("temperature", 1.0)))
    if method == "logistic":
        pos = int(calibration.get("positive_index", 1))
        p = _sigmoid(float(calibration["slope"]) * _model_logit(probabilities, pos) + float(calibration["intercept"]))
        out = np.empty((len(p), 2))
        out[:, pos], out[:, 1 - pos] = p, 1.0 - p
        return out
    raise ValueError(f"unknown calibration method {method!r}; expected one of {', '.join(CALIBRATION_METHODS)}")


def calibrate_p_positive(p_positive, calibration: dict | None) -> np.ndarray:
    """A calibration applied to P(positive) of two classes (e.g. the ensemble's mean), positive at index 1;
    ``None`` (an ensemble rule written before it was calibrated) leaves it as it is."""
    p = np.atleast_1d(np.asarray(p_positive, dtype="float64"))
    if not calibration:
        return p
    return apply_calibration(np.stack([1.0 - p, p], axis=1), dict(calibration, positive_index=1))[:, 1]


def uncalibrated_p(p_positive: np.ndarray, calibration: dict) -> np.ndarray:
    """The model's own P(positive) (two classes) from a calibrated one: the inverse of apply_calibration."""
    z = _logit(p_positive)
    method = calibration.get("method", "temperature")
    if method == "temperature":
        return _sigmoid(z * float(calibration.get("temperature", 1.0)))
    if method == "logistic":
        return _sigmoid((z - float(calibration["intercept"])) / float(calibration["slope"]))
    raise ValueError(f"unknown calibration method {method!r}; expected one of {', '.join(CALIBRATION_METHODS)}")


def model_half_point(calibration: dict) -> float:
    """Where the model's own 0.5 (its argmax, as the paper scores it) lies on the calibrated P(positive)."""
    if calibration.get("method", "temperature") == "logistic":
        return float(_sigmoid(float(calibration["intercept"])))
    return 0.5


def describe_calibration(calibration: dict) -> str:
    """One line for people: which calibration, with its parameters."""
    method = calibration.get("method", "temperature")
    if method == "logistic":
        return f"logistic (slope {float(calibration['slope']):.2f}, intercept {float(calibration['intercept']):+.2f})"
    if method == "temperature":
        return f"temperature {float(calibration.get('temperature', 1.0)):.2f}"
    return str(method)


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
