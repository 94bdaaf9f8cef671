"""What the trainer and the app need to know about one architecture, in one frozen record
(:class:`ArchitectureSpec`): its names, preprocessing, how it is built (from scratch) or which ImageNet base it
stands on (transfer), the layer its heatmaps read, how it is fine-tuned and the paper's accuracy.

Each architecture is one module in ``trainer/models/specs/``, registered in ``trainer.models.registry``. No Keras
here or in the spec modules at import (their builders import it when called), so the app can list the models
before TensorFlow is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

KERAS_APPLICATIONS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class BackboneFiles:
    """The ImageNet weights files an architecture's base is found in: accepted names (ours first, Keras'
    official name last) and Keras' download address."""

    file_names: tuple[str, ...]
    url: str


@dataclass(frozen=True, kw_only=True)
class ArchitectureSpec:
    name: str  # as cards, configurations, run folders and the command line name it
    short_name: str  # "VGG16": the wizard's check box
    display_name: str  # a card's display name as trained by the paper's recipe ("VGG16, frozen ImageNet base")
    tuned_display_name: str  # fine-tuned (transfer) or built as ``tuned_variant`` (from scratch)
    preprocessing: str  # the Preprocess layer's mode inside the model (trainer.models.layers)
    last_conv_layer: str  # Grad-CAM's layer: in the model (from scratch) or in its ImageNet base (transfer)
    paper_accuracy: float | None = None  # the paper's reported test accuracy (1,200 HAM10000 images, 240 test)
    extra_data_by_default: bool = False  # the benchmark retrains it with the extra data unless told otherwise
    # Trained from scratch on pixels (the configuration's cnn_head, cnn_epochs and cnn_patience apply):
    build: Callable[[int, str | None], Any] | None = None  # (number of classes, variant) -> uncompiled keras.Model
    variants: tuple[str, ...] = ()  # the configuration's cnn_head choices, the first the default
    tuned_variant: str | None = None  # the variant ``tuned_display_name`` names
    # Transfer: a frozen ImageNet base and a head, fine-tuned on request:
    backbone_files: Callable[[float], BackboneFiles] | None = None  # width (alpha) -> its weights files
    base_network: Callable[..., Any] | None = None  # (alpha, input_shape) -> the Keras application, no weights
    has_width: bool = False  # the base takes a width multiplier (alpha); otherwise alpha is always 1.0
    last_block: int | None = None  # fine-tuning by blocks: ``from_block`` 1..last_block (default the last)
    cached_split_layer: str | None = None  # fine-tuning the last block alone trains on cached outputs of this layer

    def __post_init__(self):
        if (self.build is None) == (self.backbone_files is None) or (self.backbone_files is None) != (
                self.base_network is None):
            raise ValueError(f"architecture {self.name!r}: give either a builder (trained from scratch) or "
                             "backbone files and a base network (transfer)")

    @property
    def from_scratch(self) -> bool:
        return self.backbone_files is None

    @property
    def default_variant(self) -> str | None:
        return self.variants[0] if self.variants else None

    def variant_of(self, config) -> str | None:
        """The variant a configuration builds (its ``cnn_head``), or None for an architecture without variants."""
        return config.cnn_head if self.variants else None

    def width(self, alpha: float) -> float:
        return float(alpha) if self.has_width else 1.0

    def long_name(self, config, fine_tuning_kept: bool | None = None) -> str:
        """The card's display name for a model trained with ``config`` (fine-tuning not kept: the frozen name)."""
        if self.from_scratch:
            tuned = self.tuned_variant is not None and self.variant_of(config) == self.tuned_variant
        else:
            tuned = int((config.finetune.get(self.name) or {}).get("epochs", 0)) > 0 and fine_tuning_kept is not False
        return self.tuned_display_name if tuned else self.display_name
