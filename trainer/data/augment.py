"""Seeded augmentation of training images: flips, rotations, zoom, brightness and contrast.

The same augmenter feeds the custom CNN (a fresh draw per batch) and the feature cache of the
transfer models (a fixed number of augmented copies per image, computed once).
"""

from __future__ import annotations

import keras
import numpy as np

STRENGTHS = {
    # name: (rotation as a fraction of a full turn, zoom, brightness, contrast)
    "paper": (0.1, 0.1, 0.1, 0.1),
    "strong": (0.5, 0.2, 0.2, 0.2),
}


class Augmenter:
    """Callable: uint8 batch (n, h, w, 3) -> augmented uint8 batch, reproducible for a seed."""

    def __init__(self, seed: int, strength: str = "paper"):
        rotation, zoom, brightness, contrast = STRENGTHS[strength]
        self.strength = strength
        self.seed = seed
        self._layers = keras.Sequential(
            [
                keras.layers.RandomFlip("horizontal_and_vertical", seed=seed),
                keras.layers.RandomRotation(rotation, fill_mode="reflect", seed=seed + 1),
                keras.layers.RandomZoom((-zoom, zoom), fill_mode="reflect", seed=seed + 2),
                keras.layers.RandomBrightness(brightness, value_range=(0, 255), seed=seed + 3),
                keras.layers.RandomContrast(contrast, value_range=(0, 255), seed=seed + 4),
            ],
            name=f"augment_{strength}",
        )

    def __call__(self, images: np.ndarray) -> np.ndarray:
        out = self._layers(images.astype("float32"), training=True)
        return np.clip(np.rint(keras.ops.convert_to_numpy(out)), 0, 255).astype(np.uint8)

    def describe(self) -> dict:
        rotation, zoom, brightness, contrast = STRENGTHS[self.strength]
        return {
            "strength": self.strength,
            "flip": "horizontal_and_vertical",
            "rotation_turns": rotation,
            "zoom": zoom,
            "brightness": brightness,
            "contrast": contrast,
            "seed": self.seed,
        }
