"""Named training configurations.

* ``paper`` - the paper's recipe, as faithful as its text allows: 1,200 balanced images (960 train,
  240 test), frozen ImageNet bases with a Dense(256) head, the Table 1 CNN, light augmentation.
* ``best`` - what did better on this data (README, "Results"): the same 240 test images, every other
  HAM10000 image to learn from (protocol ``extended``), stronger augmentation, VGG16's block 5 and the
  whole MobileNetV2 fine-tuned at a low learning rate after the head has converged, and the CNN with
  global average pooling instead of its 22 M-weight Flatten -> Dense layer. The CNN and MobileNetV2's
  fine-tuning run longer (more patience: their validation loss is noisy) with the learning rate halved
  whenever the validation loss stalls. Probabilities are calibrated with a slope and an intercept on the
  logit (the paper preset: a temperature alone).

Both are plain :class:`~trainer.config.TrainConfig` values; any field can still be overridden.
"""

from __future__ import annotations

from trainer.config import TrainConfig  # (no Keras: the configuration is plain data)
from trainer.errors import ConfigError
from trainer.models.specs import cnn, mobilenetv2, vgg16

PRESETS: dict[str, dict] = {
    "paper": dict(protocol="paper", epochs=20, learning_rate=1e-3, patience=3, augmentation="paper", aug_copies=2,
                  cnn_head="flatten", finetune={}),
    "best": dict(protocol="extended", epochs=20, learning_rate=1e-3, patience=3, augmentation="strong",
                 aug_copies=2, cnn_head="gap", cnn_epochs=12, cnn_patience=8,
                 finetune={vgg16.NAME: {"epochs": 6, "learning_rate": 1e-5},
                           mobilenetv2.NAME: {"epochs": 20, "learning_rate": 5e-5, "patience": 6}},
                 plateau={cnn.NAME: {"factor": 0.5, "patience": 3}, mobilenetv2.NAME: {"factor": 0.5, "patience": 2}},
                 calibration="logistic"),
    # Several sources (--data more than once): every source's validation part drives early stopping, calibration,
    # the flag line and the ensemble; the first source (HAM10000) keeps the paper's 240 test images. Frozen bases
    # on the CPU (fine-tuning on four sources is the GPU script's, scripts/train_gpu.py); one augmented copy.
    "multisource": dict(protocol="extended", epochs=30, learning_rate=1e-3, patience=4, augmentation="strong",
                        aug_copies=1, cnn_head="gap", cnn_epochs=12, cnn_patience=8, finetune={},
                        plateau={cnn.NAME: {"factor": 0.5, "patience": 3}}, calibration="logistic"),
    # The multi-source recipe with fine-tuning, for one GPU (scripts/train_gpu.py): VGG16's blocks 4-5 and the whole
    # MobileNetV2 at a low learning rate on augmented pixels, each model within its share of an 8-minute budget.
    "multisource-gpu": dict(protocol="extended", epochs=30, learning_rate=1e-3, patience=4, augmentation="strong",
                            aug_copies=2, cnn_head="gap", cnn_epochs=16, cnn_patience=8,
                            finetune={vgg16.NAME: {"epochs": 6, "learning_rate": 1e-5, "from_block": 4},
                                      mobilenetv2.NAME: {"epochs": 10, "learning_rate": 5e-5, "patience": 4}},
                            plateau={cnn.NAME: {"factor": 0.5, "patience": 3}, mobilenetv2.NAME: {"factor": 0.5, "patience": 2}},
                            calibration="logistic", max_minutes_per_model=2.3),
}
# The paper compared MobileNetV2 without naming its width; the offline weights here are alpha 0.35.
PRESET_MOBILENET_ALPHA = 0.35


PRESET_SUMMARIES = {
    "paper": "the paper's recipe: 1,200 balanced images, frozen ImageNet bases",
    "best": "all images but the paper's test set, fine-tuning, pooled CNN (slower: about 2 h for HAM10000 on 2 CPU cores)",
    "multisource": "several sources (--data more than once), each split on its own; frozen bases, pooled CNN",
    "multisource-gpu": "several sources, fine-tuning VGG16 blocks 4-5 and MobileNetV2 (for one GPU: ~8 min)",
}


def preset_config(preset: str, data: str, out: str, **overrides):
    """A validated TrainConfig for ``preset``, with ``overrides`` (any TrainConfig field) applied."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; use one of {', '.join(PRESETS)}")
    values = dict(PRESETS[preset], mobilenet_alpha=PRESET_MOBILENET_ALPHA, malignant_dx=("mel",))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig(data=data, out=out, preset=preset, **values).validate()
