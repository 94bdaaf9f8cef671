"""End to end on tiny synthetic data: training, bundles, round trip, cancel, cache."""

import json

import numpy as np
import pytest

from trainer.bundle.io import load_bundle, read_card
from trainer.config import TrainConfig
from trainer.data.samples import decode_samples, discover
from trainer.errors import BackboneWeightsError, BundleError
from trainer.progress import TrainingCancelled
from trainer.training.train import run_training


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, random_backbones):
    from synthetic import write_labels_csv

    root = tmp_path_factory.mktemp("run")
    data = write_labels_csv(root / "data", n_per_class=14, images_per_lesion=2)
    config = TrainConfig(data=str(data), out=str(root / "out"), models=("cnn", "mobilenetv2"), protocol="full",
                         epochs=2, batch_size=8, backbones=str(random_backbones), mobilenet_alpha=0.35,
                         cache_dir=str(root / "cache"), allow_download=False, aug_copies=1)
    events = []
    result = run_training(config, on_progress=events.append)
    return config, result, events


def test_outputs_of_a_run(tiny_run):
    config, result, events = tiny_run
    out = result.out
    for name in ("cnn", "mobilenetv2"):
        bundle = out / name
        for file in ("card.json", "model.keras", "history.csv", "metrics.json", "confusion_matrix.png",
                     "learning_curves.png", "classification_report.txt"):
            assert (bundle / file).is_file(), f"{name}/{file} missing"
        card = read_card(bundle)
        assert card.class_names == ("benign", "malignant")
        assert card.training["protocol"] == "full" and card.training["split_seed"] == config.seed
        assert "CPU" in card.device or "GPU" in card.device
        metrics = json.loads((bundle / "metrics.json").read_text())
        for key in ("accuracy_ci", "roc_auc_ci", "sensitivity_ci", "specificity_ci", "confusion_matrix", "per_class",
                    "operating_point", "calibration"):
            assert key in metrics
        assert card.calibration["method"] == "temperature" and card.calibration["temperature"] > 0
        assert card.threshold == metrics["operating_point"]["threshold"] and "validation" in card.threshold_rule
        assert len((bundle / "history.csv").read_text().strip().splitlines()) == 1 + card.hyperparameters["epochs_run"]
    assert read_card(out / "mobilenetv2").backbone["sha256"] and read_card(out / "cnn").backbone is None
    assert (out / "summary.md").read_text().count("|") > 20
    assert json.loads((out / "config.json").read_text())["models"] == ["cnn", "mobilenetv2"]
    assert not (out / ".partial").exists()
    ensemble = json.loads((out / "ensemble.json").read_text())  # fitted from predictions.csv, for the app
    assert ensemble["members"] == {n: read_card(out / n).version for n in ("cnn", "mobilenetv2")}
    assert ensemble["calibration"]["method"] == "temperature" and 0 < ensemble["threshold"] < 1
    assert any(e.stage == "log" and e.message.startswith("ensemble of cnn, mobilenetv2") for e in events)
    stages = {e.stage for e in events}
    assert {"data", "features", "train", "epoch", "model_done", "done"} <= stages


def test_split_file_has_no_lesion_on_two_sides(tiny_run):
    _, result, _ = tiny_run
    rows = (result.out / "split.csv").read_text().strip().splitlines()[1:]
    sides = {}
    for row in rows:
        _path, _label, lesion, part = row.split(",")
        sides.setdefault(lesion, set()).add(part)
    assert sides and all(len(parts) == 1 for parts in sides.values())


def test_bundle_round_trip_gives_identical_predictions(tiny_run):
    config, result, _ = tiny_run
    ds = discover(config.data)
    by_path = {str(s.path): s for s in ds.samples}
    images = decode_samples([by_path[p] for p in result.test_paths]).images
    for name in ("cnn", "mobilenetv2"):
        loaded = load_bundle(result.bundles[name], backbones=config.backbones)
        np.testing.assert_allclose(loaded.predict_proba(images), result.probabilities[name], atol=1e-5)


def test_tampered_weights_are_refused(tiny_run, tmp_path):
    import shutil

    _, result, _ = tiny_run
    copy = tmp_path / "mnv2"
    shutil.copytree(result.bundles["mobilenetv2"], copy)
    with open(copy / "model.keras", "ab") as handle:
        handle.write(b"x")
    with pytest.raises(BundleError, match="does not match the card"):
        load_bundle(copy)


def test_a_backbone_is_known_by_its_weights_not_its_file(tiny_run, tmp_path, monkeypatch):
    import h5py

    from synthetic import write_random_backbone

    _, result, _ = tiny_run
    monkeypatch.delenv("MELANOMA_BACKBONES", raising=False)  # only the folder given, then the shipped copy
    same = tmp_path / "same" / "mobilenet_v2_0.35_224_imagenet_notop.h5"
    write_random_backbone(same)  # the same seeded weights as the run's...
    with open(same, "ab") as handle:
        handle.write(b"\0")  # ...in a file with other bytes
    assert load_bundle(result.bundles["mobilenetv2"], backbones=same.parent).backbone_match.startswith("same weights")
    with h5py.File(same, "r+") as handle:  # one weight changed: other weights
        name = next(n for n in handle["Conv1"]["Conv1"])
        values = handle["Conv1"]["Conv1"][name][()]
        values.flat[3] += 1.0
        handle["Conv1"]["Conv1"][name][...] = values
    with pytest.raises(BackboneWeightsError, match="layer Conv1 has other weights"):
        load_bundle(result.bundles["mobilenetv2"], backbones=same.parent)


@pytest.mark.parametrize("change, message", [
    (lambda c: c.pop("threshold"), "threshold"),
    (lambda c: c.update(schema_version=99), "schema version 99"),
    (lambda c: c.update(class_names="benign"), "class_names"),
    (lambda c: c.update(calibration={"method": "logistic", "slope": -1.0, "intercept": 0.2}), "positive 'slope'"),
    (lambda c: c.update(calibration={"method": "logistic", "slope": 1.0}), "numeric 'intercept'"),
    (lambda c: c.update(calibration={"method": "isotonic"}), "unknown calibration method 'isotonic'"),
])
def test_malformed_cards_are_refused(tiny_run, tmp_path, change, message):
    import shutil

    _, result, _ = tiny_run
    copy = tmp_path / "cnn"
    shutil.copytree(result.bundles["cnn"], copy, ignore=shutil.ignore_patterns("*.png"))
    card = json.loads((copy / "card.json").read_text())
    change(card)
    (copy / "card.json").write_text(json.dumps(card))
    with pytest.raises(BundleError, match=message):
        load_bundle(copy)
    (copy / "card.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(copy)


def test_cancel_leaves_previous_bundle_untouched(tiny_run, tmp_path):
    import shutil

    config, result, _ = tiny_run
    out = tmp_path / "out"
    shutil.copytree(result.bundles["cnn"], out / "cnn")
    before = (out / "cnn" / "card.json").read_text()
    calls = {"n": 0}

    def should_stop():
        calls["n"] += 1
        return calls["n"] > 3

    cfg = TrainConfig(**{**config.to_json(), "out": str(out), "models": ("cnn",)})
    with pytest.raises(TrainingCancelled):
        run_training(cfg, should_stop=should_stop)
    assert (out / "cnn" / "card.json").read_text() == before
    assert not (out / ".partial" / "cnn").exists()
    load_bundle(out / "cnn")  # still loadable


def test_feature_cache_is_reused(tiny_run, tmp_path):
    config, _, _ = tiny_run
    from pathlib import Path

    cache = Path(config.cache_dir)
    before = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.npy")}
    assert len(before) == 4  # val, test, train, one augmented copy
    cfg = TrainConfig(**{**config.to_json(), "out": str(tmp_path / "again"), "models": ("mobilenetv2",), "epochs": 1})
    run_training(cfg)
    after = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.npy")}
    assert after == before  # read, not recomputed


def test_float16_export_matches_float32_within_1e3(tiny_run, tmp_path):
    from trainer.bundle.io import export_bundle

    config, result, _ = tiny_run
    ds = discover(config.data)
    by_path = {str(s.path): s for s in ds.samples}
    probe = decode_samples([by_path[p] for p in result.test_paths]).images
    report = export_bundle(result.bundles["cnn"], tmp_path / "cnn16", float16=True, probe=probe)
    card = read_card(tmp_path / "cnn16")
    assert card.weights_dtype == "float16" and card.model_file == "weights.npz"
    assert report["max_abs_difference"] <= 1e-3
    size16 = (tmp_path / "cnn16" / "weights.npz").stat().st_size
    size32 = (result.bundles["cnn"] / "model.keras").stat().st_size
    assert size16 < 0.6 * size32
    loaded = load_bundle(tmp_path / "cnn16")
    np.testing.assert_allclose(loaded.predict_proba(probe), result.probabilities["cnn"], atol=1e-3)
    with open(tmp_path / "cnn16" / "weights.npz", "r+b") as handle:  # tamper: checksum must catch it
        handle.seek(100)
        handle.write(b"\x00\x01")
    with pytest.raises(BundleError, match="does not match"):
        load_bundle(tmp_path / "cnn16")


def test_retraining_one_model_keeps_the_other_models_predictions(tiny_run, tmp_path):
    import csv
    import shutil

    config, result, _ = tiny_run
    out = tmp_path / "out"
    shutil.copytree(result.out, out, ignore=shutil.ignore_patterns(".partial"))
    before = {r["model"] for r in csv.DictReader(open(out / "predictions.csv"))}
    assert before == {"cnn", "mobilenetv2"}
    mobilenet_rows = [r for r in csv.DictReader(open(out / "predictions.csv")) if r["model"] == "mobilenetv2"]
    run_training(TrainConfig(**{**config.to_json(), "out": str(out), "models": ("cnn",), "epochs": 1}))
    after = list(csv.DictReader(open(out / "predictions.csv")))
    assert [r for r in after if r["model"] == "mobilenetv2"] == mobilenet_rows
    assert sum(r["model"] == "cnn" for r in after) == len(mobilenet_rows)
    assert json.loads((out / "config.json").read_text())["models"] == ["cnn", "mobilenetv2"]
    assert json.loads((out / "ensemble.json").read_text())["members"]["cnn"] == read_card(out / "cnn").version

    # Another split (another seed): the old rows no longer describe these images and are dropped.
    run_training(TrainConfig(**{**config.to_json(), "out": str(out), "models": ("cnn",), "epochs": 1, "seed": 7}))
    assert {r["model"] for r in csv.DictReader(open(out / "predictions.csv"))} == {"cnn"}
    assert json.loads((out / "config.json").read_text())["models"] == ["cnn"]
    assert not (out / "ensemble.json").exists()  # the old one named versions whose predictions are gone


def test_a_fixed_split_seed_keeps_the_split_when_the_seed_changes(tiny_run, tmp_path):
    config, result, _ = tiny_run
    again = run_training(TrainConfig(**{**config.to_json(), "out": str(tmp_path / "out"), "models": ("cnn",),
                                        "epochs": 1, "seed": 7, "split_seed": config.seed}))
    assert (again.out / "split.csv").read_text() == (result.out / "split.csv").read_text()
    card = read_card(again.bundles["cnn"])
    assert card.training["split_seed"] == config.seed and card.hyperparameters["seed"] == 7
    assert "seed 7, split seed 42" in (again.out / "summary.md").read_text()


def test_history_file_has_one_column_per_metric_across_phases(tmp_path):
    from trainer.evaluation.reports import load_history_csv
    from trainer.training.outputs import write_history_csv

    # frozen phase without a learning-rate column, fine-tuning with one (a scheduled phase logs it)
    history = {"loss": [0.9, 0.7, 0.5], "val_loss": [1.0, 0.8, 0.6], "learning_rate": [float("nan"), float("nan"), 1e-5]}
    write_history_csv(tmp_path / "history.csv", history)
    back = load_history_csv(tmp_path / "history.csv")
    assert back["loss"] == [0.9, 0.7, 0.5] and back["val_loss"] == [1.0, 0.8, 0.6]
    assert np.isnan(back["learning_rate"][0]) and back["learning_rate"][2] == 1e-5


def test_plateau_schedule_lowers_the_learning_rate_and_is_recorded(tmp_path, random_backbones):
    from synthetic import write_labels_csv

    data = write_labels_csv(tmp_path / "data", n_per_class=10)
    config = TrainConfig(data=str(data), out=str(tmp_path / "out"), models=("cnn",), protocol="full", epochs=4,
                         batch_size=8, cnn_patience=10, plateau={"cnn": {"factor": 0.5, "patience": 0}},
                         allow_download=False)
    result = run_training(config)
    card = read_card(result.bundles["cnn"])
    assert card.hyperparameters["reduce_lr_on_plateau"] == {"factor": 0.5, "patience": 0}
    assert card.hyperparameters["early_stopping"]["patience"] == 10
    from trainer.evaluation.reports import load_history_csv

    rates = load_history_csv(result.bundles["cnn"] / "history.csv")["learning_rate"]
    assert len(rates) == 4 and rates[-1] < rates[0]  # patience 0: halved after every epoch that did not improve


def test_time_budget_ends_training_after_an_epoch_and_still_saves_the_bundle(tmp_path, random_backbones):
    from trainer.evaluation.reports import load_history_csv

    from synthetic import write_labels_csv

    data = write_labels_csv(tmp_path / "data", n_per_class=10)
    config = TrainConfig(data=str(data), out=str(tmp_path / "out"), models=("cnn",), protocol="full", epochs=5,
                         batch_size=8, patience=10, max_minutes_per_model=1e-6, allow_download=False)
    result = run_training(config)
    card = read_card(result.bundles["cnn"])
    assert card.hyperparameters["max_minutes"] == 1e-6
    assert card.hyperparameters["epochs_run"] == 1
    assert len(load_history_csv(result.bundles["cnn"] / "history.csv")["loss"]) == 1
    load_bundle(result.bundles["cnn"])  # a complete, loadable bundle


def test_a_time_budget_must_be_positive(tmp_path):
    from trainer.errors import ConfigError

    with pytest.raises(ConfigError, match="max_minutes_per_model"):
        TrainConfig(data="d", out=str(tmp_path), max_minutes_per_model=0).validate()
