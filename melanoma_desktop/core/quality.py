"""Image-quality and out-of-distribution gate, run before classification.

Flagged images are still classified, but marked "low confidence: <reason>". Thresholds were chosen
on the real dermoscopic images in ../shared/data (HAM10000 and ISIC 2017) so that about 99 % of
them pass each check; see ``scripts/fit_quality_gate.py`` and README.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Pixel checks on the decoded 224 x 224 RGB image. Real dermoscopy (0.5th / 99.5th percentiles on
# ../shared/data): mean luminance 90-220, Laplacian variance >= 11, skin-coloured fraction >= 0.1,
# fraction of saturated pixels <= 0.58.
MIN_MEAN_LUMINANCE = 60.0
MAX_MEAN_LUMINANCE = 235.0
MAX_SATURATED_FRACTION = 0.75
MIN_LAPLACIAN_VARIANCE = 6.0
MIN_SKIN_FRACTION = 0.05
MIN_SIDE_PIXELS = 100


@dataclass
class QualityReport:
    flags: list[str] = field(default_factory=list)
    measures: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.flags

    @property
    def label(self) -> str:
        return "ok" if self.ok else "low confidence: " + "; ".join(self.flags)

    def to_json(self) -> dict:
        return {"ok": self.ok, "flags": list(self.flags),
                "measures": {k: round(float(v), 4) for k, v in self.measures.items()}}

    @classmethod
    def from_json(cls, data: dict | None) -> "QualityReport":
        data = data or {}
        return cls(list(data.get("flags", [])), dict(data.get("measures", {})))


def pixel_measures(rgb: np.ndarray) -> dict[str, float]:
    a = rgb.astype(np.float64)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    lum = 0.299 * r + 0.587 * g + 0.114 * b
    lap = -4 * lum[1:-1, 1:-1] + lum[:-2, 1:-1] + lum[2:, 1:-1] + lum[1:-1, :-2] + lum[1:-1, 2:]
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    skin = (cr >= 133) & (cr <= 180) & (cb >= 77) & (cb <= 135)
    return {
        "mean_luminance": float(lum.mean()),
        "laplacian_variance": float(lap.var()),
        "skin_fraction": float(skin.mean()),
        "saturated_fraction": float((a.max(axis=2) > 250).mean()),
    }


def assess_pixels(rgb: np.ndarray, original_size: tuple[int, int] | None = None) -> QualityReport:
    m = pixel_measures(rgb)
    flags = []
    if original_size is not None:
        m["min_side"] = float(min(original_size))
        if min(original_size) < MIN_SIDE_PIXELS:
            flags.append(f"too small ({original_size[0]}x{original_size[1]} px)")
    if m["mean_luminance"] < MIN_MEAN_LUMINANCE:
        flags.append("too dark")
    elif m["mean_luminance"] > MAX_MEAN_LUMINANCE or m["saturated_fraction"] > MAX_SATURATED_FRACTION:
        flags.append("too bright")
    if m["laplacian_variance"] < MIN_LAPLACIAN_VARIANCE:
        flags.append("blurred")
    if m["skin_fraction"] < MIN_SKIN_FRACTION:
        flags.append("does not look like skin")
    return QualityReport(flags, m)


class FeatureDistanceGate:
    """How far an image's MobileNetV2 features lie from the training images: the part of the
    feature vector that the top principal components of the training features cannot reconstruct,
    relative to the training images' own. Beyond ``threshold`` it is "unlike the training images".
    (Measured on ../shared/data, this reconstruction error separates noise, documents and drawings from
    dermoscopy; a Mahalanobis distance inside the components did not.)"""

    def __init__(self, mean, components, scales, residual_scale, threshold: float, backbone_sha256: str,
                 extractor=None):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.components = np.asarray(components, dtype=np.float64)
        self.scales = np.asarray(scales, dtype=np.float64)
        self.residual_scale = float(residual_scale)
        self.threshold = float(threshold)
        self.backbone_sha256 = backbone_sha256
        self.extractor = extractor

    def distances(self, features: np.ndarray) -> np.ndarray:
        """Reconstruction error outside the top components, in units of the training images' RMS error."""
        centred = np.asarray(features, dtype=np.float64) - self.mean
        projected = centred @ self.components.T
        return np.linalg.norm(centred - projected @ self.components, axis=1) / self.residual_scale

    def save(self, directory: Path, info: dict) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / "feature_gate.npz", mean=self.mean, components=self.components, scales=self.scales,
                 residual_scale=np.array(self.residual_scale))
        (directory / "feature_gate.json").write_text(json.dumps(
            {**info, "threshold": self.threshold, "backbone_sha256": self.backbone_sha256}, indent=2))

    @classmethod
    def load(cls, directory: Path, backbones=None) -> "FeatureDistanceGate":
        """Raises FileNotFoundError or trainer errors when the gate or its backbone is missing."""
        from trainer.models.architectures import matching_backbone
        from trainer.models.specs import mobilenetv2

        info = json.loads((directory / "feature_gate.json").read_text())
        with np.load(directory / "feature_gate.npz", allow_pickle=False) as arrays:
            mean, components, scales = arrays["mean"], arrays["components"], arrays["scales"]
            residual_scale = float(arrays["residual_scale"])
        # a gate written before it recorded its backbone stands on MobileNetV2 (alpha 0.35 unless it says)
        recorded = info.get("backbone") or {"name": mobilenetv2.NAME, "alpha": info.get("alpha", 0.35),
                                            "sha256": info["backbone_sha256"]}
        _, extractor, _ = matching_backbone(recorded, "the image-quality gate", backbones, allow_download=False)
        return cls(mean, components, scales, residual_scale, info["threshold"], info["backbone_sha256"], extractor)

    def assess(self, images: np.ndarray) -> list[tuple[float, bool]]:
        features = np.asarray(self.extractor(np.asarray(images, dtype="float32"), training=False))
        return [(float(d), bool(d > self.threshold)) for d in self.distances(features)]


def fit_feature_gate(features: np.ndarray, n_components: int = 64):
    """Mean, top principal components, their scales and the RMS residual of training-image features."""
    x = np.asarray(features, dtype=np.float64)
    mean = x.mean(axis=0)
    centred = x - mean
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:n_components]
    scales = np.maximum(s[:n_components] / np.sqrt(max(len(x) - 1, 1)), 1e-8)
    residual = np.linalg.norm(centred - centred @ components.T @ components, axis=1)
    return mean, components, scales, max(float(np.sqrt((residual**2).mean())), 1e-8)
