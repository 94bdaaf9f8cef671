import keras
import numpy as np
import pytest

from trainer.errors import BackboneWeightsError, ConfigError
from trainer.models.architectures import build_head, build_model, feature_extractor, load_backbone
from trainer.models.layers import Preprocess
from trainer.models.specs.cnn import build_cnn


def _count(weights):
    return sum(int(np.prod(w.shape)) for w in weights)


def test_cnn_is_exactly_the_papers_table_1():
    model = build_cnn()
    assert _count(model.trainable_weights) == 22_245_634
    assert _count(model.non_trainable_weights) == 448
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Conv2D") == 3 and kinds.count("BatchNormalization") == 3
    assert [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [0.3, 0.4, 0.5]
    assert model.output_shape == (None, 2)


def test_head_shape():
    head = build_head(1280)
    assert [type(layer).__name__ for layer in head.layers[1:]] == ["Dense", "Dropout", "Dense"]
    assert head.layers[1].units == 256 and head.output_shape == (None, 2)


@pytest.mark.parametrize(
    "mode, reference",
    [("caffe", keras.applications.vgg16.preprocess_input), ("tf", keras.applications.mobilenet_v2.preprocess_input)],
)
def test_preprocess_layer_matches_keras_applications(mode, reference):
    x = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3)).astype("float32")
    ours = keras.ops.convert_to_numpy(Preprocess(mode)(x))
    np.testing.assert_allclose(ours, reference(x.copy()), atol=1e-4)


def test_preprocess_unit_scaling():
    x = np.full((1, 2, 2, 3), 255.0, "float32")
    assert np.allclose(keras.ops.convert_to_numpy(Preprocess("unit")(x)), 1.0)


def test_mobilenet_model_is_frozen_with_preprocessing_inside(random_backbones):
    backbone = load_backbone("mobilenetv2", 0.35, random_backbones, allow_download=False)
    model = build_model("mobilenetv2", backbone=backbone)
    assert _count(model.trainable_weights) == 1280 * 256 + 256 + 256 * 2 + 2
    assert any(isinstance(layer, Preprocess) for layer in model.get_layer("mobilenetv2_features").layers)
    assert len(backbone.sha256) == 64


def test_feature_extractor_equals_plain_forward_pass(random_backbones):
    backbone = load_backbone("mobilenetv2", 0.35, random_backbones, allow_download=False)
    extractor = feature_extractor(backbone)
    base = keras.applications.MobileNetV2(alpha=0.35, include_top=False, weights=backbone.weights_path,
                                          input_shape=(224, 224, 3))
    x = np.random.default_rng(1).integers(0, 256, (3, 224, 224, 3)).astype("float32")
    plain = np.asarray(base(keras.applications.mobilenet_v2.preprocess_input(x.copy()), training=False)).mean(axis=(1, 2))
    np.testing.assert_allclose(np.asarray(extractor(x, training=False)), plain, rtol=1e-4, atol=1e-5)


def test_unknown_architecture():
    with pytest.raises(ConfigError, match="resnet"):
        build_model("resnet")


def test_missing_backbone_names_expected_file(tmp_path, monkeypatch):
    monkeypatch.delenv("MELANOMA_BACKBONES", raising=False)
    monkeypatch.setattr("trainer.models.backbones.bundled_backbones_dir", lambda: tmp_path / "no-shipped-copies")
    with pytest.raises(BackboneWeightsError) as info:
        load_backbone("vgg16", 1.0, tmp_path, allow_download=False)
    message = str(info.value)
    assert "vgg16_imagenet_notop.h5" in message and "--backbones" in message and str(tmp_path) in message


def test_wrong_backbone_file_is_a_clear_error(tmp_path):
    bogus = tmp_path / "mobilenet_v2_0.35_224_imagenet_notop.h5"
    bogus.write_bytes(b"not hdf5")
    backbone = load_backbone("mobilenetv2", 0.35, tmp_path, allow_download=False)
    with pytest.raises(BackboneWeightsError, match="does not hold"):
        feature_extractor(backbone)
