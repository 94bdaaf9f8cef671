"""One spec per architecture (trainer.models.registry): the three built-in ones, and a toy fourth defined in this
file alone that is trained, bundled, loaded by the app, triaged and shown like the others."""

import numpy as np
import pytest

from trainer.errors import ConfigError
from trainer.models import registry
from trainer.models.spec import ArchitectureSpec

TOY = "toy_pool"


def build_toy(num_classes: int, variant=None):
    """A tiny network on the pixels, shrunk 8x first: seconds to train on the CPU. Like every model of the
    program it takes raw RGB (224, 224, 3), preprocesses inside, and ends in ``dense`` -> ``probabilities``."""
    import keras
    from keras import layers

    from trainer.models.architectures import INPUT_SHAPE
    from trainer.models.layers import Preprocess

    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = Preprocess("unit", name="preprocess")(inputs)
    x = layers.AveragePooling2D(8, name="shrink")(x)
    x = layers.Conv2D(4, 3, activation="relu", name="toy_conv")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(8, activation="relu", name="dense")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=TOY)


TOY_SPEC = ArchitectureSpec(
    name=TOY,
    short_name="Toy net",
    display_name="Toy net (test only, pooled pixels)",
    tuned_display_name="Toy net, tuned",
    preprocessing="unit",
    last_conv_layer="toy_conv",
    build=build_toy,
)


@pytest.fixture
def toy_architecture():
    registry.register(TOY_SPEC)
    try:
        yield TOY_SPEC
    finally:
        registry.unregister(TOY)


def test_the_registry_lists_the_three_in_the_trainers_order_without_keras():
    import subprocess
    import sys

    probe = ("import sys; from trainer.models import registry as r; "
             "print(r.names(), r.transfer_names(), [r.spec(n).short_name for n in r.names()], 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ("('cnn', 'vgg16', 'mobilenetv2') ('vgg16', 'mobilenetv2') "
                                  "['Custom CNN', 'VGG16', 'MobileNetV2'] False")
    with pytest.raises(registry.UnknownArchitectureError, match="unknown model 'resnet'"):
        registry.spec("resnet")
    assert issubclass(registry.UnknownArchitectureError, ConfigError)


def test_a_spec_is_either_built_from_scratch_or_stands_on_a_backbone():
    with pytest.raises(ValueError, match="either a builder"):
        ArchitectureSpec(name="neither", short_name="n", display_name="n", tuned_display_name="n",
                         preprocessing="unit", last_conv_layer="c")


def test_registering_a_taken_name_fails_and_unregistering_restores(toy_architecture):
    assert registry.names()[-1] == TOY and registry.spec(TOY) is TOY_SPEC
    with pytest.raises(registry.ArchitectureAlreadyRegisteredError):
        registry.register(TOY_SPEC)


def test_a_fourth_architecture_is_trained_bundled_loaded_triaged_and_shown(toy_architecture, tmp_path, monkeypatch):
    from melanoma_desktop.cli import _text_line
    from melanoma_desktop.core import classifier
    from melanoma_desktop.core.gradcam import GradCam
    from melanoma_desktop.core.report import batch_rows
    from melanoma_desktop.core.triage import triage_paths
    from melanoma_desktop.core.wording import short_model_name
    from trainer.bundle.cards import read_card
    from trainer.config import TrainConfig
    from trainer.training.train import run_training

    from fakes import skin_image
    from synthetic import write_labels_csv

    data = write_labels_csv(tmp_path / "data", n_per_class=12, images_per_lesion=2)
    config = TrainConfig(data=str(data), out=str(tmp_path / "run"), models=(TOY,), protocol="full", epochs=1,
                         batch_size=8, cache_dir=str(tmp_path / "cache"), allow_download=False, augment=False)
    result = run_training(config)  # the trainer's entry point, as the CLI and the app's worker call it

    bundle = result.out / TOY  # bundled: card and weights
    card = read_card(bundle)
    assert (bundle / card.model_file).is_file() and card.model_part == "full" and card.backbone is None
    assert card.architecture == TOY and card.display_name == TOY_SPEC.display_name
    assert card.preprocessing["mode"] == "unit" and card.architecture_variant is None

    monkeypatch.setattr(classifier, "quality_gate_dir", lambda: tmp_path / "no-gate")  # the pixel checks only
    models = classifier.load_models(result.out)  # loaded by the app's own model loading
    assert [b.name for b in models.loaded] == [TOY] and not models.unavailable

    image = skin_image(tmp_path / "lesion.png", 0.6, 224)  # triaged
    record = next(triage_paths([image], models)).record
    assert record.assessable and [p.name for p in record.predictions] == [TOY]
    assert 0.0 <= record.predictions[0].p_malignant <= 1.0

    infos = models.model_infos()  # shown: its name in the report's model column and the CLI's line
    header, rows = batch_rows([record], [TOY], {i.name: short_model_name(i.display_name) for i in infos})
    assert header[-1] == "Toy net" and rows[0][-1].rstrip("*").endswith("%")
    assert f"\t{TOY}=" in _text_line(record)

    heatmaps = GradCam(models.loaded[0]).heatmaps(np.full((1, 224, 224, 3), 120, "float32"))
    assert heatmaps.shape == (1, 224, 224)  # its heatmap, from its spec's last convolution
