"""The feature-cache path against the naive path (whole model on every batch)."""

import numpy as np
import pytest

from trainer.config import TrainConfig
from trainer.models.architectures import feature_extractor, load_backbone
from trainer.models.features import FeatureCache, compute_features, images_fingerprint
from trainer.training.train import run_training


def test_cached_features_equal_a_plain_forward_pass(random_backbones, tmp_path):
    backbone = load_backbone("mobilenetv2", 0.35, random_backbones, allow_download=False)
    extractor = feature_extractor(backbone)
    images = np.random.default_rng(0).integers(0, 256, (5, 224, 224, 3), dtype=np.uint8)
    cache = FeatureCache(tmp_path)
    key = cache.key(backbone.sha256, 0.35, images_fingerprint(images), "none")
    first = cache.get_or_compute(key, lambda: compute_features(extractor, images, batch_size=2))
    again = cache.get_or_compute(key, lambda: pytest.fail("recomputed although cached"))
    plain = extractor.predict(images.astype("float32"), verbose=0)
    np.testing.assert_allclose(first, plain, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(first, again)
    assert cache.key(backbone.sha256, 0.35, images_fingerprint(images), "paper:42:1") != key
    assert cache.key("0" * 64, 0.35, images_fingerprint(images), "none") != key


def test_cache_stops_part_way(random_backbones):
    extractor = feature_extractor(load_backbone("mobilenetv2", 0.35, random_backbones, allow_download=False))
    images = np.zeros((6, 224, 224, 3), np.uint8)
    calls = iter([False, True])
    assert compute_features(extractor, images, 2, should_stop=lambda: next(calls)) is None


@pytest.mark.slow  # two trainings to compare (26 s here); the cached features equal a forward pass (below)
def test_cache_path_learns_a_toy_problem_as_well_as_the_naive_path(tmp_path, shared_backbones):
    """Real ImageNet MobileNetV2 features; synthetic dark-large vs light-small lesions."""
    from synthetic import write_labels_csv

    data = write_labels_csv(tmp_path / "data", n_per_class=30, size=96)
    results = {}
    for cached in (True, False):
        config = TrainConfig(data=str(data), out=str(tmp_path / f"out_{cached}"), models=("mobilenetv2",),
                             protocol="full", epochs=12, patience=4, batch_size=8, backbones=str(shared_backbones),
                             mobilenet_alpha=0.35, cache_dir=str(tmp_path / "cache"), allow_download=False,
                             feature_cache=cached, aug_copies=2)
        results[cached] = run_training(config).metrics["mobilenetv2"]
    cached_auc, naive_auc = results[True]["roc_auc"], results[False]["roc_auc"]
    assert cached_auc >= 0.9 and naive_auc >= 0.9, (cached_auc, naive_auc)
    assert abs(results[True]["accuracy"] - results[False]["accuracy"]) <= 0.2
