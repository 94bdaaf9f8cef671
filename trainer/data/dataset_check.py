"""What a data folder holds, before training on it: counts, lesions, unreadable files, examples,
and warnings (class imbalance, too few images, one image under both classes)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from trainer.data.samples import MIN_IMAGES_PER_CLASS, discover, find_unreadable

IMBALANCE_WARNING_RATIO = 3.0
FEW_IMAGES_WARNING = 100


@dataclass
class DatasetReport:
    root: Path
    layout: str
    counts: dict[str, int]
    n_lesions: int
    unreadable: list[tuple[str, str]]
    examples: dict[str, list[str]]  # class -> a few image paths
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # reasons training would be refused
    source_splits: dict[str, dict[str, int]] = field(default_factory=dict)  # labels.csv source_split -> counts

    @property
    def trainable(self) -> bool:
        return not self.errors


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def inspect_dataset(root, on_progress: Callable[[int, int], None] | None = None,
                    should_stop: Callable[[], bool] | None = None, n_examples: int = 4) -> DatasetReport:
    """Raises DatasetLayoutError when no layout fits; everything else is reported, not raised."""
    dataset = discover(root)
    unreadable = find_unreadable(dataset.samples, on_progress, should_stop)
    bad = {p for p, _ in unreadable}
    good = [s for s in dataset.samples if str(s.path) not in bad]
    counts = {name: sum(1 for s in good if s.label == name) for name in dataset.class_names}
    examples = {name: [str(s.path) for s in good if s.label == name][:n_examples] for name in dataset.class_names}
    report = DatasetReport(Path(root), dataset.layout, counts, len({s.lesion_id or str(s.path) for s in good}),
                           unreadable, examples)
    for s in good:
        if s.source_split:
            part = report.source_splits.setdefault(s.source_split, {name: 0 for name in dataset.class_names})
            part[s.label] += 1
    present = [n for n, c in counts.items() if c]
    if len(present) < 2:
        report.errors.append(f"only one class present ({', '.join(present) or 'none'}); both benign and malignant "
                             "images are needed")
    for name, c in counts.items():
        if 0 < c < MIN_IMAGES_PER_CLASS:
            report.errors.append(f"{name}: {c} images, at least {MIN_IMAGES_PER_CLASS} are needed to split")
        elif MIN_IMAGES_PER_CLASS <= c < FEW_IMAGES_WARNING:
            report.warnings.append(f"{name}: only {c} images; the test metrics will have wide confidence intervals")
    if len(present) == 2:
        big, small = max(counts.values()), min(counts.values())
        if big / small > IMBALANCE_WARNING_RATIO:
            report.warnings.append(f"class imbalance {big / small:.1f} : 1; protocol 'paper' balances by subsampling, "
                                   "'full' uses class weights")
    by_hash: dict[str, set[str]] = {}
    for s in good:
        by_hash.setdefault(_sha(s.path), set()).add(s.label)
    both = sum(1 for labels in by_hash.values() if len(labels) > 1)
    if both:
        report.warnings.append(f"{both} image(s) appear under both classes (identical files); fix the labels")
    if unreadable:
        report.warnings.append(f"{len(unreadable)} unreadable file(s) will be skipped")
    return report
