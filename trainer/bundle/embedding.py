"""What a loaded model saw: its embedding (the vector its head reads) beside its probabilities, and its head as
NumPy arrays (trainer.bundle.adapter), so that a clinic adapter can be fitted and applied without Keras.

The embedding is the input of the head's Dense 256 layer (``dense``): the pooled base features of VGG16 (512)
and MobileNetV2 (1280 at alpha 1, 1280 at 0.35 too), the pooled convolution features of the CNN's ``gap``
variant (128). The paper's Flatten CNN feeds 86,528 values to that layer; its embedding is the Dense layer's
output (256) instead, and its head is the softmax layer alone.
"""

from __future__ import annotations

import keras
import numpy as np

from trainer.bundle.adapter import HeadArrays
from trainer.errors import BundleError

MAX_EMBEDDING_DIM = 4096


def _head_and_parts(bundle):
    """(model to read from, its Dense 256 layer, its softmax layer)."""
    model = bundle.model
    names = [layer.name for layer in model.layers]
    holder = model.get_layer("head") if "head" in names else model
    try:
        return holder, holder.get_layer("dense"), holder.get_layer("probabilities")
    except ValueError:
        raise BundleError(f"{bundle.directory}: the model has no 'dense' / 'probabilities' head layers; "
                          "it cannot give embeddings (re-export the bundle)") from None


def embedding_after_dense(bundle) -> bool:
    """Whether the embedding is the Dense layer's output (its input being too wide to store with each case)."""
    _, dense, _ = _head_and_parts(bundle)
    return int(dense.kernel.shape[0]) > MAX_EMBEDDING_DIM


def head_arrays(bundle) -> HeadArrays:
    """The bundle's head from its embedding to its calibrated P(positive), as NumPy arrays."""
    _, dense, out = _head_and_parts(bundle)
    out_w = [np.asarray(w, dtype=np.float32) for w in out.get_weights()]
    common = dict(out_kernel=out_w[0], out_bias=out_w[1], positive_index=bundle.card.positive_index,
                  calibration=dict(bundle.card.calibration))
    if embedding_after_dense(bundle):
        return HeadArrays(**common)
    dense_w = [np.asarray(w, dtype=np.float32) for w in dense.get_weights()]
    return HeadArrays(**common, hidden_kernel=dense_w[0], hidden_bias=dense_w[1])


def embedding_model(bundle) -> keras.Model:
    """Pixels -> (embedding, uncalibrated probabilities), sharing the bundle's layers."""
    holder, dense, _ = _head_and_parts(bundle)
    model = bundle.model
    if holder is model:  # the CNN: one functional graph
        tap = dense.output if embedding_after_dense(bundle) else dense.input
        return keras.Model(model.inputs, [tap, model.output])
    extractor = next(layer for layer in model.layers if layer is not holder and isinstance(layer, keras.Model))
    inputs = keras.Input(model.inputs[0].shape[1:], name="image")
    features = extractor(inputs)
    return keras.Model(inputs, [features, holder(features)])
