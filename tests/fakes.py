"""A fake classifier for fast UI and core tests: P(malignant) = darkness of the image."""

from __future__ import annotations

import time

import numpy as np

from melanoma_desktop.core.records import ModelInfo, ModelPrediction


class FakeClassifier:
    """Three models that read the same darkness score against different thresholds, so mid-grey
    images make them disagree. ``delay_s`` slows each batch (for cancel tests)."""

    thresholds = {"cnn": 0.3, "vgg16": 0.5, "mobilenetv2": 0.7}

    # the combined rule: the plain mean of the three (no calibration), flagged at 0.6
    FLAG_LINE = 0.6

    def __init__(self, delay_s: float = 0.0, unavailable: dict[str, str] | None = None):
        self.delay_s = delay_s
        self.unavailable = unavailable or {}
        self.calls = 0
        available = [i for i in self.model_infos() if i.available]
        self.ensemble = {"members": {i.name: i.version for i in available}, "threshold": self.FLAG_LINE}

    def model_infos(self):
        infos = []
        for name, t in self.thresholds.items():
            if name in self.unavailable:
                infos.append(ModelInfo(name, name.upper(), available=False, reason=self.unavailable[name]))
            else:
                infos.append(ModelInfo(name, f"Fake {name}", version=f"{name}-fake-1", threshold=t,
                                       test_metrics={"accuracy": 0.8, "roc_auc": 0.85, "sensitivity": 0.9}))
        return infos

    def heatmaps(self, image):
        """A Gaussian bump on the darkest region, per model."""
        grey = np.asarray(image, dtype=float).mean(axis=2)
        y, x = np.unravel_index(np.argmin(grey), grey.shape)
        yy, xx = np.mgrid[0 : grey.shape[0], 0 : grey.shape[1]]
        bump = np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * 20.0**2)).astype(np.float32)
        return {i.name: (i.version, bump) for i in self.model_infos() if i.available}

    def predict(self, images):
        self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        darkness = 1.0 - np.asarray(images, dtype=float).mean(axis=(1, 2, 3)) / 255.0
        return [[ModelPrediction(info.name, info.version, float(d), info.threshold)
                 for info in self.model_infos() if info.available] for d in darkness]


def grey_image(path, level: int, size: int = 32):
    """A flat grey square: decodes, but the quality checks set it aside (no skin, no detail, often small)."""
    from PIL import Image

    Image.new("RGB", (size, size), (level, level, level)).save(path)
    return path


def skin_image(path, darkness: float, size: int = 128, mark: int | None = None):
    """A textured skin-coloured square that passes the pixel checks; the fake models read ``darkness``
    (0.25-0.75) from it, give or take 0.01. ``mark`` (default: from the file name) changes two corner pixels,
    so that two images of the same darkness are still two files with different content."""
    import zlib

    from PIL import Image

    level = (1.0 - darkness) * 255.0
    texture = np.where((np.add.outer(np.arange(size), np.arange(size)) // 2) % 2 == 0, 9.0, -9.0)
    pixels = np.rint(np.stack([np.clip(level * f + texture, 0, 255) for f in (1.2, 0.95, 0.85)], axis=-1))
    mark = zlib.crc32(str(path).encode()) if mark is None else mark
    pixels[0, 0, 0], pixels[0, 1, 0] = mark % 256, (mark // 256) % 256
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path


def document_photo(path, size=(400, 300)):
    """A photo of a typed letter: white paper, dark lines of text. Not skin."""
    from PIL import Image

    w, h = size
    page = np.full((h, w, 3), 238, np.uint8)
    for y in range(30, h - 30, 18):
        for x0 in range(30, w - 60, 50):
            page[y : y + 7, x0 : x0 + 38] = 30
    Image.fromarray(page).save(path)
    return path
