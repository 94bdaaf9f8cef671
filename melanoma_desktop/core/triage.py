"""The triage job: files -> decoded RGB -> predictions of every model -> one saved record each.

``triage_paths`` is a plain job body (``should_stop``, ``on_progress``); the desktop worker and
the ``melanoma-desktop triage`` command both run it. An unreadable file is reported and skipped;
the batch goes on.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import numpy as np
from PIL import Image

from melanoma_desktop.core.database import now_iso
from melanoma_desktop.core.dicom import FRAME_MARK, dicom_frames, is_dicom_name, read_dicom, split_frame
from melanoma_desktop.core.quality import QualityReport, assess_pixels
from melanoma_desktop.core.records import TriageRecord
from trainer.data.imageio import is_image_name, load_original_rgb, load_rgb
from trainer.errors import ImageDecodeError

if TYPE_CHECKING:
    from melanoma_desktop.core.classifier import Classifier

THUMBNAIL_SIZE = 96


def expand_paths(paths: Iterable[str | os.PathLike]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files as given, folders walked for image files (symlink loops are not followed twice).

    Returns (image files, problems) where a problem is (path, reason).
    """
    files, problems, seen_dirs = [], [], set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path, followlinks=True):
                real = os.path.realpath(dirpath)
                if real in seen_dirs:
                    dirnames[:] = []
                    continue
                seen_dirs.add(real)
                dirnames.sort()
                for f in sorted(filenames):
                    if is_dicom_name(f):
                        files.extend(dicom_frames(Path(dirpath) / f))  # a multi-frame file: each frame
                    elif is_image_name(f):
                        files.append(Path(dirpath) / f)
        elif path.is_file():
            files.extend(dicom_frames(path) if is_dicom_name(path) else [path])
        else:
            problems.append((str(path), "no such file or folder"))
    return files, problems


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def thumbnail_png(rgb: np.ndarray, size: int = THUMBNAIL_SIZE) -> bytes:
    img = Image.fromarray(rgb)
    img.thumbnail((size, size))
    buffer = io.BytesIO()
    img.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


@dataclass
class TriageProgress:
    done: int
    total: int
    eta_s: float | None
    record: TriageRecord | None = None
    error: tuple[str, str] | None = None  # (path, reason)
    already_known: bool = False  # the same image (by SHA-256) was in the history, read by the same models


def triage_paths(
    files: list[Path],
    classifier: Classifier,
    save: Callable[[TriageRecord], TriageRecord] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_progress: Callable[[TriageProgress], None] = lambda p: None,
    batch_size: int = 8,
    known: Callable[[str], TriageRecord | None] | None = None,
) -> Iterator[TriageProgress]:
    """Classify ``files``; yields (and reports) one TriageProgress per file, in order of completion.

    ``known(sha256)`` may return a saved record: when it was made by the same model versions it is
    reused as it is (the same image dropped twice is neither re-run nor duplicated).
    """
    current = {info.name: info.version for info in classifier.model_infos() if info.available}
    # what each record keeps of the rule it is read with (with a clinic's flag line: which one)
    ensemble = classifier.ensemble.record_entry() if classifier.ensemble is not None else {}
    total = len(files)
    done = 0
    started = time.perf_counter()

    def emit(item: TriageProgress):
        on_progress(item)
        return item

    for start in range(0, total, batch_size):
        if should_stop():
            return
        chunk = files[start : start + batch_size]
        decoded, errors = [], []
        for path in chunk:
            try:
                file, frame = split_frame(path)
                data = file.read_bytes()
                rgb, size = decode_case(path, data)
                # a frame of a multi-frame file is its own case: its own fingerprint
                decoded.append((path, sha256_bytes(data if frame is None else data + f"{FRAME_MARK}{frame}".encode()),
                                rgb, size))
            except ImageDecodeError as exc:
                errors.append((str(path), exc.reason))
            except OSError as exc:
                errors.append((str(path), f"cannot read the file ({exc.strerror or exc})"))
            except Exception as exc:  # never the whole batch for one file: its reason, and the next file
                errors.append((str(path), f"cannot be read ({type(exc).__name__}: {' '.join(str(exc).split())[:160]})"))
        for error in errors:
            done += 1
            yield emit(TriageProgress(done, total, _eta(started, done, total), error=error))
        if known is not None:
            fresh = []
            for item in decoded:
                existing = known(item[1])
                if existing is not None and existing.model_versions() == current:
                    done += 1
                    yield emit(TriageProgress(done, total, _eta(started, done, total), record=existing,
                                              already_known=True))
                else:
                    fresh.append(item)
            decoded = fresh
        if not decoded:
            continue
        batch = np.stack([item[2] for item in decoded])
        predictions, embeddings = classifier.predict_with_embeddings(batch)
        qualities = assess_batch(batch, [item[3] for item in decoded], classifier.quality_gate)
        for (path, sha, rgb, _size), preds, embedded, quality in zip(decoded, predictions, embeddings, qualities):
            record = TriageRecord(sha256=sha, path=str(path.resolve()), predictions=preds, created_at=now_iso(),
                                  thumbnail_png=thumbnail_png(rgb), quality=quality, ensemble=ensemble,
                                  embeddings=embedded)
            if save is not None:
                record = save(record)
            done += 1
            yield emit(TriageProgress(done, total, _eta(started, done, total), record=record))


def decode_case(path: Path, data: bytes) -> tuple[np.ndarray, tuple[int, int] | None]:
    """The model input (224 x 224 RGB) of one file and its original (width, height): a picture through
    ``load_rgb``, a DICOM file through ``core.dicom`` and then the same resize."""
    if is_dicom_name(path):
        file, frame = split_frame(path)
        original = read_dicom(data, frame).rgb
        return load_rgb(_png(original)), (original.shape[1], original.shape[0])
    return load_rgb(data), _original_size(data)


def original_image(path: str | os.PathLike, max_side: int | None = None) -> np.ndarray:
    """The case's image at its own shape, for the viewer and the report (a DICOM file's pixels, or the picture)."""
    if is_dicom_name(path):
        file, frame = split_frame(path)
        rgb = read_dicom(file.read_bytes(), frame).rgb
        return load_original_rgb(_png(rgb), max_side) if max_side and max(rgb.shape[:2]) > max_side else rgb
    return load_original_rgb(path, max_side)


def model_input(path: str | os.PathLike) -> np.ndarray:
    """The 224 x 224 RGB the models saw for this file (heatmaps are drawn over it)."""
    return decode_case(Path(path), split_frame(path)[0].read_bytes())[0]


def _png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


def _original_size(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Exception:  # the decode already succeeded; the size is only informative
        return None


def assess_batch(images: np.ndarray, sizes, gate=None) -> list[QualityReport]:
    """Pixel checks per image, plus the feature-distance gate when one is loaded."""
    reports = [assess_pixels(img, size) for img, size in zip(images, sizes)]
    if gate is not None:
        for report, (distance, far) in zip(reports, gate.assess(images)):
            report.measures["feature_distance"] = distance
            if far:
                report.flags.append("unlike the training images")
    return reports


def _eta(started: float, done: int, total: int) -> float | None:
    if done == 0:
        return None
    return (time.perf_counter() - started) / done * (total - done)
