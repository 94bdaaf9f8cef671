"""Finding ImageNet weights for the frozen backbones, and fingerprinting them.

Search order: an explicit file or folder (``--backbones``), then ``$MELANOMA_BACKBONES``, then the
copies that ship with the program (``resources/backbones``, see its NOTICE.md), then Keras' cache
(``~/.keras/models``), then Keras' own download (only when ``allow_download``).

A backbone is identified by its content, not by its file's bytes: :func:`fingerprint_layers` hashes
every layer's arrays (names, shapes, dtypes, values) as the network holds them after loading, so the
same weights in another HDF5 container (Keras' official download, a re-saved copy) give the same
fingerprint, and a card can say which layer of a different file differs. The file's SHA-256 is kept
too (older cards have only that) and keys the feature cache.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from trainer.errors import BackboneWeightsError
from trainer.models.registry import names as architecture_names
from trainer.models.registry import spec as architecture_spec
from trainer.models.registry import transfer_names
from trainer.shipped import shipped_backbones_dir

ENV_BACKBONES = "MELANOMA_BACKBONES"


@dataclass(frozen=True)
class BackboneSpec:
    architecture: str
    alpha: float
    file_names: tuple[str, ...]  # accepted names, ours first, Keras' official name last
    url: str

    @property
    def keras_name(self) -> str:
        return self.file_names[-1]


def backbone_alpha(architecture: str, alpha: float = 1.0) -> float:
    """The width a backbone is looked for with: ``alpha`` for a base that takes one (MobileNetV2), else 1.0."""
    return architecture_spec(architecture).width(alpha) if architecture in architecture_names() else 1.0


def spec_for(architecture: str, alpha: float = 1.0) -> BackboneSpec:
    """The weights files of ``architecture``'s ImageNet base (its spec's ``backbone_files``)."""
    if architecture not in transfer_names():
        raise BackboneWeightsError(f"{architecture!r} has no ImageNet backbone; use one of {', '.join(transfer_names())}")
    width = backbone_alpha(architecture, alpha)
    files = architecture_spec(architecture).backbone_files(width)
    return BackboneSpec(architecture, width, files.file_names, files.url)


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


def bundled_backbones_dir() -> Path:
    """``resources/backbones``: the ImageNet files the shipped models were trained with."""
    return shipped_backbones_dir()


def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def search_locations(explicit: str | os.PathLike | None = None) -> list[Path]:
    """Where backbone files are looked for, in order: ``explicit``, ``$MELANOMA_BACKBONES``, the shipped
    copies, Keras' cache."""
    locations = [Path(explicit).expanduser()] if explicit else []
    if os.environ.get(ENV_BACKBONES):
        locations.append(Path(os.environ[ENV_BACKBONES]).expanduser())
    return [*locations, bundled_backbones_dir(), keras_cache_dir()]


def candidate_files(architecture: str, alpha: float = 1.0, explicit: str | os.PathLike | None = None) -> list[Path]:
    """Every existing weights file for the backbone on the search path, first found first, no repeats."""
    spec = spec_for(architecture, alpha)
    found = []
    for location in search_locations(explicit):
        path = _look_in(location, spec)
        if path is not None and path.resolve() not in {f.resolve() for f in found}:
            found.append(path)
    return found


def download_weights(architecture: str, alpha: float = 1.0) -> Path:
    """Keras' own download of its official file (needs the internet); raises :class:`BackboneWeightsError`."""
    spec = spec_for(architecture, alpha)
    try:
        import keras

        return Path(keras.utils.get_file(spec.keras_name, spec.url, cache_subdir="models"))
    except Exception as exc:  # network errors come in many classes
        raise BackboneWeightsError(f"Keras download of {spec.keras_name} failed ({type(exc).__name__}: "
                                   f"{str(exc)[:120]})") from None


def not_found_error(architecture: str, alpha: float, explicit=None, extra: str = "") -> BackboneWeightsError:
    spec = spec_for(architecture, alpha)
    return BackboneWeightsError(
        f"ImageNet weights for {architecture}"
        + (f" (alpha {spec.alpha})" if architecture_spec(architecture).has_width else "")
        + f" not found; expected a file named {spec.file_names[0]} or {spec.keras_name}. "
        f"Looked in: {'; '.join(str(p) for p in search_locations(explicit))}{extra}. Put the file in a folder and "
        f"pass --backbones FOLDER or set {ENV_BACKBONES}=FOLDER"
    )


def resolve_weights(
    architecture: str,
    alpha: float = 1.0,
    explicit: str | os.PathLike | None = None,
    allow_download: bool = True,
) -> Path:
    """Return the path of the first backbone weights file on the search path, or raise
    :class:`BackboneWeightsError`."""
    found = candidate_files(architecture, alpha, explicit)
    if found:
        return found[0]
    if allow_download:
        try:
            return download_weights(architecture, alpha)
        except BackboneWeightsError as exc:
            raise not_found_error(architecture, alpha, explicit, f"; {exc}") from None
    raise not_found_error(architecture, alpha, explicit)


FINGERPRINT_SCHEME = "layer-arrays-v1"  # sha256 per layer over (variable name, shape, dtype, bytes) of its arrays


@dataclass(frozen=True)
class WeightsFingerprint:
    """What a network's weights are, independent of the file that held them."""

    digest: str  # sha256 over the layers' names and digests, in network order
    layers: dict  # layer name -> first 16 hex digits of the sha256 of that layer's arrays

    def card(self) -> dict:
        return {"content_scheme": FINGERPRINT_SCHEME, "content_sha256": self.digest, "layer_sha256": dict(self.layers)}

    def differences(self, recorded_layers: dict) -> list[str]:
        """Plain descriptions of where these weights differ from ``recorded_layers`` (a card's layer_sha256)."""
        out = []
        for name, digest in recorded_layers.items():
            if name not in self.layers:
                out.append(f"layer {name} is missing")
            elif self.layers[name] != digest:
                out.append(f"layer {name} has other weights")
        out += [f"layer {name} is not in the recorded network" for name in self.layers if name not in recorded_layers]
        return out


def fingerprint_layers(layers) -> WeightsFingerprint:
    """``layers``: (layer name, [(variable name, array), ...]) in network order; layers without
    weights are skipped, so only what the weights file can change counts."""
    import numpy as np  # here: finding the weight files needs only the standard library (tests/test_packaging)

    per_layer = {}
    total = hashlib.sha256(FINGERPRINT_SCHEME.encode())
    for layer_name, variables in layers:
        if not variables:
            continue
        digest = hashlib.sha256()
        for var_name, array in variables:
            array = np.ascontiguousarray(array)
            digest.update(f"{var_name}|{array.shape}|{array.dtype.str}|".encode())
            digest.update(array.tobytes())
        full = digest.hexdigest()
        per_layer[layer_name] = full[:16]  # enough to say which layer differs; the total covers all bits
        total.update(f"{layer_name}:{full};".encode())
    return WeightsFingerprint(total.hexdigest(), per_layer)
