"""Seeded, stratified splits grouped by lesion: one lesion never lands on two sides.

Protocols:

* ``paper`` – a seeded balanced subsample of up to 600 images per class (1,200 in all), split
  80/20 into train and test (960 / 240, 120 test images per class); a seeded 10 % of the training
  part is held out for validation and early stopping.
* ``extended`` – the paper protocol's test images (same seed, so the same 240 images) as test, and
  every other image whose lesion is not among them split 85 / 15 into train / validation: the
  paper's test set, with all the rest of the data to learn from. Results compare with ``paper``.
* ``full``  – every image, 70 / 15 / 15 train / validation / test.
* ``custom`` – every image, with the fractions given.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from trainer.errors import ConfigError, DatasetTooSmallError

PAPER_PER_CLASS = 600
PAPER_TEST_FRACTION = 0.2
PAPER_VAL_FRACTION = 0.1
FULL_FRACTIONS = (0.70, 0.15, 0.15)
EXTENDED_VAL_FRACTION = 0.15
PROTOCOLS = ("paper", "extended", "full", "custom")


@dataclass
class Split:
    protocol: str
    seed: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def summary(self, labels: np.ndarray, class_names: tuple[str, ...]) -> dict:
        out = {}
        for part in ("train", "val", "test"):
            idx = getattr(self, part)
            out[part] = {name: int(np.sum(labels[idx] == k)) for k, name in enumerate(class_names)}
        return out

    def to_json(self) -> dict:
        d = asdict(self)
        for part in ("train", "val", "test"):
            d[part] = [int(i) for i in d[part]]
        return d


def _group_order(groups: np.ndarray, candidates: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Candidate indices bundled by group, groups in a seeded random order."""
    by_group: dict[object, list[int]] = {}
    for i in candidates:
        by_group.setdefault(groups[i], []).append(int(i))
    keys = sorted(by_group, key=str)
    order = rng.permutation(len(keys))
    return [np.array(by_group[keys[k]]) for k in order]


def _cut(group_lists: list[np.ndarray], targets: list[int]) -> list[np.ndarray]:
    """Fill consecutive parts with whole groups until each reaches its target image count."""
    parts: list[list[int]] = [[] for _ in targets]
    part = 0
    for members in group_lists:
        while part < len(targets) - 1 and len(parts[part]) >= targets[part]:
            part += 1
        parts[part].extend(members.tolist())
    return [np.array(sorted(p), dtype=np.int64) for p in parts]


def _class_of_groups(labels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each sample takes the majority label of its group, so a group is stratified as one unit."""
    votes: dict[object, np.ndarray] = {}
    n_classes = int(labels.max()) + 1 if len(labels) else 1
    for g, y in zip(groups.tolist(), labels.tolist()):
        votes.setdefault(g, np.zeros(n_classes, dtype=np.int64))[y] += 1
    return np.array([int(votes[g].argmax()) for g in groups.tolist()], dtype=np.int64)


def _stratified(labels, groups, fractions, rng, candidates=None) -> list[np.ndarray]:
    strata = _class_of_groups(labels, groups)
    if candidates is None:
        candidates = np.arange(len(labels))
    result = [[] for _ in fractions]
    for k in np.unique(strata[candidates]):
        members = candidates[strata[candidates] == k]
        n = len(members)
        targets = [int(round(f * n)) for f in fractions[:-1]]
        targets.append(n - sum(targets))
        for j, part in enumerate(_cut(_group_order(groups, members, rng), targets)):
            result[j].extend(part.tolist())
    return [np.array(sorted(r), dtype=np.int64) for r in result]


def make_split(
    labels: np.ndarray,
    groups: np.ndarray,
    protocol: str = "paper",
    seed: int = 42,
    fractions: tuple[float, float, float] | None = None,
    per_class: int = PAPER_PER_CLASS,
) -> Split:
    """Split sample indices into train / val / test for ``protocol``; deterministic given ``seed``."""
    labels = np.asarray(labels)
    groups = np.asarray(groups, dtype=object)
    rng = np.random.default_rng(seed)
    if protocol == "paper":
        strata = _class_of_groups(labels, groups)
        n_each = min(per_class, *(int(np.sum(strata == k)) for k in np.unique(strata)))
        chosen = []
        for k in np.unique(strata):
            ordered = _group_order(groups, np.flatnonzero(strata == k), rng)
            chosen.extend(_cut(ordered, [n_each, 10**12])[0].tolist())
        chosen = np.array(sorted(chosen), dtype=np.int64)
        train_val, test = _stratified(labels, groups, (1 - PAPER_TEST_FRACTION, PAPER_TEST_FRACTION), rng, chosen)
        train, val = _stratified(labels, groups, (1 - PAPER_VAL_FRACTION, PAPER_VAL_FRACTION), rng, train_val)
    elif protocol == "extended":
        test = make_split(labels, groups, "paper", seed, per_class=per_class).test
        test_groups = set(groups[test].tolist())
        rest = np.array([i for i in range(len(labels)) if groups[i] not in test_groups], dtype=np.int64)
        train, val = _stratified(labels, groups, (1 - EXTENDED_VAL_FRACTION, EXTENDED_VAL_FRACTION), rng, rest)
    elif protocol in ("full", "custom"):
        fr = FULL_FRACTIONS if protocol == "full" or fractions is None else tuple(fractions)
        if len(fr) != 3 or min(fr) <= 0 or abs(sum(fr) - 1) > 1e-6:
            raise ConfigError(f"split fractions must be three positive numbers summing to 1, got {fr}")
        train, val, test = _stratified(labels, groups, fr, rng)
    else:
        raise ConfigError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    split = Split(protocol, seed, train, val, test)
    for part in ("train", "val", "test"):
        idx = getattr(split, part)
        if len(np.unique(labels[idx])) < len(np.unique(labels)):
            raise DatasetTooSmallError(
                f"the {part} part of the {protocol} split has no image of some class "
                f"({len(idx)} images); add images or use another protocol"
            )
    return split


def assert_no_leak(split: Split, groups: np.ndarray) -> None:
    """Raise AssertionError when a lesion appears in two parts of ``split``."""
    groups = np.asarray(groups, dtype=object)
    seen = {}
    for part in ("train", "val", "test"):
        for g in set(groups[getattr(split, part)].tolist()):
            if g in seen and seen[g] != part:
                raise AssertionError(f"lesion {g} is in both {seen[g]} and {part}")
            seen[g] = part
