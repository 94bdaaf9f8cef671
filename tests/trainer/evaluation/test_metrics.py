import json
import math

import numpy as np
import pytest

from trainer.evaluation.metrics import (
    OPERATING_POINT_KEYS,
    SUMMARY_KEYS,
    Metrics,
    bootstrap_auc,
    classification_report_text,
    evaluate_probabilities,
    expected_calibration_error,
    operating_point,
    wilson,
)


def test_wilson_known_values():
    lo, hi = wilson(84, 100)
    assert math.isclose(lo, 0.7558, abs_tol=1e-3) and math.isclose(hi, 0.8990, abs_tol=1e-3)
    assert all(math.isnan(v) for v in wilson(0, 0))
    assert math.isclose(wilson(10, 10)[1], 1.0)


def test_ece_zero_for_perfectly_calibrated_bins_and_large_for_overconfident():
    y = np.array([0] * 50 + [1] * 50)
    assert expected_calibration_error(y, np.full(100, 0.5)) < 1e-9
    assert expected_calibration_error(y, np.where(y == 1, 0.0, 1.0)) > 0.99


def test_evaluate_probabilities_counts_and_threshold():
    y = np.array([0, 0, 0, 1, 1, 1])
    p_mal = np.array([0.1, 0.4, 0.6, 0.3, 0.7, 0.9])
    probs = np.stack([1 - p_mal, p_mal], axis=1)
    m = evaluate_probabilities(y, probs, threshold=0.5, n_boot=200)
    assert m.confusion_matrix == [[2, 1], [1, 2]]
    assert math.isclose(m.accuracy, 4 / 6) and math.isclose(m.sensitivity, 2 / 3)
    assert m.per_class["malignant"].support == 3 and m.averages["macro"].recall == pytest.approx(2 / 3)
    low = evaluate_probabilities(y, probs, threshold=0.25, n_boot=200)
    assert low.sensitivity == 1.0 and low.specificity == 1 / 3
    assert "malignant" in classification_report_text(m) and "macro avg" in classification_report_text(m)


def test_metrics_keep_their_json_and_read_it_back():
    """metrics.json keeps the keys it always had, in their order; read back, the numbers are the same."""
    y = np.array([0, 0, 0, 1, 1, 1])
    p_mal = np.array([0.1, 0.4, 0.6, 0.3, 0.7, 0.9])
    m = evaluate_probabilities(y, np.stack([1 - p_mal, p_mal], axis=1), n_boot=50)
    data = json.loads(json.dumps(m.to_json()))
    assert list(data) == ["n", "threshold", "accuracy", "accuracy_ci", "sensitivity", "sensitivity_ci", "specificity",
                          "specificity_ci", "roc_auc", "roc_auc_ci", "ece", "confusion_matrix", "class_names",
                          "per_class", "averages", "roc_curve"]
    assert data["per_class"]["benign"] == {"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3}
    assert Metrics.from_json(data) == m
    assert classification_report_text(data) == m.report_text()  # a file read back prints the same table
    assert list(m.summary()) == list(SUMMARY_KEYS) and list(operating_point(data)) == list(OPERATING_POINT_KEYS)


def test_bootstrap_auc_interval_contains_estimate():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    score = y + rng.normal(0, 0.8, 200)
    auc, (lo, hi) = bootstrap_auc(y, score, n_boot=300)
    assert lo < auc < hi and 0.7 < auc < 0.95


def test_ece_noise_floor_shrinks_with_more_cases_and_matches_a_calibrated_model():
    import numpy as np

    from trainer.evaluation.metrics import ece_noise_floor, expected_calibration_error

    rng = np.random.default_rng(3)
    p_small, p_large = rng.uniform(0, 1, 240), rng.uniform(0, 1, 24000)
    small, large = ece_noise_floor(p_small, repeats=300), ece_noise_floor(p_large, repeats=30)
    assert 0.03 < small < 0.09 and large < small / 5
    # a model calibrated by construction lands near the floor; a miscalibrated one far above it
    y = rng.random(240) < p_small
    assert expected_calibration_error(y, p_small) < 3 * small
    assert expected_calibration_error(y, np.clip(p_small + 0.3, 0, 1)) > 3 * small


def test_the_bootstrap_equals_resampling_with_roc_auc_score_one_resample_at_a_time():
    """The counted Mann-Whitney form gives roc_auc_score's value on every resample (ties included)."""
    from sklearn.metrics import roc_auc_score

    from trainer.evaluation.metrics import bootstrap_auc

    rng = np.random.default_rng(3)
    y = (rng.random(120) < 0.25).astype(int)
    scores = np.round(rng.random(120) + 0.5 * y, 1)  # many ties
    draws, values = np.random.default_rng(11), []
    for _ in range(200):
        idx = draws.integers(0, 120, 120)
        if y[idx].min() != y[idx].max():
            values.append(roc_auc_score(y[idx], scores[idx]))
    auc, (lo, hi) = bootstrap_auc(y, scores, n_boot=200, seed=11)
    assert auc == roc_auc_score(y, scores)
    assert (lo, hi) == pytest.approx(tuple(np.percentile(values, [2.5, 97.5])), abs=1e-12)
