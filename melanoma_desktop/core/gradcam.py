"""Grad-CAM heatmaps: where in the image each model's P(malignant) comes from.

The layer is each architecture's ``last_conv_layer`` (trainer.models.registry): in the model for one trained
from scratch (the CNN: ``conv3``), in the ImageNet base for a transfer model (VGG16 ``block5_conv3``,
MobileNetV2 ``out_relu``). Each heatmap is (224, 224) in [0, 1].
"""

from __future__ import annotations

import keras
import numpy as np
from PIL import Image

from trainer.models.registry import spec


class GradCam:
    def __init__(self, bundle):
        import tensorflow as tf

        self._tf = tf
        self.bundle = bundle
        arch = bundle.card.architecture
        self.positive = bundle.card.positive_index
        model = bundle.model
        last_conv = spec(arch).last_conv_layer
        if spec(arch).from_scratch:
            self._conv_model = keras.Model(model.inputs, [model.get_layer(last_conv).output, model.output])
            self._head = None
        else:
            extractor = model.get_layer(f"{arch}_features")
            self._pre = extractor.get_layer("preprocess")
            base = next(layer for layer in extractor.layers if isinstance(layer, keras.Model))
            self._conv_model = keras.Model(base.inputs, [base.get_layer(last_conv).output, base.output])
            self._head = model.get_layer("head")

    def heatmaps(self, images: np.ndarray) -> np.ndarray:
        tf = self._tf
        x = tf.convert_to_tensor(np.asarray(images, dtype="float32"))
        with tf.GradientTape() as tape:
            if self._head is None:
                conv, probs = self._conv_model(x, training=False)
            else:
                conv, base_out = self._conv_model(self._pre(x), training=False)
                probs = self._head(tf.reduce_mean(base_out, axis=(1, 2)), training=False)
            target = probs[:, self.positive]
        grads = tape.gradient(target, conv)
        weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * conv, axis=-1)).numpy()
        out = np.zeros((len(cam), images.shape[1], images.shape[2]), dtype=np.float32)
        for i, c in enumerate(cam):
            top = c.max()
            c = c / top if top > 0 else c
            out[i] = np.asarray(Image.fromarray(c.astype(np.float32)).resize(out.shape[2:0:-1], Image.BILINEAR))
        return np.clip(out, 0.0, 1.0)
