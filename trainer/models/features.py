"""Backbone features computed once per image (and per augmented copy) and cached on disk.

A frozen base gives the same output for the same pixels in every epoch, so training the head on
cached features is equivalent to running the whole model, at a fraction of the cost. The cache
key covers the backbone file's SHA-256, the pixels, and the augmentation seed and copy index, so a
stale entry can never be read.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable

import numpy as np

ENV_CACHE = "MELANOMA_CACHE"


def default_cache_dir() -> Path:
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "melanoma-triage" / "features"


def images_fingerprint(images: np.ndarray) -> str:
    digest = hashlib.sha256()
    digest.update(str(images.shape).encode())
    digest.update(np.ascontiguousarray(images).data)
    return digest.hexdigest()


def compute_features(
    extractor,
    images: np.ndarray,
    batch_size: int = 32,
    should_stop: Callable[[], bool] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    dtype: str = "float32",
) -> np.ndarray | None:
    """Features of ``images`` in batches; ``transform`` (augmentation) is applied per batch first.

    Returns None when ``should_stop`` asked to stop part-way.
    """
    outputs = []
    for start in range(0, len(images), batch_size):
        if should_stop and should_stop():
            return None
        batch = images[start : start + batch_size]
        if transform is not None:
            batch = transform(batch)
        outputs.append(np.asarray(extractor(batch.astype("float32"), training=False)).astype(dtype))
        if on_batch:
            on_batch(min(start + batch_size, len(images)), len(images))
    shape = tuple(extractor.output_shape[1:])
    return np.concatenate(outputs) if outputs else np.zeros((0, *shape), dtype)


class FeatureCache:
    """Reads and writes ``.npy`` feature files named by a hash of everything that determines them."""

    def __init__(self, directory: str | os.PathLike | None = None, enabled: bool = True):
        self.directory = Path(directory) if directory else default_cache_dir()
        self.enabled = enabled

    def key(self, backbone_sha256: str, alpha: float, images_sha: str, augmentation: str) -> str:
        text = f"v1|{backbone_sha256}|{alpha}|{images_sha}|{augmentation}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def get_or_compute(self, key: str, compute: Callable[[], np.ndarray | None]) -> np.ndarray | None:
        path = self.directory / f"{key}.npy"
        if self.enabled and path.is_file():
            try:
                return np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                path.unlink(missing_ok=True)  # a damaged entry is recomputed
        features = compute()
        if features is not None and self.enabled:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, features, allow_pickle=False)
            os.replace(tmp, path)
        return features
