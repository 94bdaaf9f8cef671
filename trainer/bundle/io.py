"""Self-describing model bundles: ``card.json`` beside the trained weights.

A bundle directory holds ``card.json`` and the weights. ``model_part`` says what they cover:

* ``full`` - the whole model (the custom CNN): ``model.keras``, or ``weights.npz`` for the paper's
  CNN whose large Dense kernel is stored as float16.
* ``head`` - only the trained head of a transfer model; the frozen ImageNet base is found at load time
  (``--backbones`` / ``$MELANOMA_BACKBONES`` / Keras) and checked against the SHA-256 in the card.
* ``tuned`` - the head plus the fine-tuned layers of the base (``weights.npz``, listed in the card's
  ``tuned_layers``); the other base layers come from the ImageNet file, checked as for ``head``.

Loading verifies the card schema and both checksums, with ``safe_mode`` on.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from trainer.bundle.calibration import apply_calibration
from trainer.bundle.cards import (  # noqa: F401
    CARD_NAME,
    MODEL_NAME,
    SCHEMA_VERSION,
    ModelCard,
    find_bundles,
    portable_training,
    read_card,
    validate_card,
    write_card,
)
from trainer.errors import BundleError
from trainer.models import layers as _layers  # noqa: F401  (registers the custom layers for loading)
from trainer.models.architectures import Backbone, assemble, base_of, build_head, matching_backbone
from trainer.models.backbones import sha256_file
from trainer.models.registry import names as architecture_names
from trainer.models.registry import spec

WEIGHTS_NPZ = "weights.npz"
FLOAT16_MIN_SIZE = 1_000_000  # arrays larger than this are stored as float16


@dataclass
class TunedParts:
    """What a ``tuned`` bundle stores: the head and the named layers of the extractor's base."""

    extractor: keras.Model
    head: keras.Model
    layers: list[str]

    @property
    def dtype_note(self) -> str:
        return f"float32; arrays over {FLOAT16_MIN_SIZE:,} elements float16"


def _maybe_half(w: np.ndarray) -> np.ndarray:
    return w.astype(np.float16) if w.size > FLOAT16_MIN_SIZE else w


def save_tuned(bundle_dir: str | os.PathLike, parts: TunedParts) -> tuple[str, str]:
    """Write the head's and the tuned base layers' weights to ``weights.npz``; return (name, sha256)."""
    base = base_of(parts.extractor)
    arrays = {f"head/{i:03d}": _maybe_half(w) for i, w in enumerate(parts.head.get_weights())}
    for name in parts.layers:
        for i, w in enumerate(base.get_layer(name).get_weights()):
            arrays[f"base/{name}/{i:03d}"] = _maybe_half(w)
    path = Path(bundle_dir) / WEIGHTS_NPZ
    np.savez(path, **arrays)
    return WEIGHTS_NPZ, sha256_file(path)


def _load_tuned(path: Path, card: ModelCard, extractor: keras.Model) -> keras.Model:
    """Set the tuned base layers' weights inside ``extractor``; return the head."""
    base = base_of(extractor)
    layer_names = card.tuned_layers
    if not isinstance(layer_names, tuple):
        raise BundleError(f"{path}: a tuned bundle's card needs a 'tuned_layers' list; re-export it")
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    head_arrays = [arrays[k] for k in sorted(k for k in arrays if k.startswith("head/"))]
    if not head_arrays:
        raise BundleError(f"{path} holds no head weights; re-export the bundle")
    head = build_head(int(head_arrays[0].shape[0]), len(card.class_names))
    _set_weights(head, head_arrays, path, "head")
    for name in layer_names:
        try:
            layer = base.get_layer(name)
        except ValueError:
            raise BundleError(f"{path}: tuned layer {name!r} is not in the {card.architecture} base") from None
        prefix = f"base/{name}/"
        _set_weights(layer, [arrays[k] for k in sorted(k for k in arrays if k.startswith(prefix))], path, name)
    return head


def _set_weights(target, arrays: list[np.ndarray], path: Path, what: str) -> None:
    expected = [tuple(w.shape) for w in target.weights]
    if [tuple(a.shape) for a in arrays] != expected:
        raise BundleError(f"{path}: the weights stored for {what} do not fit the architecture; re-export the bundle")
    target.set_weights([a.astype(w.dtype) for a, w in zip(arrays, target.weights)])

def save_model_file(bundle_dir: str | os.PathLike, model: keras.Model) -> tuple[str, str]:
    """Save ``model`` as ``model.keras``; return (file name, sha256)."""
    bundle_dir = Path(bundle_dir)
    bundle_dir.mkdir(parents=True, exist_ok=True)
    path = bundle_dir / MODEL_NAME
    # A fresh, uncompiled copy (from its config: Keras' clone_model keeps the compile state), so the file
    # holds the weights without the optimizer's state, a third of the size.
    clean = model.__class__.from_config(model.get_config())
    clean.set_weights(model.get_weights())
    clean.save(path)
    return MODEL_NAME, sha256_file(path)


@dataclass
class LoadedBundle:
    directory: Path
    card: ModelCard
    model: keras.Model
    backbone: Backbone | None = None  # the ImageNet base found for a head / tuned bundle
    backbone_match: str = ""  # how it was accepted: same weights (content) or same file (older cards)
    _embedder: object = field(default=None, repr=False, compare=False)  # pixels -> (embedding, probabilities)

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def version(self) -> str:
        return self.card.version

    @property
    def class_names(self) -> list[str]:
        return list(self.card.class_names)

    @property
    def threshold(self) -> float:
        return float(self.card.threshold)

    @property
    def calibration(self) -> dict:
        """The card's calibration (trainer.bundle.calibration), applied by predict_proba."""
        return dict(self.card.calibration)

    def predict_proba(self, images: np.ndarray, batch_size: int = 16) -> np.ndarray:
        """Calibrated class probabilities for raw RGB uint8 images ``(n, 224, 224, 3)``."""
        outputs = []
        for start in range(0, len(images), batch_size):
            batch = np.asarray(images[start : start + batch_size], dtype="float32")
            outputs.append(np.asarray(self.model.predict_on_batch(batch)))  # compiled: 2-10x faster than eager
        probs = np.concatenate(outputs) if outputs else np.zeros((0, len(self.class_names)))
        return apply_calibration(probs, self.calibration)

    @property
    def embedding_version(self) -> str:
        """Which version's embeddings this model reads (its own: trainer.bundle.adapted wraps it for a clinic)."""
        return self.version

    def predict_with_embeddings(self, images: np.ndarray, batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated class probabilities and the embedding the head read (trainer.bundle.embedding), one pass."""
        if self._embedder is None:
            from trainer.bundle.embedding import embedding_model

            self._embedder = embedding_model(self)
        probs, embeddings = [], []
        for start in range(0, len(images), batch_size):
            batch = np.asarray(images[start : start + batch_size], dtype="float32")
            features, p = self._embedder.predict_on_batch(batch)
            embeddings.append(np.asarray(features, dtype="float32"))
            probs.append(np.asarray(p))
        if not probs:
            return np.zeros((0, len(self.class_names))), np.zeros((0, 0), dtype="float32")
        return apply_calibration(np.concatenate(probs), self.calibration), np.concatenate(embeddings)


def load_bundle(bundle_dir: str | os.PathLike, backbones=None, allow_download: bool = False) -> LoadedBundle:
    """Load and verify one bundle. Raises :class:`BundleError` or :class:`BackboneWeightsError`."""
    bundle_dir = Path(bundle_dir)
    card = read_card(bundle_dir)
    model_path = bundle_dir / card.model_file
    if not model_path.is_file():
        raise BundleError(f"{bundle_dir}: model file {card.model_file} named in the card is missing")
    actual = sha256_file(model_path)
    if actual != card.model_sha256:
        raise BundleError(
            f"{model_path}: SHA-256 {actual[:12]}... does not match the card ({card.model_sha256[:12]}...); "
            "the file was changed or damaged, reinstall or retrain the model"
        )
    if card.model_part == "tuned":
        extractor, backbone, match = _backbone_extractor(card, backbones, allow_download)
        try:
            head = _load_tuned(model_path, card, extractor)
        except BundleError:
            raise
        except Exception as exc:
            raise BundleError(f"{model_path} could not be loaded ({type(exc).__name__}: {str(exc)[:200]})") from None
        return LoadedBundle(bundle_dir, card, assemble(extractor, head, card.architecture), backbone, match)
    try:
        if model_path.suffix == ".npz":
            part = _load_npz_weights(model_path, card)
        else:
            part = keras.saving.load_model(model_path, safe_mode=True, compile=False)
    except BundleError:
        raise
    except Exception as exc:
        raise BundleError(f"{model_path} could not be loaded ({type(exc).__name__}: {str(exc)[:200]})") from None
    if card.model_part == "full":
        return LoadedBundle(bundle_dir, card, part)
    extractor, backbone, match = _backbone_extractor(card, backbones, allow_download)
    return LoadedBundle(bundle_dir, card, assemble(extractor, part, card.architecture), backbone, match)


def _backbone_extractor(card: ModelCard, backbones, allow_download: bool) -> tuple[keras.Model, Backbone, str]:
    """The frozen base the card names, built from the weights file found, checked against the card."""
    # the extractor is built (and its ImageNet weights fingerprinted) before any tuned layer is set
    backbone, extractor, match = matching_backbone(card.backbone, f"the model {card.name}", backbones,
                                                   allow_download)
    return extractor, backbone, match


def _part_builder(card: ModelCard, first_kernel_shape) -> keras.Model:
    n = len(card.class_names)
    if card.model_part == "full":
        registered = spec(card.architecture)
        if not registered.from_scratch:
            from_scratch = " and ".join(name for name in architecture_names() if spec(name).from_scratch)
            raise BundleError(f"a full-model weights file is only defined for the {from_scratch}, not "
                              f"{card.architecture}")
        variant = card.architecture_variant or registered.default_variant
        if registered.variants and variant not in registered.variants:
            raise BundleError(f"unknown {registered.short_name} variant {variant!r} in the card; update the program")
        return registered.build(n, variant)
    return build_head(int(first_kernel_shape[0]), n)


def _load_npz_weights(path: Path, card: ModelCard) -> keras.Model:
    """Weights stored as a plain ``.npz`` (float16 to halve the size), architecture from the builder."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = [archive[f"w{i:03d}"] for i in range(len(archive.files))]
    model = _part_builder(card, arrays[0].shape if arrays else (0,))
    expected = [tuple(w.shape) for w in model.weights]
    if [tuple(a.shape) for a in arrays] != expected:
        raise BundleError(f"{path}: weight shapes do not fit the {card.architecture} architecture; re-export it")
    model.set_weights([a.astype(w.dtype) for a, w in zip(arrays, model.weights)])
    return model


def export_bundle(src: str | os.PathLike, dst: str | os.PathLike, float16: bool = True, backbones=None,
                  probe: np.ndarray | None = None, tolerance: float = 1e-3) -> dict:
    """Copy a bundle for shipping; with ``float16`` the weights of a full model are stored as float16
    ``weights.npz``. Predictions on ``probe`` images must match the original within ``tolerance``.
    Returns {"max_abs_difference": ..., "bytes": ...}."""
    src, dst = Path(src), Path(dst)
    original = load_bundle(src, backbones)
    card = original.card.replace(training=portable_training(original.card.training))
    if original.backbone is not None:  # identity by content, so that another container of the same arrays loads
        card = card.replace(backbone={**card.backbone, **original.backbone.fingerprint.card()})
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(MODEL_NAME, WEIGHTS_NPZ, "*.tmp"))
    part = original.model if card.model_part == "full" else original.model.get_layer("head")
    if card.model_part == "tuned":  # written in shipping form by the trainer (float16 above 1 M elements)
        shutil.copy2(src / card.model_file, dst / card.model_file)
    elif float16 and card.model_part == "full":
        # Only the large kernels go to float16 (the Dense kernel is 22 M of the CNN's 22.2 M weights); the
        # small arrays (biases, BatchNorm statistics, conv kernels) stay float32, where float16 would cost
        # precision for no saving.
        np.savez(dst / WEIGHTS_NPZ, **{f"w{i:03d}": _maybe_half(w) for i, w in enumerate(part.get_weights())})
        card = card.replace(model_file=WEIGHTS_NPZ, model_sha256=sha256_file(dst / WEIGHTS_NPZ), weights_dtype="float16")
    else:  # re-saved, so that a file holding optimizer state is not shipped
        model_file, sha = save_model_file(dst, part)
        card = card.replace(model_file=model_file, model_sha256=sha, weights_dtype="float32")
    write_card(dst, card)
    exported = load_bundle(dst, backbones)
    if probe is None:
        probe = np.random.default_rng(0).integers(0, 256, (8, 224, 224, 3)).astype(np.uint8)
    diff = float(np.abs(exported.predict_proba(probe) - original.predict_proba(probe)).max())
    if diff > tolerance:
        shutil.rmtree(dst)
        raise BundleError(f"exported {card.name} differs from the original by {diff:.2e} > {tolerance}; "
                          "export without float16")
    return {"max_abs_difference": diff, "bytes": sum(f.stat().st_size for f in dst.iterdir()), "bundle": exported}


__all__ = [
    "Backbone",
    "LoadedBundle",
    "apply_calibration",
    "find_bundles",
    "load_bundle",
    "read_card",
    "save_model_file",
    "save_tuned",
    "TunedParts",
    "validate_card",
    "write_card",
]
