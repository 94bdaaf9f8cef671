"""Custom Keras layers saved inside the models, registered so that ``safe_mode`` loading works."""

from __future__ import annotations

import keras
from keras import ops

# ImageNet channel means in BGR order, as in keras.applications.imagenet_utils ("caffe" mode).
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
PREPROCESSING_MODES = ("unit", "caffe", "tf")


@keras.saving.register_keras_serializable(package="melanoma")
class Preprocess(keras.layers.Layer):
    """Raw RGB pixels in [0, 255] -> what the network was trained on.

    * ``unit``:  x / 255 (the paper's custom CNN)
    * ``caffe``: RGB -> BGR, minus the ImageNet means (``keras.applications.vgg16.preprocess_input``)
    * ``tf``:    x / 127.5 - 1 (``keras.applications.mobilenet_v2.preprocess_input``)
    """

    def __init__(self, mode: str = "unit", **kwargs):
        super().__init__(**kwargs)
        if mode not in PREPROCESSING_MODES:
            raise ValueError(f"unknown preprocessing mode {mode!r}; use one of {PREPROCESSING_MODES}")
        self.mode = mode

    def call(self, x):
        x = ops.cast(x, "float32")
        if self.mode == "unit":
            return x / 255.0
        if self.mode == "tf":
            return x / 127.5 - 1.0
        x = ops.flip(x, axis=-1)
        return x - ops.convert_to_tensor(_CAFFE_MEAN_BGR, dtype="float32")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
