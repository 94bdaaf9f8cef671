"""The data a run learns from: one folder, or several sources each split on its own (no Keras here).

With several sources (``TrainConfig.sources``) every source is split by lesion / patient into train /
validation / test with its own protocol and seed, and the run's train, validation and test parts are the
union of the sources' parts: one multi-source validation set drives early stopping, calibration, the flag
line and the ensemble. A source named by ``TrainConfig.leave_out`` is decoded whole and kept apart: never
trained, validated or tuned on, only scored (leave-one-source-out). The first source splits with the run's
split seed, as it would alone (HAM10000 with protocol ``extended``: the paper's 240 test images); every
other source's seed is the run's plus a hash of the source's name. Leaving a source out changes no other
source's split (and the feature cache, keyed per source and part, is reused).
"""

from __future__ import annotations

import hashlib
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trainer.data.samples import (
    Dataset,
    Sample,
    check_trainable,
    decode_samples,
    discover,
    without_dx,
    without_unreadable,
)
from trainer.data.splits import PROTOCOLS, Split, make_split
from trainer.errors import ConfigError
from trainer.names import dataset_name
from trainer.progress import ProgressEvent, TrainingCancelled

PARTS = ("train", "val", "test")
SOURCE_KEYS = {"data", "protocol", "split_seed"}


@dataclass
class LeftOut:
    """The left-out source, whole: its images, labels and paths, and its per-part pieces (for the cache)."""

    name: str
    x: np.ndarray
    y: np.ndarray
    paths: list[str]
    chunks: list[tuple[str, int, int]]


@dataclass
class PreparedData:
    dataset: Dataset
    split: Split
    x: dict[str, np.ndarray]  # part -> uint8 images
    y: dict[str, np.ndarray]  # part -> int labels
    paths: dict[str, list[str]]
    skipped: list[tuple[str, str]]
    counts: dict = field(default_factory=dict)
    extra_samples: list[Sample] = field(default_factory=list)  # training images from config.extra_data
    extra_counts: list[dict] = field(default_factory=list)  # per extra source: data, source_split, class counts
    # Several sources: part -> [(source name, start, end)] rows of x[part] per source (one entry per part, named
    # None, for a single folder), what each source gave (data, protocol, split_seed, counts) and the left-out one.
    chunks: dict[str, list[tuple[str | None, int, int]]] = field(default_factory=dict)
    sources: list[dict] = field(default_factory=list)
    left_out: LeftOut | None = None

    def chunks_of(self, part: str) -> list[tuple[str | None, int, int]]:
        return self.chunks.get(part) or [(None, 0, len(self.y[part]))]

    def source_of_path(self) -> dict[str, str]:
        """Image path -> source name (multi-source runs; empty otherwise)."""
        out = {}
        for part in PARTS:
            for name, start, end in self.chunks.get(part, []):
                out.update({p: name for p in self.paths[part][start:end]})
        if self.left_out is not None:
            out.update({p: self.left_out.name for p in self.left_out.paths})
        return out


def source_seed(split_seed: int, name: str) -> int:
    """A source's own split seed: the run's, offset by a stable hash of the source's name."""
    return int(split_seed) + zlib.crc32(name.encode("utf-8")) % 100_000


def validate_sources(config) -> None:
    """Resolve ``config.sources`` in place (protocol and seed per source) and check ``config.leave_out``."""
    if config.leave_out and not config.sources:
        raise ConfigError(f"leaving out {config.leave_out!r} needs several data sources (--data DIR, more than once)")
    if config.extra_data:
        raise ConfigError("extra training data joins a single source's training split; with several sources, "
                          "name each folder as a source (--data DIR) instead")
    resolved, names = [], []
    for i, entry in enumerate(config.sources):
        entry = {"data": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, dict) or not isinstance(entry.get("data"), str) or set(entry) - SOURCE_KEYS:
            raise ConfigError(f"each source must be {{'data': DIR[, 'protocol': P, 'split_seed': N]}}, got {entry!r}")
        name = dataset_name(entry["data"])
        if name in names:
            raise ConfigError(f"two sources are named {name!r} ({entry['data']}); each source folder needs its own name")
        protocol = entry.get("protocol") or (config.protocol if i == 0 else "full")
        if protocol not in PROTOCOLS:
            raise ConfigError(f"source {name}: unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
        seed = entry.get("split_seed")
        names.append(name)
        if seed is None:  # the first source splits as it would alone (HAM10000: the paper's 240 test images)
            seed = config.resolved_split_seed if i == 0 else source_seed(config.resolved_split_seed, name)
        resolved.append({"data": entry["data"], "protocol": protocol, "split_seed": int(seed)})
    if config.leave_out is not None:
        if config.leave_out not in names:
            raise ConfigError(f"cannot leave out {config.leave_out!r}: the sources are {', '.join(names)}")
        if len(names) < 2:
            raise ConfigError("leaving a source out needs at least one other source to train on")
    config.sources = resolved
    if resolved and dataset_name(config.data) not in names:
        config.data = resolved[0]["data"]


def _pixel_key(image: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(image).data).hexdigest()


def load_and_split(folder, protocol: str, split_seed: int, config, on_progress, should_stop, prefix: str = ""):
    """One folder read, checked, split (grouped by lesion) and decoded: (dataset, split with the decoded
    indices, part -> [images, labels, paths], skipped files). ``prefix`` starts each progress message.
    Unreadable files are found (and left out) before the split, so that every part of it, the paper
    protocol's balanced 600 + 600 included, holds only images that decode."""
    dataset = without_dx(discover(folder, config.malignant_dx), config.exclude_dx)

    def checking(done, total):
        on_progress(ProgressEvent("data", message=f"{prefix}checking images {done}/{total}", step=done, steps=total))

    dataset, skipped = without_unreadable(dataset, checking, should_stop)
    if should_stop():
        raise TrainingCancelled("cancelled while checking images")
    check_trainable(dataset)
    split = make_split(dataset.labels, dataset.groups, protocol, split_seed, config.fractions)
    parts = {}
    for part in PARTS:
        indices = getattr(split, part)

        def report(done, total, part=part):
            on_progress(ProgressEvent("data", message=f"{prefix}decoding {part} images {done}/{total}",
                                      step=done, steps=total))

        decoded = decode_samples([dataset.samples[i] for i in indices], on_progress=report, should_stop=should_stop)
        if should_stop():
            raise TrainingCancelled("cancelled while decoding images")
        kept = indices[decoded.kept]
        parts[part] = [decoded.images, dataset.labels[kept], [str(dataset.samples[i].path) for i in kept]]
        skipped.extend(decoded.skipped)
        setattr(split, part, kept)
    return dataset, split, parts, skipped


_ARCHIVE_ID = re.compile(r"^isic_\d{7}$")


def _drop_seen(name, parts, seen: dict[str, str], on_progress) -> None:
    """Leave out of ``parts`` every image already given by an earlier source (the same pixels, or the same ISIC
    archive id, which names one image archive-wide): one image must not be trained on in one source and
    tested on in another."""
    for part in PARTS:
        images, labels, paths = parts[part]
        keep = []
        for i, (image, path) in enumerate(zip(images, paths)):
            stem = os.path.splitext(os.path.basename(path))[0].lower()
            keys = (f"pixels:{_pixel_key(image)}",) + ((f"id:{stem}",) if _ARCHIVE_ID.match(stem) else ())
            earlier = next((seen[k] for k in keys if k in seen), None)
            if earlier is not None:
                on_progress(ProgressEvent("log", message=f"{name}: left out {path}, already in {earlier}"))
                continue
            keep.append(i)
            seen.update({k: name for k in keys})
        if len(keep) < len(paths):
            parts[part] = [images[keep], labels[keep], [paths[i] for i in keep]]


def _counts(labels: np.ndarray, class_names) -> dict[str, int]:
    return {c: int(np.sum(labels == k)) for k, c in enumerate(class_names)}


def prepare_sources(config, on_progress, should_stop) -> PreparedData:
    """Decode and split every source of ``config`` (see the module docstring)."""
    x = {p: [] for p in PARTS}
    y = {p: [] for p in PARTS}
    paths = {p: [] for p in PARTS}
    chunks = {p: [] for p in PARTS}
    samples, skipped, summary, seen, left = [], [], [], {}, None
    class_names = None
    for entry in config.sources:
        name = dataset_name(entry["data"])
        dataset, _, parts, bad = load_and_split(entry["data"], entry["protocol"], entry["split_seed"], config,
                                                on_progress, should_stop, prefix=f"{name}: ")
        class_names = dataset.class_names
        _drop_seen(name, parts, seen, on_progress)
        samples.extend(dataset.samples)
        skipped.extend(bad)
        row = {"data": name, "protocol": entry["protocol"], "split_seed": entry["split_seed"],
               "counts": {p: _counts(parts[p][1], class_names) for p in PARTS}}
        if name == config.leave_out:
            offsets = np.cumsum([0] + [len(parts[p][1]) for p in PARTS])
            left = LeftOut(name, np.concatenate([parts[p][0] for p in PARTS]),
                           np.concatenate([parts[p][1] for p in PARTS]),
                           [q for p in PARTS for q in parts[p][2]],
                           [(f"{name}:{p}", int(offsets[i]), int(offsets[i + 1])) for i, p in enumerate(PARTS)])
            row["left_out"] = True
        else:
            for p in PARTS:
                start = sum(len(a) for a in y[p])
                x[p].append(parts[p][0])
                y[p].append(parts[p][1])
                paths[p].extend(parts[p][2])
                chunks[p].append((name, start, start + len(parts[p][1])))
        summary.append(row)
    for path, reason in skipped:
        on_progress(ProgressEvent("log", message=f"skipped {path}: {reason}"))
    images = {p: np.concatenate(x[p]) for p in PARTS}
    labels = {p: np.concatenate(y[p]) for p in PARTS}
    offsets = np.cumsum([0] + [len(labels[p]) for p in PARTS])
    split = Split("multi-source", config.resolved_split_seed,
                  *(np.arange(offsets[i], offsets[i + 1]) for i in range(3)))
    dataset = Dataset(Path(config.sources[0]["data"]).expanduser(), "multi-source", samples, class_names)
    counts = {p: _counts(labels[p], class_names) for p in PARTS}
    return PreparedData(dataset, split, images, labels, paths, skipped, counts, chunks=chunks, sources=summary,
                        left_out=left)

