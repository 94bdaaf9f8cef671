import numpy as np
import pytest

from trainer.bundle.calibration import apply_temperature, fit_temperature, threshold_for_sensitivity
from trainer.evaluation.metrics import expected_calibration_error


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

    from trainer.bundle.calibration import balanced_weights, fit_temperature

    rng = np.random.default_rng(0)
    labels = np.array([0] * 900 + [1] * 100)
    p1 = np.clip(np.where(labels == 1, rng.beta(5, 2, 1000), rng.beta(2, 3, 1000)), 1e-3, 1 - 1e-3)
    probs = np.stack([1 - p1, p1], axis=1)
    assert np.allclose(np.bincount(labels, weights=balanced_weights(labels)), [500, 500])
    assert abs(fit_temperature(probs, labels, balanced=True) - fit_temperature(probs, labels)) > 0.05
    even = np.array([0, 1] * 200)
    assert fit_temperature(probs[:400], even, balanced=True) == fit_temperature(probs[:400], even)


def _shifted(n=4000, seed=1):
    """Scores 2x overconfident and shifted towards benign by 1.5 logits (as after training on another mix)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    logit = (2 * y - 1) + rng.normal(0, 1.3, n)
    p = 1 / (1 + np.exp(-(2 * logit - 1.5)))
    return np.stack([1 - p, p], axis=1), y


def test_logistic_calibration_recovers_slope_and_intercept_where_a_temperature_cannot():
    from trainer.bundle.calibration import apply_calibration, fit_calibration, model_half_point, uncalibrated_p

    probs, y = _shifted()
    logistic = fit_calibration(probs, y, "logistic")
    # true log-odds given x ~ N(+-1, 1.3^2): 2x / 1.3^2; the score is 2x - 1.5
    k = 2 / 1.3 ** 2
    assert logistic["slope"] == pytest.approx(k / 2, abs=0.05) and logistic["intercept"] == pytest.approx(0.75 * k, abs=0.1)
    temperature = fit_calibration(probs, y, "temperature")
    ece = {c["method"]: expected_calibration_error(y, apply_calibration(probs, c)[:, 1]) for c in (logistic, temperature)}
    assert ece["logistic"] < 0.03 < ece["temperature"]
    calibrated = apply_calibration(probs, logistic)
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0)
    assert np.array_equal(np.argsort(probs[:, 1], kind="stable"), np.argsort(calibrated[:, 1], kind="stable"))
    np.testing.assert_allclose(uncalibrated_p(calibrated[:, 1], logistic), probs[:, 1], atol=1e-9)
    np.testing.assert_allclose(uncalibrated_p(apply_calibration(probs, temperature)[:, 1], temperature), probs[:, 1],
                               atol=1e-9)
    # the model's own 0.5 on the calibrated scale: the same decisions as the raw argmax
    half = model_half_point(logistic)
    assert np.array_equal(calibrated[:, 1] >= half, probs[:, 1] >= 0.5)
    assert model_half_point(temperature) == 0.5


def test_logistic_calibration_follows_the_positive_column_and_refuses_more_classes():
    from trainer.bundle.calibration import apply_calibration, fit_calibration

    probs, y = _shifted(1000)
    swapped = fit_calibration(probs[:, ::-1], 1 - y, "logistic", positive_index=0)
    straight = fit_calibration(probs, y, "logistic")
    assert swapped["slope"] == pytest.approx(straight["slope"], rel=1e-3)
    np.testing.assert_allclose(apply_calibration(probs[:, ::-1], swapped)[:, 0], apply_calibration(probs, straight)[:, 1],
                               atol=1e-4)
    with pytest.raises(ValueError, match="two classes"):
        fit_calibration(np.full((4, 3), 1 / 3), np.array([0, 1, 2, 0]), "logistic")
    with pytest.raises(ValueError, match="unknown calibration method 'isotonic'"):
        fit_calibration(probs, y, "isotonic")


def test_logistic_calibration_keeps_the_ranking_when_validation_says_nothing():
    from trainer.bundle.calibration import apply_calibration, fit_calibration

    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    noise = fit_calibration(probs, np.array([1, 0, 1, 0]), "logistic")  # validation contradicts the scores
    assert noise["slope"] == pytest.approx(0.05)
    calibrated = apply_calibration(probs, noise)[:, 1]
    assert len(set(np.round(calibrated, 6))) == 4
