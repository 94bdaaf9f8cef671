"""Finding ImageNet weights for the frozen backbones, and fingerprinting them.

Search order: an explicit file or folder (``--backbones``), then ``$MELANOMA_BACKBONES``, then
Keras' cache (``~/.keras/models``), then Keras' own download (only when ``allow_download``).
Weights are always loaded by path, so the SHA-256 of the exact file used can go into the card.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from trainer.errors import BackboneWeightsError

ENV_BACKBONES = "MELANOMA_BACKBONES"
KERAS_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"
TRANSFER_ARCHITECTURES = ("vgg16", "mobilenetv2")


@dataclass(frozen=True)
class BackboneSpec:
    architecture: str
    alpha: float
    file_names: tuple[str, ...]  # accepted names, ours first, Keras' official name last
    url: str

    @property
    def keras_name(self) -> str:
        return self.file_names[-1]


def spec_for(architecture: str, alpha: float = 1.0) -> BackboneSpec:
    if architecture == "vgg16":
        official = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
        return BackboneSpec("vgg16", 1.0, ("vgg16_imagenet_notop.h5", official), KERAS_BASE + "vgg16/" + official)
    if architecture == "mobilenetv2":
        official = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_224_no_top.h5"
        ours = f"mobilenet_v2_{float(alpha)}_224_imagenet_notop.h5"
        if float(alpha) == 1.0:
            ours_alt = ("mobilenet_v2_1.0_224_imagenet_notop.h5", "mobilenet_v2_imagenet_notop.h5")
        else:
            ours_alt = (ours,)
        return BackboneSpec("mobilenetv2", float(alpha), (*ours_alt, official), KERAS_BASE + "mobilenet_v2/" + official)
    raise BackboneWeightsError(f"{architecture!r} has no ImageNet backbone; use one of {', '.join(TRANSFER_ARCHITECTURES)}")


@lru_cache(maxsize=32)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file, cached per (path, size, mtime) within a process."""
    st = os.stat(path)
    return _sha256_cached(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def _look_in(location: Path, spec: BackboneSpec) -> Path | None:
    if location.is_file():
        return location
    if location.is_dir():
        for name in spec.file_names:
            if (location / name).is_file():
                return location / name
    return None


def bundled_backbones_dir() -> Path | None:
    """``resources/backbones`` inside a packaged (PyInstaller) app; None when running from source."""
    import sys

    base = getattr(sys, "_MEIPASS", None)
    return Path(base) / "resources" / "backbones" if base else None


def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def resolve_weights(
    architecture: str,
    alpha: float = 1.0,
    explicit: str | os.PathLike | None = None,
    allow_download: bool = True,
) -> Path:
    """Return the path of the backbone weights file, or raise :class:`BackboneWeightsError`."""
    spec = spec_for(architecture, alpha)
    tried = []
    candidates = []
    if explicit:
        candidates.append(Path(explicit).expanduser())
    if os.environ.get(ENV_BACKBONES):
        candidates.append(Path(os.environ[ENV_BACKBONES]).expanduser())
    if bundled_backbones_dir() is not None:
        candidates.append(bundled_backbones_dir())
    candidates.append(keras_cache_dir())
    for location in candidates:
        found = _look_in(location, spec)
        if found is not None:
            return found
        tried.append(str(location))
    if allow_download:
        try:
            import keras

            return Path(keras.utils.get_file(spec.keras_name, spec.url, cache_subdir="models"))
        except Exception as exc:  # network errors come in many classes
            tried.append(f"Keras download ({type(exc).__name__}: {str(exc)[:120]})")
    raise BackboneWeightsError(
        f"ImageNet weights for {architecture}"
        + (f" (alpha {spec.alpha})" if architecture == "mobilenetv2" else "")
        + f" not found; expected a file named {spec.file_names[0]} or {spec.keras_name}. "
        f"Looked in: {'; '.join(tried)}. Put the file in a folder and pass --backbones FOLDER "
        f"or set {ENV_BACKBONES}=FOLDER"
    )
