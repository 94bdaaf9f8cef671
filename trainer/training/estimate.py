"""An honest training-time estimate for a configuration on this machine: it times a few real
forward passes of each chosen model here, then scales by the work the run will do."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from trainer.config import TrainConfig
from trainer.data.samples import discover, only_source_split
from trainer.data.splits import EXTENDED_VAL_FRACTION, PAPER_PER_CLASS
from trainer.models.devices import describe_device
from trainer.models.registry import spec

# A training step costs about three forward passes (forward, backward for activations and weights).
TRAIN_STEP_FORWARDS = 3.0


@dataclass
class Estimate:
    device: str
    seconds_per_model: dict[str, float]
    notes: list[str]

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds_per_model.values())


def _split_sizes(config: TrainConfig, counts: dict[str, int]) -> tuple[int, int, int]:
    if config.protocol in ("paper", "extended"):
        n = 2 * min(PAPER_PER_CLASS, *counts.values())
        test = round(0.2 * n)
        if config.protocol == "extended":
            rest = sum(counts.values()) - test
            val = round(EXTENDED_VAL_FRACTION * rest)
            return rest - val, val, test
        val = round(0.1 * (n - test))
        return n - test - val, val, test
    total = sum(counts.values())
    fr = config.fractions or (0.7, 0.15, 0.15)
    return round(fr[0] * total), round(fr[1] * total), total - round(fr[0] * total) - round(fr[1] * total)


def _extra_training_images(config: TrainConfig) -> int:
    """How many images config.extra_data adds to training (listed, not decoded)."""
    return sum(len(only_source_split(discover(e["data"], config.malignant_dx), e.get("source_split")).samples)
               for e in config.extra_data)


def _time_forward(model, n: int = 8, shape=(224, 224, 3)) -> float:
    x = np.random.default_rng(0).integers(0, 256, (n, *shape)).astype("float32")
    model(x[:2], training=False)  # warm-up
    started = time.perf_counter()
    model(x, training=False)
    return (time.perf_counter() - started) / n


def estimate_training(config: TrainConfig, counts: dict[str, int]) -> Estimate:
    """Raises BackboneWeightsError when a chosen backbone cannot be found (the check the wizard needs)."""
    from trainer.models.architectures import build_head, feature_extractor, load_backbone

    train, val, test = _split_sizes(config, counts)
    extra = _extra_training_images(config)
    train += extra
    seconds, notes = {}, []
    for name in config.models:
        tune_epochs = int((config.finetune.get(name) or {}).get("epochs", 0))
        registered = spec(name)
        if registered.from_scratch:
            epochs = config.cnn_epochs or config.epochs
            per_image = _time_forward(registered.build(2, registered.variant_of(config)))
            seconds[name] = per_image * (TRAIN_STEP_FORWARDS * train + val) * epochs + per_image * test
            notes.append(f"{name}: {per_image * 1000:.0f} ms per image forward; up to {epochs} epochs "
                         "(early stopping usually ends sooner)")
        elif tune_epochs and registered.cached_split_layer:
            from trainer.training.finetune import split_at_cached_layer

            extractor = feature_extractor(load_backbone(name, 1.0, config.backbones, allow_download=False))
            lower, upper = split_at_cached_layer(name, extractor, build_head(extractor.output_shape[-1]))
            once = _time_forward(lower)
            upper_s = _time_forward(upper, shape=tuple(upper.input.shape[1:]))
            seconds[name] = (once * (train + val + test) + upper_s * (train + val) * config.epochs
                             + upper_s * (TRAIN_STEP_FORWARDS * train + val) * tune_epochs)
            last = registered.last_block
            notes.append(f"{name}: blocks 1-{last - 1} {once * 1000:.0f} ms per image, once (cached); block {last} "
                         f"{upper_s * 1000:.0f} ms per image and epoch; up to {config.epochs} + {tune_epochs} epochs")
        else:
            backbone = load_backbone(name, registered.width(config.mobilenet_alpha), config.backbones,
                                     allow_download=False)
            per_image = _time_forward(feature_extractor(backbone))
            copies = 1 + (config.aug_copies if config.augment else 0)
            seconds[name] = per_image * (train * copies + val + test) + 0.02 * config.epochs
            notes.append(f"{name}: {per_image * 1000:.0f} ms per image through the frozen base, computed once "
                         f"per image and augmented copy ({copies} per training image); cached for later runs")
            if tune_epochs:
                seconds[name] += per_image * (TRAIN_STEP_FORWARDS * train + val) * tune_epochs
                notes.append(f"{name}: then up to {tune_epochs} fine-tuning epochs through the whole network")
    notes.insert(0, f"{train} training{f' ({extra} of them extra data)' if extra else ''}, {val} validation, "
                    f"{test} test images")
    return Estimate(describe_device(), seconds, notes)
