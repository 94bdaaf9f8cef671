import numpy as np
import pytest

from trainer.calibration import apply_temperature, fit_temperature, threshold_for_sensitivity
from trainer.metrics import expected_calibration_error


def _overconfident(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    logit = (2 * y - 1) + rng.normal(0, 1.3, n)  # calibrated logits ...
    p = 1 / (1 + np.exp(-4 * logit))  # ... made 4x overconfident
    return np.stack([1 - p, p], axis=1), y


def test_temperature_recovers_overconfidence_and_lowers_ece():
    probs, y = _overconfident()
    t = fit_temperature(probs, y)
    assert 3.0 < t < 5.0
    before = expected_calibration_error(y, probs[:, 1])
    after = expected_calibration_error(y, apply_temperature(probs, t)[:, 1])
    assert after < before / 2 and after < 0.05


def test_temperature_keeps_ranking_and_identity():
    probs, _ = _overconfident(200)
    scaled = apply_temperature(probs, 2.5)
    assert np.array_equal(np.argsort(probs[:, 1]), np.argsort(scaled[:, 1]))
    np.testing.assert_allclose(apply_temperature(probs, 1.0), probs)
    assert fit_temperature(probs, np.zeros(200, int)) == 1.0  # one class: nothing to fit


@pytest.mark.parametrize("target", [0.9, 0.95, 1.0])
def test_threshold_meets_sensitivity_and_is_the_highest_that_does(target):
    probs, y = _overconfident(500, seed=3)
    t = threshold_for_sensitivity(probs[:, 1], y == 1, target)
    sens = (probs[y == 1, 1] >= t).mean()
    assert sens >= target
    higher = np.nextafter(t, 1.0)
    assert (probs[y == 1, 1] >= higher).mean() < target or t == probs[y == 1, 1].max()


def test_balanced_temperature_weighs_each_class_equally():
    import numpy as np

    from trainer.calibration import balanced_weights, fit_temperature

    rng = np.random.default_rng(0)
    labels = np.array([0] * 900 + [1] * 100)
    p1 = np.clip(np.where(labels == 1, rng.beta(5, 2, 1000), rng.beta(2, 3, 1000)), 1e-3, 1 - 1e-3)
    probs = np.stack([1 - p1, p1], axis=1)
    assert np.allclose(np.bincount(labels, weights=balanced_weights(labels)), [500, 500])
    assert abs(fit_temperature(probs, labels, balanced=True) - fit_temperature(probs, labels)) > 0.05
    even = np.array([0, 1] * 200)
    assert fit_temperature(probs[:400], even, balanced=True) == fit_temperature(probs[:400], even)
