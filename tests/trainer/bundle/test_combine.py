"""Member weights: fitted on validation, a member that does not raise validation AUC gets none."""

import numpy as np
import pytest

from trainer.bundle.combine import combine, fit_member_weights, member_weights


def test_a_useless_member_gets_no_weight():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    good = np.clip(0.5 * y + rng.normal(0.25, 0.2, 400), 0, 1)
    also_good = np.clip(0.5 * y + rng.normal(0.25, 0.25, 400), 0, 1)
    noise = rng.uniform(0, 1, 400)
    fitted = fit_member_weights({"cnn": noise, "vgg16": good, "mobilenetv2": also_good}, y)
    assert fitted["weights"]["cnn"] == 0 and "cnn" in fitted["dropped"]
    assert fitted["weights"]["vgg16"] > 0 and abs(sum(fitted["weights"].values()) - 1) < 1e-6
    assert fitted["val_auc"] >= fitted["val_auc_equal"]
    assert fitted["val_auc"] >= max(fitted["member_val_auc"].values()) - 1e-12


def test_every_kept_member_raises_validation_auc():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    p = {n: np.clip(s * y + rng.normal(0.3, 0.25, 300), 0, 1) for n, s in (("a", 0.4), ("b", 0.3), ("c", 0.05))}
    w = fit_member_weights(p, y)["weights"]
    full = roc_auc_score(y, combine(p, w))
    for name in [n for n, v in w.items() if v > 0 and sum(x > 0 for x in w.values()) > 1]:
        without = dict(w, **{name: 0.0})
        assert roc_auc_score(y, combine(p, without)) < full


def test_a_rule_without_weights_is_the_plain_mean():
    assert member_weights(None, ["a", "b"]) == {"a": 0.5, "b": 0.5}
    assert combine({"a": 0.2, "b": 0.6}) == pytest.approx(0.4)
    assert combine({"a": 0.2, "b": 0.6}, {"a": 1.0, "b": 0.0}) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="no member any weight"):
        combine({"a": 0.2}, {"a": 0.0})
