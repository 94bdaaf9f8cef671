"""Grad-CAM heatmaps: where in the image each model's P(malignant) comes from.

CNN: the last convolution (``conv3``); VGG16 and MobileNetV2: the last convolutional layer of the
base (``block5_conv3`` / ``out_relu``). Each heatmap is (224, 224) in [0, 1].
"""

from __future__ import annotations

import keras
import numpy as np
from PIL import Image

LAST_CONV = {"cnn": "conv3", "vgg16": "block5_conv3", "mobilenetv2": "out_relu"}


class GradCam:
    def __init__(self, bundle):
        import tensorflow as tf

        self._tf = tf
        self.bundle = bundle
        arch = bundle.card.architecture
        self.positive = bundle.card.positive_index
        model = bundle.model
        if arch == "cnn":
            self._conv_model = keras.Model(model.inputs, [model.get_layer(LAST_CONV[arch]).output, model.output])
            self._head = None
        else:
            extractor = model.get_layer(f"{arch}_features")
            self._pre = extractor.get_layer("preprocess")
            base = next(layer for layer in extractor.layers if isinstance(layer, keras.Model))
            self._conv_model = keras.Model(base.inputs, [base.get_layer(LAST_CONV[arch]).output, base.output])
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
