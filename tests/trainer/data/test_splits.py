import numpy as np
import pytest

from trainer.data.splits import assert_no_leak, make_split
from trainer.errors import ConfigError


def _labels_groups(n_benign=1500, n_malignant=700, per_lesion=3, seed=0):
    labels = np.array([0] * n_benign + [1] * n_malignant)
    groups = np.array([f"{y}_{i // per_lesion}" for i, y in enumerate(labels)], dtype=object)
    perm = np.random.default_rng(seed).permutation(len(labels))
    return labels[perm], groups[perm]


def test_paper_protocol_sizes_one_image_per_lesion():
    labels, groups = _labels_groups(per_lesion=1)
    split = make_split(labels, groups, "paper", seed=7)
    assert len(split.train) + len(split.val) == 960 and len(split.test) == 240
    assert np.bincount(labels[split.test]).tolist() == [120, 120]
    assert len(split.val) == 96
    assert np.bincount(labels[np.concatenate([split.train, split.val])]).tolist() == [480, 480]


@pytest.mark.parametrize("protocol", ["paper", "extended", "full"])
def test_no_lesion_on_two_sides(protocol):
    labels, groups = _labels_groups(per_lesion=4)
    split = make_split(labels, groups, protocol, seed=3)
    assert_no_leak(split, groups)
    parts = [set(groups[getattr(split, p)]) for p in ("train", "val", "test")]
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])


def test_assert_no_leak_catches_a_leak():
    labels, groups = _labels_groups(per_lesion=2)
    split = make_split(labels, groups, "full", seed=1)
    split.test = np.append(split.test, split.train[0])
    with pytest.raises(AssertionError, match="both"):
        assert_no_leak(split, groups)


def test_full_protocol_is_stratified_70_15_15():
    labels, groups = _labels_groups(per_lesion=1)
    split = make_split(labels, groups, "full", seed=0)
    total = len(labels)
    assert abs(len(split.train) / total - 0.70) < 0.01
    assert abs(len(split.test) / total - 0.15) < 0.01
    for part in (split.train, split.val, split.test):
        assert abs(labels[part].mean() - labels.mean()) < 0.01
    assert sorted(np.concatenate([split.train, split.val, split.test]).tolist()) == list(range(total))


def test_seeded_and_seed_dependent():
    labels, groups = _labels_groups()
    a, b, c = (make_split(labels, groups, "full", seed=s) for s in (5, 5, 6))
    assert np.array_equal(a.test, b.test)
    assert not np.array_equal(a.test, c.test)


def test_custom_fractions_are_checked():
    labels, groups = _labels_groups()
    split = make_split(labels, groups, "custom", fractions=(0.6, 0.2, 0.2))
    assert abs(len(split.test) / len(labels) - 0.2) < 0.01
    with pytest.raises(ConfigError):
        make_split(labels, groups, "custom", fractions=(0.6, 0.6, 0.2))
    with pytest.raises(ConfigError):
        make_split(labels, groups, "bogus")


def test_extended_protocol_keeps_the_paper_test_set_and_uses_everything_else():
    labels, groups = _labels_groups(per_lesion=2)
    paper = make_split(labels, groups, "paper", seed=5)
    extended = make_split(labels, groups, "extended", seed=5)
    assert extended.test.tolist() == paper.test.tolist()
    assert_no_leak(extended, groups)
    used = np.concatenate([extended.train, extended.val, extended.test])
    assert sorted(used.tolist()) == list(range(len(labels)))  # every image is used once
    assert abs(len(extended.val) / (len(extended.train) + len(extended.val)) - 0.15) < 0.01
    # stratified: validation keeps the class mix of the rest
    rest = np.concatenate([extended.train, extended.val])
    assert abs(labels[extended.val].mean() - labels[rest].mean()) < 0.02
