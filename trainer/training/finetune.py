"""Fine-tuning the upper part of a transfer model, after its head has converged on frozen features. What each
architecture gets is its spec's (trainer.models.specs): fine-tuning by blocks (``last_block``), the last block
alone on cached outputs (``cached_split_layer``), or the whole base.

* VGG16: block 5 (three 3x3 convolutions, 7.1 M weights) and the head are trained on the cached
  output of block 4. Blocks 1-4 stay frozen, so their output is computed once per image (cached on
  disk like the pooled features) instead of in every epoch: a frozen VGG16 base runs ~7 images/s on
  a 2-core CPU, block 5 trains at ~85 images/s. The cached block-4 outputs are not augmented.
* MobileNetV2: the whole base and the head are trained end to end on augmented pixels (it is
  small enough: ~60 images/s on the same CPU). BatchNorm layers stay frozen and in inference mode,
  the usual practice when fine-tuning on a small dataset.

Both use a low learning rate, early stopping on validation loss with the best weights restored.
The tuned layers share their weight variables with the feature extractor, so after training
``assemble(extractor, head)`` is the fine-tuned model.
"""

from __future__ import annotations

import time

import keras
import numpy as np

from trainer.data.augment import Augmenter
from trainer.models.architectures import INPUT_SHAPE, Backbone, assemble, base_of
from trainer.models.features import FeatureCache, compute_features, images_fingerprint
from trainer.models.layers import Preprocess
from trainer.models.registry import spec
from trainer.progress import ProgressEvent, TrainingCancelled
from trainer.training.fitting import fit


def _block_of(layer_name: str) -> int | None:
    """The block a layer of a base fine-tuned by blocks belongs to (``block5_conv3``: 5)."""
    head = layer_name.split("_", 1)[0]
    return int(head[5:]) if head.startswith("block") and head[5:].isdigit() else None


def tuned_layer_names(architecture: str, base: keras.Model, from_block: int | None = None) -> list[str]:
    """The base's layers whose weights fine-tuning changes (and a tuned bundle stores); one fine-tuned by blocks
    (VGG16): its blocks ``from_block`` (default: the last) to the last."""
    last_block = spec(architecture).last_block
    if last_block:
        from_block = last_block if from_block is None else int(from_block)
        return [layer.name for layer in base.layers
                if (_block_of(layer.name) or 0) >= from_block and layer.weights]
    return [layer.name for layer in base.layers if layer.weights]


def split_at_cached_layer(architecture: str, extractor: keras.Model,
                          head: keras.Model) -> tuple[keras.Model, keras.Model]:
    """(pixels -> the spec's ``cached_split_layer`` output, frozen) and (that output -> the last block -> pool ->
    head, trainable). VGG16: blocks 1-4, and block 5 with the head."""
    registered = spec(architecture)
    base = base_of(extractor)
    split = base.get_layer(registered.cached_split_layer)
    pixels = keras.Input(INPUT_SHAPE, name="image")
    lower_base = keras.Model(base.input, split.output, name=f"{architecture}_below_split")
    lower = keras.Model(pixels, lower_base(Preprocess(registered.preprocessing, name="preprocess")(pixels)),
                        name=f"{architecture}_lower")
    features = keras.Input(split.output.shape[1:], name="split_features")
    x = features
    after = False
    for layer in base.layers:
        if after:
            x = layer(x)
        after = after or layer is split
    x = extractor.get_layer("pool")(x)
    upper = keras.Model(features, head(x), name=f"{architecture}_upper")
    return lower, upper


def _cached(config, backbone: Backbone, extractor, images, part, on_progress, should_stop):
    cache = FeatureCache(config.cache_dir, enabled=True)
    name, registered = backbone.architecture, spec(backbone.architecture)
    key = cache.key(backbone.sha256, backbone.alpha, images_fingerprint(images), f"{registered.cached_split_layer}|none")
    outputs = f"{name} block-{registered.last_block - 1} outputs"  # the block below the one fine-tuned
    started = time.perf_counter()

    def on_batch(done, total):
        rate = (time.perf_counter() - started) / max(done, 1)
        on_progress(ProgressEvent("features", name, message=f"{outputs}, {part}: {done}/{total}",
                                  step=done, steps=total, eta_s=rate * (total - done)))

    feats = cache.get_or_compute(
        key, lambda: compute_features(extractor, images, 32, should_stop, on_batch, dtype="float16"))
    if feats is None:
        raise TrainingCancelled(f"cancelled while computing {outputs}")
    return feats


def finetune_last_block(config, backbone, extractor, head, data, settings, common, on_progress, should_stop):
    """Two phases on cached outputs of the spec's ``cached_split_layer`` (VGG16: block 4): the head with the last
    block frozen (``config.learning_rate``), then the last block and the head together
    (``settings["learning_rate"]``).

    Returns (frozen-phase history, fine-tuning history, test probabilities, validation probabilities).
    """
    name = backbone.architecture
    lower, upper = split_at_cached_layer(name, extractor, head)
    feats = {part: _cached(config, backbone, lower, data.x[part], part, on_progress, should_stop)
             for part in ("val", "test", "train")}
    tuned = [layer for layer in upper.layers if _block_of(layer.name) == spec(name).last_block]
    for layer in tuned:
        layer.trainable = False
    frozen = fit(upper, name, feats["train"], data.y["train"], feats["val"], data.y["val"], **common)
    for layer in tuned:
        layer.trainable = True
    before = upper.get_weights()
    tuning = fit(upper, name, feats["train"], data.y["train"], feats["val"], data.y["val"],
                 **_tuning_settings(config, name, settings, common))
    _keep_the_better(upper, before, frozen, tuning)
    return frozen, tuning, _predict(upper, feats["test"]), _predict(upper, feats["val"])


def _tuning_settings(config, name: str, settings: dict, common: dict) -> dict:
    """``fit`` arguments of the fine-tuning phase: its epochs, learning rate, patience and schedule."""
    return dict(common, epochs=int(settings["epochs"]), learning_rate=float(settings["learning_rate"]),
                patience=int(settings.get("patience", common["patience"])), plateau=config.plateau.get(name))


def _keep_the_better(model: keras.Model, before: list, frozen: dict, tuning: dict) -> None:
    """Fine-tuning is kept only when it lowered the best validation loss; otherwise the frozen phase's
    weights are put back (``tuning["kept"]`` records which)."""
    best_frozen = min(frozen.get("val_loss") or [np.inf])
    best_tuned = min(tuning.get("val_loss") or [np.inf])
    kept = bool(best_tuned < best_frozen)
    if not kept:
        model.set_weights(before)
    tuning["kept"] = kept


def finetune_end_to_end(config, name, extractor, head, data, settings, common, frozen):
    """The base (BatchNorm frozen; fine-tuned by blocks (VGG16): its blocks ``settings["from_block"]`` to the
    last, the rest frozen) + head on
    augmented pixels, after the head's ``frozen`` phase. (On a GPU: on the 2-core CPU a VGG16 epoch of pixels
    takes hours.) Returns (fine-tuning history, test probabilities, validation probabilities)."""
    base = base_of(extractor)
    base.trainable = True
    tuned = set(tuned_layer_names(name, base, settings.get("from_block")))
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization) or (layer.weights and layer.name not in tuned):
            layer.trainable = False
    model = assemble(extractor, head, name)
    augmenter = Augmenter(config.seed + 7, config.augmentation) if config.augment else None
    before = model.get_weights()
    history = fit(model, name, data.x["train"], data.y["train"], data.x["val"], data.y["val"], augmenter=augmenter,
                  **_tuning_settings(config, name, settings, common))
    _keep_the_better(model, before, frozen, history)
    return history, _predict(model, data.x["test"]), _predict(model, data.x["val"])


def _predict(model: keras.Model, inputs: np.ndarray, batch_size: int = 64) -> np.ndarray:
    out = [np.asarray(model.predict_on_batch(np.asarray(inputs[i:i + batch_size], dtype="float32")))
           for i in range(0, len(inputs), batch_size)]
    return np.concatenate(out)


def merge_histories(first: dict, second: dict) -> dict:
    """One learning curve: the frozen phase's epochs followed by the fine-tuning epochs."""
    keys = {k for k in set(first) | set(second) if isinstance((first.get(k) or second.get(k)), list)}
    n1, n2 = len(first.get("loss", [])), len(second.get("loss", []))
    return {k: list(first.get(k, [np.nan] * n1)) + list(second.get(k, [np.nan] * n2)) for k in keys}
