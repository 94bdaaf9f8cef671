"""Finding labelled dermoscopic images on disk, in any of the layouts the trainer reads.

Layouts, detected in this order:

* ``labels_csv``  – ``DIR/labels.csv`` with columns ``image,label`` and optional ``lesion_id`` and
  ``source_split``; image paths are relative to ``DIR/images/`` or ``DIR/``.
* ``ham10000``    – the official ``HAM10000_metadata.csv`` (``image_id,lesion_id,dx``) with its
  images anywhere below ``DIR`` (e.g. ``HAM10000_images_part_1/`` and ``_part_2/``).
* ``class_folders`` – ``DIR/benign/*.jpg`` and ``DIR/malignant/*.jpg``, optionally under
  ``DIR/train/`` and ``DIR/test/`` (the public Kaggle benign/malignant layout).
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from trainer.data.imageio import IMAGE_SIZE, is_image_name, load_rgb
from trainer.errors import DatasetLayoutError, DatasetTooSmallError, ImageDecodeError

CLASS_NAMES: tuple[str, str] = ("benign", "malignant")
DEFAULT_MALIGNANT_DX: tuple[str, ...] = ("mel",)
LAYOUTS_HELP = (
    "accepted layouts: (a) DIR/benign/*.jpg + DIR/malignant/*.jpg, optionally under DIR/train/ and "
    "DIR/test/; (b) DIR/labels.csv with columns image,label[,lesion_id]; (c) DIR/HAM10000_metadata.csv "
    "(image_id,lesion_id,dx) with the images in folders below DIR"
)
# Each class needs enough images for a training, a validation and a test part.
MIN_IMAGES_PER_CLASS = 5


@dataclass(frozen=True)
class Sample:
    path: Path
    label: str
    lesion_id: str | None = None
    source_split: str | None = None
    dx: str | None = None  # the diagnosis code, where the labels give one (HAM10000: mel, nv, bcc, ...)


@dataclass
class Dataset:
    root: Path
    layout: str
    samples: list[Sample]
    class_names: tuple[str, ...] = CLASS_NAMES
    missing: list[str] = field(default_factory=list)  # listed in a CSV but not found on disk

    @property
    def labels(self) -> np.ndarray:
        index = {name: i for i, name in enumerate(self.class_names)}
        return np.array([index[s.label] for s in self.samples], dtype=np.int64)

    @property
    def groups(self) -> np.ndarray:
        """Lesion id per sample; a sample without one is its own group."""
        return np.array([s.lesion_id or f"__image__:{s.path}" for s in self.samples], dtype=object)

    def counts(self) -> dict[str, int]:
        counter = Counter(s.label for s in self.samples)
        return {name: counter.get(name, 0) for name in self.class_names}

    def n_lesions(self) -> int:
        return len(set(self.groups.tolist()))


def _normalise_label(raw: str, where: str) -> str:
    label = raw.strip().lower()
    aliases = {"melanoma": "malignant", "mel": "malignant", "1": "malignant", "0": "benign"}
    label = aliases.get(label, label)
    if label not in CLASS_NAMES:
        raise DatasetLayoutError(
            f"{where}: label {raw!r} is not one of {', '.join(CLASS_NAMES)}; fix the label column"
        )
    return label


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]
        return rows if reader.fieldnames else []


def _from_labels_csv(root: Path) -> Dataset:
    csv_path = root / "labels.csv"
    rows = _read_csv(csv_path)
    if not rows or "image" not in rows[0] or "label" not in rows[0]:
        raise DatasetLayoutError(f"{csv_path} needs the columns image,label (got {list(rows[0]) if rows else 'no rows'})")
    image_dir = root / "images" if (root / "images").is_dir() else root
    samples, missing = [], []
    for line, row in enumerate(rows, start=2):
        path = image_dir / row["image"]
        if not path.is_file() and (root / row["image"]).is_file():
            path = root / row["image"]
        if not path.is_file():
            missing.append(row["image"])
            continue
        label = _normalise_label(row["label"], f"{csv_path}:{line}")
        samples.append(Sample(path, label, row.get("lesion_id") or None, row.get("source_split") or None,
                              (row.get("dx") or "").lower() or None))
    return Dataset(root, "labels_csv", samples, missing=missing)


def _from_ham_metadata(root: Path, malignant_dx: Sequence[str]) -> Dataset:
    csv_path = root / "HAM10000_metadata.csv"
    rows = _read_csv(csv_path)
    needed = {"image_id", "lesion_id", "dx"}
    if not rows or not needed <= set(rows[0]):
        raise DatasetLayoutError(f"{csv_path} needs the columns image_id,lesion_id,dx")
    found: dict[str, Path] = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if is_image_name(name):
                found.setdefault(Path(name).stem, Path(dirpath) / name)
    malignant = {dx.strip().lower() for dx in malignant_dx}
    samples, missing = [], []
    for row in rows:
        path = found.get(row["image_id"])
        if path is None:
            missing.append(row["image_id"])
            continue
        label = "malignant" if row["dx"].lower() in malignant else "benign"
        samples.append(Sample(path, label, row["lesion_id"] or None, dx=row["dx"].lower() or None))
    return Dataset(root, "ham10000", samples, missing=missing)


def _class_dirs(folder: Path) -> dict[str, Path]:
    dirs = {}
    if folder.is_dir():
        for child in folder.iterdir():
            if child.is_dir() and child.name.lower() in CLASS_NAMES:
                dirs[child.name.lower()] = child
    return dirs


def _from_class_folders(root: Path) -> Dataset | None:
    parts = [(None, root)] if _class_dirs(root) else []
    for split_name in ("train", "test", "val", "valid", "validation"):
        for child in (root.iterdir() if root.is_dir() else []):
            if child.is_dir() and child.name.lower() == split_name and _class_dirs(child):
                parts.append((split_name, child))
    if not parts:
        return None
    samples = []
    for split_name, folder in parts:
        for label, class_dir in sorted(_class_dirs(folder).items()):
            for path in sorted(class_dir.rglob("*")):
                if path.is_file() and is_image_name(path.name):
                    samples.append(Sample(path, label, None, split_name))
    return Dataset(root, "class_folders", samples)


def discover(root: str | os.PathLike, malignant_dx: Sequence[str] = DEFAULT_MALIGNANT_DX) -> Dataset:
    """Find the labelled images under ``root``; raise :class:`DatasetLayoutError` if none fits."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetLayoutError(f"data folder {root} does not exist or is not a folder; {LAYOUTS_HELP}")
    if (root / "labels.csv").is_file():
        dataset = _from_labels_csv(root)
    elif (root / "HAM10000_metadata.csv").is_file():
        dataset = _from_ham_metadata(root, malignant_dx)
    else:
        dataset = _from_class_folders(root)
        if dataset is None:
            raise DatasetLayoutError(f"no known layout in {root}; {LAYOUTS_HELP}")
    if not dataset.samples:
        raise DatasetLayoutError(f"no images found in {root} (layout {dataset.layout}); {LAYOUTS_HELP}")
    return dataset


def only_source_split(dataset: Dataset, source_split: str | None) -> Dataset:
    """The samples whose ``source_split`` is ``source_split`` (all of them for None)."""
    if source_split is None:
        return dataset
    kept = [s for s in dataset.samples if (s.source_split or "").lower() == source_split.lower()]
    if not kept:
        found = sorted({s.source_split for s in dataset.samples if s.source_split})
        raise DatasetLayoutError(
            f"no image of {dataset.root} has source_split {source_split!r} "
            f"(found: {', '.join(found) if found else 'no source_split column'}); name one of those or none")
    return Dataset(dataset.root, dataset.layout, kept, dataset.class_names, dataset.missing)


def without_dx(dataset: Dataset, excluded_dx: Sequence[str]) -> Dataset:
    """The samples whose diagnosis code is not one of ``excluded_dx`` (samples without a code are kept)."""
    if not excluded_dx:
        return dataset
    drop = {dx.strip().lower() for dx in excluded_dx}
    kept = [s for s in dataset.samples if (s.dx or "") not in drop]
    return Dataset(dataset.root, dataset.layout, kept, dataset.class_names, dataset.missing)


def check_trainable(dataset: Dataset, min_per_class: int = MIN_IMAGES_PER_CLASS) -> None:
    """Refuse a dataset with one class, or with too few images in a class to split."""
    counts = dataset.counts()
    present = [name for name, n in counts.items() if n > 0]
    if len(present) < 2:
        raise DatasetTooSmallError(
            f"{dataset.root} holds only one class ({', '.join(f'{k}: {v}' for k, v in counts.items())}); "
            "training needs images of both benign and malignant lesions"
        )
    small = {name: n for name, n in counts.items() if n < min_per_class}
    if small:
        raise DatasetTooSmallError(
            f"{dataset.root} has too few images to split into train/validation/test "
            f"({', '.join(f'{k}: {v}' for k, v in small.items())}); at least {min_per_class} per class are needed"
        )


def find_unreadable(
    samples: Sequence[Sample],
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[tuple[str, str]]:
    """Every sample that fails to decode, as (path, reason); checked at thumbnail size (fast)."""
    return decode_samples(samples, size=16, on_progress=on_progress, should_stop=should_stop).skipped


def without_unreadable(
    dataset: Dataset,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[Dataset, list[tuple[str, str]]]:
    """The dataset less the files that do not decode, and those files with reasons (missing ones too).

    Splits are made on what this returns, so training and evaluation agree on them.
    """
    skipped = find_unreadable(dataset.samples, on_progress, should_stop)
    bad = {path for path, _ in skipped}
    skipped += [(str(dataset.root / name), "listed in the labels file but not found") for name in dataset.missing]
    kept = [s for s in dataset.samples if str(s.path) not in bad]
    return Dataset(dataset.root, dataset.layout, kept, dataset.class_names, dataset.missing), skipped


@dataclass
class DecodedImages:
    """Pixels of the samples that decoded, and the files that did not."""

    images: np.ndarray  # (n, size, size, 3) uint8
    kept: list[int]  # indices into the input sample list, in order
    skipped: list[tuple[str, str]]  # (path, reason)


def decode_samples(
    samples: Sequence[Sample],
    size: int = IMAGE_SIZE,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    workers: int | None = None,
) -> DecodedImages:
    """Decode every sample with :func:`load_rgb`; a bad file is skipped and listed, never fatal."""
    images = np.zeros((len(samples), size, size, 3), dtype=np.uint8)
    ok = np.zeros(len(samples), dtype=bool)
    skipped: list[tuple[str, str]] = []

    def one(i: int) -> tuple[int, str | None]:
        try:
            images[i] = load_rgb(samples[i].path, size)
            return i, None
        except ImageDecodeError as exc:
            return i, exc.reason

    workers = workers or min(8, (os.cpu_count() or 1) + 1)
    done = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for i, reason in pool.map(one, range(len(samples))):
            if reason is None:
                ok[i] = True
            else:
                skipped.append((str(samples[i].path), reason))
            done += 1
            if on_progress and (done % 50 == 0 or done == len(samples)):
                on_progress(done, len(samples))
            if should_stop and should_stop():
                pool.shutdown(wait=False, cancel_futures=True)
                break
    kept = [i for i in range(len(samples)) if ok[i]]
    return DecodedImages(images[kept], kept, skipped)
