"""Building the models every architecture (trainer.models.registry) names. Every model takes raw RGB pixels
(0..255) of shape ``(224, 224, 3)`` and returns softmax probabilities over ``class_names``; preprocessing is a
layer inside the model, so training and serving cannot drift. A model trained from scratch is built by its
spec's builder (the CNN: trainer.models.specs.cnn).

The transfer models are assembled from two parts so that the frozen base never has to be
recomputed during training: ``feature_extractor`` (pixels -> pooled backbone features) and
``head`` (features -> probabilities). ``assemble`` joins them into one model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import keras
from keras import layers

from trainer.errors import BackboneWeightsError, ConfigError
from trainer.models.backbones import (
    WeightsFingerprint,
    backbone_alpha,
    candidate_files,
    download_weights,
    fingerprint_layers,
    not_found_error,
    resolve_weights,
    sha256_file,
)
from trainer.models.layers import Preprocess
from trainer.models.registry import spec
from trainer.names import INPUT_SHAPE


def build_head(feature_dim: int, num_classes: int = 2, name: str = "head") -> keras.Model:
    """GlobalAveragePooling output -> Dense 256 ReLU -> Dropout 0.5 -> Dense softmax."""
    inputs = keras.Input((feature_dim,), name="features")
    x = layers.Dense(256, activation="relu", name="dense")(inputs)
    x = layers.Dropout(0.5, name="dropout_head")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


@dataclass
class Backbone:
    architecture: str
    alpha: float
    weights_path: str
    sha256: str  # of the file: keys the feature cache, and the only identity older cards record
    # of the arrays, set when the network is first built from the file (identity across containers)
    fingerprint: WeightsFingerprint | None = field(default=None, compare=False)

    def card(self) -> dict:
        entry = {
            "name": self.architecture,
            "alpha": self.alpha,
            "weights_file": os.path.basename(self.weights_path),
            "sha256": self.sha256,
        }
        if self.fingerprint is None:
            _base_network(self)  # computes it
        return {**entry, **self.fingerprint.card()}


def network_fingerprint(network: keras.Model) -> WeightsFingerprint:
    """The content fingerprint of a network's weights, layer by layer (trainer.models.backbones)."""
    return fingerprint_layers(
        (layer.name, [(w.name, a) for w, a in zip(layer.weights, layer.get_weights())]) for layer in network.layers)


def check_backbone_identity(recorded: dict, backbone: Backbone, who: str) -> str:
    """Accept ``backbone`` when it holds the weights ``recorded`` (a card's backbone entry) names: the same
    arrays (content fingerprint), or, for entries written before fingerprints, the same file (SHA-256).
    Returns how it matched; raises :class:`BackboneWeightsError` naming the layers that differ."""
    content = recorded.get("content_sha256")
    if backbone.fingerprint is None:
        _base_network(backbone)
    if content and backbone.fingerprint.digest == content:
        return "same weights (content fingerprint)"
    if recorded.get("sha256") == backbone.sha256:
        return "same file (SHA-256)"
    wanted = f"{recorded.get('weights_file')} ({str(content or recorded.get('sha256'))[:12]}...)"
    fix = "point --backbones / MELANOMA_BACKBONES at the weights it was trained with, or remove the other file"
    if not content:
        raise BackboneWeightsError(
            f"backbone weights {backbone.weights_path} have SHA-256 {backbone.sha256[:12]}..., but {who} was "
            f"trained on {wanted}; {fix}")
    differences = backbone.fingerprint.differences(recorded.get("layer_sha256") or {})
    where = "; ".join(differences[:3]) + (f"; and {len(differences) - 3} more" if len(differences) > 3 else "")
    raise BackboneWeightsError(
        f"backbone weights {backbone.weights_path} are not the ones {who} was trained on ({wanted}): "
        f"{where or 'the arrays differ'}; {fix}")


def matching_backbone(recorded: dict, who: str, weights=None, allow_download: bool = False):
    """The first weights file on the search path (trainer.models.backbones) that holds the weights ``recorded`` (a
    card's backbone entry) names, built into a feature extractor: a file with other weights earlier on the path
    (say ``--backbones`` pointing at another model's base) does not hide the right one behind it.
    Returns (backbone, feature extractor, how it matched); raises :class:`BackboneWeightsError`."""
    architecture = recorded["name"]
    alpha = backbone_alpha(architecture, float(recorded.get("alpha", 1.0)))
    paths = candidate_files(architecture, alpha, weights)
    errors = []
    for path in paths + ([None] if allow_download else []):
        try:
            path = path or download_weights(architecture, alpha)
            backbone = Backbone(architecture, alpha, str(path), sha256_file(path))
            extractor = feature_extractor(backbone)
            return backbone, extractor, check_backbone_identity(recorded, backbone, who)
        except BackboneWeightsError as exc:
            errors.append(exc)
    if not paths:
        raise not_found_error(architecture, alpha, weights, "".join(f"; {e}" for e in errors))
    others = f" ({len(errors) - 1} other file(s) on the search path did not match either)" if len(errors) > 1 else ""
    raise BackboneWeightsError(f"{errors[0]}{others}")


def load_backbone(architecture: str, alpha: float = 1.0, weights=None, allow_download: bool = True) -> Backbone:
    path = resolve_weights(architecture, alpha, weights, allow_download=allow_download)
    return Backbone(architecture, backbone_alpha(architecture, alpha), str(path), sha256_file(path))


def _base_network(backbone: Backbone) -> keras.Model:
    architecture = spec(backbone.architecture)
    base = architecture.base_network(backbone.alpha, include_top=False, weights=None, input_shape=INPUT_SHAPE)
    try:
        base.load_weights(backbone.weights_path)
    except Exception as exc:
        raise BackboneWeightsError(
            f"{backbone.weights_path} does not hold {backbone.architecture} ImageNet weights"
            f"{' for alpha ' + str(backbone.alpha) if architecture.has_width else ''} "
            f"({type(exc).__name__}: {str(exc)[:160]}); check the file or point --backbones elsewhere"
        ) from None
    base.trainable = False
    if backbone.fingerprint is None:
        backbone.fingerprint = network_fingerprint(base)
    return base


def feature_extractor(backbone: Backbone) -> keras.Model:
    """Raw pixels -> preprocessing -> frozen base -> GlobalAveragePooling."""
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = Preprocess(spec(backbone.architecture).preprocessing, name="preprocess")(inputs)
    base = _base_network(backbone)
    x = base(x, training=False)
    outputs = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, outputs, name=f"{backbone.architecture}_features")


def assemble(extractor: keras.Model, head: keras.Model, name: str) -> keras.Model:
    """One model from pixels to probabilities, sharing the layers (and weights) of both parts."""
    inputs = keras.Input(INPUT_SHAPE, name="image")
    return keras.Model(inputs, head(extractor(inputs)), name=name)


def base_of(extractor: keras.Model) -> keras.Model:
    """The ImageNet base (a nested model) inside a feature extractor."""
    for layer in extractor.layers:
        if isinstance(layer, keras.Model):
            return layer
    raise ConfigError(f"{extractor.name} holds no backbone network")


def build_model(architecture: str, num_classes: int = 2, backbone: Backbone | None = None) -> keras.Model:
    """Uncompiled end-to-end model for ``architecture``."""
    registered = spec(architecture)
    if registered.from_scratch:
        return registered.build(num_classes, registered.default_variant)
    if backbone is None:
        backbone = load_backbone(architecture)
    extractor = feature_extractor(backbone)
    head = build_head(extractor.output_shape[-1], num_classes)
    return assemble(extractor, head, architecture)
