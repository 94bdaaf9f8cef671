"""Deterministic probe images and the probabilities the shipped models must give them (``selftest.json``).

``trainer export`` records, beside the exported bundles, what each model says about a few images that
are computed from formulas (no data file, no random generator whose stream could change between
numpy releases), so that ``melanoma-desktop --self-test`` can show anywhere — a checkout, an installed
package, the PyInstaller bundle, another computer — that the models load and compute what they
computed when they were exported. Each probe goes through PNG bytes and :func:`trainer.data.imageio.load_rgb`
as a dropped file would; one of them is not 224 x 224, so the resize runs too.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from trainer.data.imageio import load_rgb
from trainer.errors import BundleError

EXPECTATIONS_FILE = "selftest.json"
PROBE_SCHEME = "formula-probes-v1"
TOLERANCE = 1e-3


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    return y / (height - 1), x / (width - 1)


def _to_uint8(channels) -> np.ndarray:
    return np.clip(np.rint(np.stack(channels, axis=-1)), 0, 255).astype(np.uint8)


def _skin_with_lesion(height: int, width: int, radius: float, lesion_rgb, ring: bool) -> np.ndarray:
    y, x = _grid(height, width)
    r = np.sqrt(((x - 0.52) / radius) ** 2 + ((y - 0.47) / (radius * 0.8)) ** 2)
    inside = 1.0 / (1.0 + np.exp((r - 1.0) * 12.0))  # soft edge
    if ring:  # darker rim, lighter centre: a little like a pigment network's outline
        inside = inside * (0.6 + 0.4 * np.clip(r, 0, 1))
    skin = (214.0 - 20.0 * y, 168.0 - 15.0 * y, 148.0 - 10.0 * x)
    return _to_uint8([s * (1 - inside) + c * inside for s, c in zip(skin, lesion_rgb)])


def probe_images() -> dict[str, np.ndarray]:
    """Name -> uint8 RGB array. The same bytes on every machine (IEEE arithmetic, then rounding)."""
    y, x = _grid(224, 224)
    hashed = ((np.arange(224 * 224, dtype=np.uint64) * np.uint64(2654435761)) >> np.uint64(13)) % np.uint64(256)
    noise = hashed.reshape(224, 224).astype(np.float64)
    return {
        "skin_plain": _to_uint8([200 + 0 * x, 160 + 0 * x, 140 + 0 * x]),
        "skin_brown_lesion": _skin_with_lesion(224, 224, 0.22, (110.0, 70.0, 50.0), ring=False),
        "skin_dark_irregular": _skin_with_lesion(224, 224, 0.30, (50.0, 30.0, 35.0), ring=True),
        "wide_photo_lesion": _skin_with_lesion(240, 320, 0.25, (90.0, 55.0, 45.0), ring=True),  # resized on load
        "colour_ramps": _to_uint8([255 * x, 255 * y, 255 * (1 - x) * y]),
        "rings": _to_uint8([128 + 100 * np.sin(40 * np.hypot(x - 0.5, y - 0.5))] * 3),
        "hashed_noise": _to_uint8([noise, np.roll(noise, 37, axis=1), np.roll(noise, 91, axis=0)]),
    }


def decoded_probes() -> tuple[list[str], np.ndarray]:
    """The probes as the app sees them: PNG bytes through ``load_rgb`` (224 x 224 RGB)."""
    names, images = [], []
    for name, array in probe_images().items():
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, format="PNG")
        names.append(name)
        images.append(load_rgb(buffer.getvalue()))
    return names, np.stack(images)


def p_malignant(bundle, images: np.ndarray) -> np.ndarray:
    """The calibrated P(positive class) the app shows, for one loaded bundle."""
    positive = bundle.card.positive_index
    return bundle.predict_proba(images)[:, positive]


def record_expectations(bundles: list, out_dir: str | Path) -> Path:
    """Write ``selftest.json`` in ``out_dir``: every bundle's version, backbone fingerprint and probabilities."""
    names, images = decoded_probes()
    data = {
        "scheme": PROBE_SCHEME,
        "tolerance": TOLERANCE,
        "models": {b.name: b.version for b in bundles},
        "backbones": {b.name: b.card.backbone_fingerprint for b in bundles
                      if b.card.backbone},
        "expected": {},
    }
    probabilities = {b.name: p_malignant(b, images) for b in bundles}
    for i, name in enumerate(names):
        data["expected"][name] = {model: round(float(p[i]), 9) for model, p in probabilities.items()}
    path = Path(out_dir) / EXPECTATIONS_FILE
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class Check:
    """One line of a self-test: what was checked, whether it held, and the detail a reader needs."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def read_expectations(models_dir: str | Path) -> dict:
    path = Path(models_dir) / EXPECTATIONS_FILE
    if not path.is_file():
        raise BundleError(f"no recorded expectations: {path} is missing; 'python -m trainer export' writes it "
                          "beside the bundles it exports")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path} is not valid JSON ({exc}); export the bundles again") from None
    if data.get("scheme") != PROBE_SCHEME or not isinstance(data.get("expected"), dict):
        raise BundleError(f"{path}: probe scheme {data.get('scheme')!r} is not {PROBE_SCHEME!r}; "
                          "export the bundles again with this program")
    return data


def check_expectations(bundles: list, models_dir: str | Path) -> list[Check]:
    """Compare loaded bundles with ``selftest.json``: versions, backbone fingerprints, each probe's probability."""
    try:
        data = read_expectations(models_dir)
    except BundleError as exc:
        return [Check("recorded expectations", False, str(exc))]
    tolerance = float(data.get("tolerance", TOLERANCE))
    checks = []
    loaded = {b.name: b.version for b in bundles}
    same = loaded == data["models"]
    checks.append(Check("recorded expectations", same,
                        f"for {', '.join(f'{n} {v}' for n, v in data['models'].items())}" if same else
                        f"recorded for {data['models']}, but the loaded models are {loaded}"))
    for bundle in bundles:
        if bundle.backbone is None:
            continue
        recorded = data.get("backbones", {}).get(bundle.name)
        actual = bundle.backbone.fingerprint.digest if bundle.backbone.fingerprint else None
        checks.append(Check(
            f"backbone of {bundle.name}", bool(recorded) and actual == recorded,
            f"{Path(bundle.backbone.weights_path).name}, weights fingerprint {str(actual)[:16]}… "
            + ("as recorded" if actual == recorded else f"but {str(recorded)[:16]}… was recorded")))
    if not same:
        return checks
    names, images = decoded_probes()
    missing = sorted(set(data["expected"]) ^ set(names))
    if missing:
        checks.append(Check("probe images", False, f"recorded and computed probes differ: {', '.join(missing)}"))
        return checks
    for bundle in bundles:
        got = p_malignant(bundle, images)
        want = np.array([data["expected"][n][bundle.name] for n in names])
        diff = np.abs(got - want)
        worst = int(np.argmax(diff))
        checks.append(Check(
            f"probabilities of {bundle.name}", bool(diff.max() <= tolerance),
            f"{len(names)} probe images, largest difference {diff.max():.1e} ({names[worst]}: "
            f"{got[worst]:.6f} vs recorded {want[worst]:.6f}), tolerance {tolerance:g}"))
    return checks
