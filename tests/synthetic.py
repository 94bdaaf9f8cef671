"""Tiny synthetic dermoscopy-like images for fast tests: a skin-toned background with a lesion
blob; malignant lesions are darker and larger. Deterministic for a seed."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image


def lesion_image(malignant: bool, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    skin = np.array([225, 180, 160], dtype=float) + rng.normal(0, 6, 3)
    img = np.ones((size, size, 3)) * skin
    cy, cx = rng.uniform(0.35, 0.65, 2) * size
    radius = size * (rng.uniform(0.25, 0.33) if malignant else rng.uniform(0.12, 0.2))
    mask = (yy - cy) ** 2 + (xx - cx) ** 2 < radius**2
    colour = np.array([60, 35, 30]) if malignant else np.array([150, 100, 80])
    img[mask] = colour + rng.normal(0, 8, 3)
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_class_folders(root: Path, n_per_class: int = 12, seed: int = 0, size: int = 64, split_dirs=False) -> Path:
    rng = np.random.default_rng(seed)
    for label in ("benign", "malignant"):
        for i in range(n_per_class):
            part = ("train" if i < n_per_class * 3 // 4 else "test") if split_dirs else ""
            folder = root / part / label
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(lesion_image(label == "malignant", rng, size)).save(folder / f"{label}_{i:03d}.jpg")
    return root


def write_labels_csv(root: Path, n_per_class: int = 12, seed: int = 0, size: int = 64, images_per_lesion: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for label in ("benign", "malignant"):
        for i in range(n_per_class):
            lesion = f"L_{label}_{i // images_per_lesion:03d}"
            name = f"{label}_{i:03d}.png"
            Image.fromarray(lesion_image(label == "malignant", rng, size)).save(root / "images" / name)
            rows.append((name, lesion, label))
    with open(root / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "lesion_id", "label"])
        writer.writerows(rows)
    return root


def write_ham_metadata(root: Path, n_per_class: int = 12, seed: int = 0, size: int = 64) -> Path:
    rng = np.random.default_rng(seed)
    rows = []
    for k, (dx, malignant) in enumerate((("nv", False), ("mel", True))):
        for i in range(n_per_class):
            image_id = f"ISIC_{k}{i:06d}"
            folder = root / f"HAM10000_images_part_{1 + i % 2}"
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(lesion_image(malignant, rng, size)).save(folder / f"{image_id}.jpg")
            rows.append((f"HAM_{k}{i // 2:06d}", image_id, dx))
    with open(root / "HAM10000_metadata.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lesion_id", "image_id", "dx", "dx_type", "age", "sex", "localization"])
        writer.writerows([(a, b, c, "histo", "50", "male", "back") for a, b, c in rows])
    return root


def write_random_backbone(path: Path, architecture: str = "mobilenetv2", alpha: float = 0.35) -> Path:
    """A randomly initialised backbone weights file with the real layout (no download, ~2 MB)."""
    import keras

    keras.utils.set_random_seed(0)
    if architecture == "mobilenetv2":
        base = keras.applications.MobileNetV2(alpha=alpha, include_top=False, weights=None, input_shape=(224, 224, 3))
    else:
        base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(224, 224, 3))
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    # The ImageNet files are in Keras' legacy HDF5 weights layout; write the same layout.
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, base)
    return path


def mark_source_splits(root: Path, val_every: int = 4) -> Path:
    """Give DIR/labels.csv a source_split column: every ``val_every``-th row "val", the rest "train"."""
    with open(root / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with open(root / "labels.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*rows[0], "source_split"])
        writer.writeheader()
        for i, row in enumerate(rows):
            writer.writerow({**row, "source_split": "val" if i % val_every == 0 else "train"})
    return root
