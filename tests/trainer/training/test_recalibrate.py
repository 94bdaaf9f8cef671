"""``recalibrate_run``: a finished run's calibration refitted from its stored predictions, no training."""

import csv
import json
import shutil

import numpy as np
import pytest

from trainer.bundle.io import load_bundle, read_card
from trainer.config import TrainConfig
from trainer.data.samples import Sample, decode_samples
from trainer.errors import ConfigError
from trainer.training.recalibrate import recalibrate_run
from trainer.training.train import run_training


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, random_backbones):
    from synthetic import write_labels_csv

    root = tmp_path_factory.mktemp("recal")
    data = write_labels_csv(root / "data", n_per_class=16, images_per_lesion=2)
    config = TrainConfig(data=str(data), out=str(root / "out"), models=("cnn",), protocol="full", epochs=2,
                         batch_size=8, backbones=str(random_backbones), allow_download=False, aug_copies=1)
    run_training(config)
    return root / "out"


def _rows(run, split=None):
    with open(run / "predictions.csv", newline="") as handle:
        return [r for r in csv.DictReader(handle) if split is None or r["split"] == split]


def test_logistic_recalibration_rewrites_cards_predictions_and_ensemble_consistently(finished_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    before = read_card(run / "cnn")
    model_bytes = (run / "cnn" / "model.keras").read_bytes()
    test_rows = _rows(run, "test")
    with open(run / "external_predictions.csv", "w", newline="") as handle:  # the benchmark's cache
        writer = csv.writer(handle)
        writer.writerow(["version", "path", "p_malignant"])
        writer.writerows([before.version, r["path"], r["p_malignant"]] for r in test_rows)
        writer.writerow(["cnn-an-older-version", test_rows[0]["path"], "0.5"])

    results = recalibrate_run(run, "logistic")

    card = read_card(run / "cnn")
    assert card.calibration["method"] == "logistic" and card.calibration["slope"] > 0
    assert card.version == before.version and (run / "cnn" / "model.keras").read_bytes() == model_bytes
    assert json.loads((run / "config.json").read_text())["calibration"] == "logistic"
    assert card.metrics["calibration"]["method"] == "logistic" and "cnn" in results
    assert json.loads((run / "cnn" / "metrics.json").read_text())["calibration"]["method"] == "logistic"
    # a monotone recalibration: the same decisions at the operating point, on validation and test
    assert card.metrics["test"]["sensitivity"] == pytest.approx(before.metrics["test"]["sensitivity"])
    assert card.metrics["test"]["specificity"] == pytest.approx(before.metrics["test"]["specificity"])
    val = _rows(run, "val")
    malignant = np.array([float(r["p_malignant"]) for r in val if r["label"] == "malignant"])
    assert (malignant >= card.threshold - 1e-6).mean() >= 0.95  # (the file rounds)
    # what the app computes from the card is what the run now stores
    bundle = load_bundle(run / "cnn")
    images = decode_samples([Sample(r["path"], r["label"]) for r in _rows(run, "test")]).images
    served = bundle.predict_proba(images)[:, 1]
    np.testing.assert_allclose(served, [float(r["p_malignant"]) for r in _rows(run, "test")], atol=1e-4)  # float32, other batches
    with open(run / "external_predictions.csv", newline="") as handle:
        cached = list(csv.DictReader(handle))
    assert {r["version"] for r in cached} == {card.version}  # the stale version's row is dropped
    np.testing.assert_allclose([float(r["p_malignant"]) for r in cached], served, atol=1e-4)  # float32, other batches
    ensemble = json.loads((run / "ensemble.json").read_text())
    assert ensemble["members"] == {"cnn": card.version} and ensemble["calibration"]["method"] == "logistic"

    # and back: the temperature fitted from the stored predictions is the one training fitted
    recalibrate_run(run, "temperature")
    again = read_card(run / "cnn").calibration
    assert again["method"] == "temperature"
    assert again["temperature"] == pytest.approx(before.calibration["temperature"], rel=1e-2)


def test_the_ensemble_is_calibrated_on_validation_with_the_runs_method(finished_run, tmp_path):
    from sklearn.metrics import roc_auc_score

    from trainer.bundle.cards import read_ensemble
    from trainer.training.ensemble import ensemble_probability, fit_ensemble, mean_from_predictions
    from trainer.training.rundir import read_predictions

    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    fitted = fit_ensemble(run, method="logistic")
    stored = read_ensemble(run)
    assert stored.calibration["method"] == "logistic" and stored.calibration["fitted_on"] == "validation split"
    assert stored.extra["ece"]["ece_test_after"] == pytest.approx(fitted["test"]["ece"])
    preds = read_predictions(run)
    for split in ("val", "test"):
        mean, y = mean_from_predictions(preds, ["cnn"], split)
        p = ensemble_probability(mean, stored)
        assert roc_auc_score(y, p) == pytest.approx(roc_auc_score(y, mean))  # monotone: the same ranking
        if split == "val":  # the threshold lies on the calibrated scale
            assert (p[y == 1] >= stored.threshold).mean() >= 0.95
            assert not np.allclose(p, mean)
    # by default the method the run calibrated its members with (config.json), here temperature
    assert fit_ensemble(run)["calibration"]["method"] == json.loads((run / "config.json").read_text())["calibration"]


def test_recalibration_needs_a_finished_run(tmp_path):
    with pytest.raises(ConfigError, match="not a finished training run"):
        recalibrate_run(tmp_path, "logistic")
    with pytest.raises(ConfigError, match="unknown calibration 'platt'"):
        recalibrate_run(tmp_path, "platt")
