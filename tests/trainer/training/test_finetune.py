"""The ``best`` preset's pieces on tiny synthetic data: fine-tuned (``tuned``) bundles, the pooled CNN,
per-image predictions for the ensemble."""

import csv

import numpy as np
import pytest

from trainer.bundle.cards import PREDICTIONS_FILE
from trainer.bundle.io import export_bundle, load_bundle, read_card, write_card
from trainer.config import TrainConfig
from trainer.errors import BundleError
from trainer.training.train import run_training


@pytest.fixture(scope="session")
def random_vgg_backbones(tmp_path_factory, random_backbones):
    """The random MobileNetV2 file plus a random VGG16 file (58 MB) in one folder."""
    import shutil

    from synthetic import write_random_backbone

    folder = tmp_path_factory.mktemp("vgg_backbones")
    shutil.copy(random_backbones / "mobilenet_v2_0.35_224_imagenet_notop.h5", folder)
    write_random_backbone(folder / "vgg16_imagenet_notop.h5", "vgg16")
    return folder


@pytest.fixture(scope="module")
def tuned_run(tmp_path_factory, random_vgg_backbones):
    from synthetic import write_labels_csv

    root = tmp_path_factory.mktemp("tuned")
    data = write_labels_csv(root / "data", n_per_class=10)
    config = TrainConfig(data=str(data), out=str(root / "out"), models=("cnn", "vgg16", "mobilenetv2"),
                         protocol="full", epochs=1, batch_size=8, backbones=str(random_vgg_backbones),
                         mobilenet_alpha=0.35, cache_dir=str(root / "cache"), allow_download=False, aug_copies=1,
                         augmentation="strong", cnn_head="gap",
                         finetune={"vgg16": {"epochs": 1, "learning_rate": 1e-3},
                                   "mobilenetv2": {"epochs": 1, "learning_rate": 1e-3}})
    return config, run_training(config)


def _test_images(config, result):
    from trainer.data.samples import decode_samples, discover

    by_path = {str(s.path): s for s in discover(config.data).samples}
    return decode_samples([by_path[p] for p in result.test_paths]).images


def test_tuned_bundles_describe_their_layers(tuned_run):
    _, result = tuned_run
    vgg = read_card(result.bundles["vgg16"])
    assert vgg.model_part == "tuned" and vgg.model_file == "weights.npz"
    assert vgg.tuned_layers == ("block5_conv1", "block5_conv2", "block5_conv3")
    assert vgg.hyperparameters["fine_tuning"]["epochs_frozen"] == 1
    mobile = read_card(result.bundles["mobilenetv2"])
    assert mobile.model_part == "tuned" and "Conv1" in mobile.tuned_layers
    cnn = read_card(result.bundles["cnn"])
    assert cnn.architecture_variant == "gap" and cnn.display_name.startswith("Custom CNN (paper's conv")


def test_tuned_bundle_reloads_with_the_trained_predictions(tuned_run):
    config, result = tuned_run
    images = _test_images(config, result)
    for name in ("vgg16", "mobilenetv2"):
        loaded = load_bundle(result.bundles[name], config.backbones)
        # VGG16's block-5 kernels are stored as float16
        np.testing.assert_allclose(loaded.predict_proba(images), result.probabilities[name], atol=1e-3)


def test_fine_tuning_changes_only_the_tuned_layers(tuned_run):
    from trainer.models.architectures import _base_network, base_of, load_backbone

    config, result = tuned_run
    tuned = base_of(load_bundle(result.bundles["vgg16"], config.backbones).model.get_layer("vgg16_features"))
    imagenet = _base_network(load_backbone("vgg16", 1.0, config.backbones, allow_download=False))
    np.testing.assert_array_equal(tuned.get_layer("block4_conv3").get_weights()[0],
                                  imagenet.get_layer("block4_conv3").get_weights()[0])
    change = np.abs(tuned.get_layer("block5_conv3").get_weights()[0] - imagenet.get_layer("block5_conv3").get_weights()[0])
    kept = read_card(result.bundles["vgg16"]).hyperparameters["fine_tuning"]["kept"]
    # float16 storage alone moves a kernel by < 1e-3 of its scale; fine-tuning that was kept moves it more
    assert (change.max() > 1e-4) == kept


@pytest.mark.parametrize("tuned_losses, kept", [([0.9, 0.4], True), ([0.6, 0.7], False)])
def test_fine_tuning_is_kept_only_when_it_lowers_validation_loss(tuned_losses, kept):
    import keras

    from trainer.training.finetune import _keep_the_better

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    before = model.get_weights()
    model.set_weights([w + 1 for w in before])
    tuning = {"val_loss": tuned_losses}
    _keep_the_better(model, before, {"val_loss": [0.8, 0.5]}, tuning)
    assert tuning["kept"] is kept
    assert np.array_equal(model.get_weights()[0], before[0]) is (not kept)


def test_tuned_bundle_naming_an_unknown_layer_is_refused(tuned_run, tmp_path):
    import shutil

    config, result = tuned_run
    copy = tmp_path / "vgg"
    shutil.copytree(result.bundles["vgg16"], copy)
    card = read_card(copy)
    write_card(copy, card.replace(tuned_layers=[*card.tuned_layers, "block9_conv1"]))
    with pytest.raises(BundleError, match="block9_conv1"):
        load_bundle(copy, config.backbones)


def test_export_keeps_tuned_and_pooled_bundles_exact(tuned_run, tmp_path):
    config, result = tuned_run
    images = _test_images(config, result)
    for name in ("cnn", "vgg16"):
        report = export_bundle(result.bundles[name], tmp_path / name, backbones=config.backbones, probe=images)
        assert report["max_abs_difference"] <= 1e-3
    assert read_card(tmp_path / "cnn").architecture_variant == "gap"
    assert report["bytes"] < 20e6  # block 5 (7.1 M weights) in float16 and the head


def test_predictions_file_holds_val_and_test_for_each_model(tuned_run):
    config, result = tuned_run
    with open(result.out / PREDICTIONS_FILE, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for name in config.models:
        test = [r for r in rows if r["model"] == name and r["split"] == "test"]
        assert [r["path"] for r in test] == result.test_paths
        pos = np.array([float(r["p_malignant"]) for r in test])
        np.testing.assert_allclose(pos, result.probabilities[name][:, 1], atol=1e-6)
        assert any(r["model"] == name and r["split"] == "val" for r in rows)


def test_ensemble_file_is_checked(tmp_path):
    from trainer.bundle.cards import read_ensemble

    assert read_ensemble(tmp_path) is None
    (tmp_path / "ensemble.json").write_text('{"members": {"cnn": "v1"}, "threshold": 1.5}')
    with pytest.raises(BundleError, match="threshold"):
        read_ensemble(tmp_path)
    (tmp_path / "ensemble.json").write_text('{"members": {"cnn": "v1"}, "threshold": 0.25}')
    assert read_ensemble(tmp_path).threshold == 0.25
    (tmp_path / "ensemble.json").write_text('{"members": {"cnn": "v1"}, "threshold": 0.25, '
                                            '"calibration": {"method": "logistic", "slope": -1, "intercept": 0}}')
    with pytest.raises(BundleError, match="positive 'slope'"):
        read_ensemble(tmp_path)
    (tmp_path / "ensemble.json").write_text('{"members": {"cnn": "v1"}, "threshold": 0.25, "calibration": "platt"}')
    with pytest.raises(BundleError, match="must be an object"):
        read_ensemble(tmp_path)


def test_vgg16_from_block_4_tunes_blocks_4_and_5_only():
    import keras

    from trainer.training.finetune import tuned_layer_names

    base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(64, 64, 3))
    names = tuned_layer_names("vgg16", base, from_block=4)
    assert names == [f"block{b}_conv{c}" for b in (4, 5) for c in (1, 2, 3)]
    assert tuned_layer_names("vgg16", base) == [f"block5_conv{c}" for c in (1, 2, 3)]


def test_from_block_is_for_vgg16_only(tmp_path):
    import pytest

    from trainer.config import TrainConfig
    from trainer.errors import ConfigError

    with pytest.raises(ConfigError, match="from_block"):
        TrainConfig(data=str(tmp_path), out=str(tmp_path), finetune={"mobilenetv2": {"epochs": 1, "learning_rate": 1e-5,
                                                                                   "from_block": 4}}).validate()
