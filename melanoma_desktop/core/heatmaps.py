"""Heatmap storage and display helpers (NumPy and Pillow only, so the window can use them
without importing TensorFlow)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def heatmap_png(heatmap: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.rint(np.clip(heatmap, 0, 1) * 255).astype(np.uint8), "L").save(buffer, "PNG")
    return buffer.getvalue()


def heatmap_from_png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float32) / 255.0


def jet(values: np.ndarray) -> np.ndarray:
    """The 'jet' colour scale (blue, cyan, yellow, red) for values in [0, 1], as RGB in [0, 1]: the classic
    piecewise-linear form, in NumPy, so the window can colour heatmaps without importing matplotlib."""
    x = np.clip(np.asarray(values, dtype=np.float32), 0, 1)[..., None]
    return np.clip(1.5 - np.abs(4.0 * x - np.array([3.0, 2.0, 1.0], np.float32)), 0, 1)


def overlay(rgb: np.ndarray, heatmap: np.ndarray, opacity: float) -> np.ndarray:
    """The image with the heatmap blended over it in the 'jet' colour scale."""
    if heatmap.shape != rgb.shape[:2]:
        heatmap = np.asarray(Image.fromarray((heatmap * 255).astype(np.uint8)).resize(rgb.shape[1::-1]),
                             dtype=np.float32) / 255.0
    coloured = jet(heatmap) * 255.0
    alpha = opacity * np.clip(heatmap * 1.5, 0, 1)[..., None]
    return np.clip(rgb * (1 - alpha) + coloured * alpha, 0, 255).astype(np.uint8)
