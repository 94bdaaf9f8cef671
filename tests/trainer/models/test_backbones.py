"""Finding backbone weights, and knowing them by their arrays rather than their file's bytes."""

import shutil

import h5py
import pytest

from trainer.errors import BackboneWeightsError
from trainer.models.architectures import _base_network, check_backbone_identity, load_backbone
from trainer.models.backbones import ENV_BACKBONES, bundled_backbones_dir, resolve_weights, sha256_file

MNV2 = "mobilenet_v2_0.35_224_imagenet_notop.h5"


def _recorded(folder):
    """The card entry a model trained on the backbone in ``folder`` would carry."""
    return load_backbone("mobilenetv2", 0.35, folder / MNV2, allow_download=False).card()


def _dataset_names(group) -> list[str]:
    names = []
    group.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    return names


def test_the_shipped_backbones_are_found_without_any_setting(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_BACKBONES, raising=False)
    for architecture, alpha, name in (("vgg16", 1.0, "vgg16_imagenet_notop.h5"), ("mobilenetv2", 0.35, MNV2)):
        found = resolve_weights(architecture, alpha, allow_download=False)
        assert found == bundled_backbones_dir() / name and found.is_file()


def test_explicit_folder_and_environment_override_the_shipped_copy(monkeypatch, tmp_path, random_backbones):
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    shutil.copy(random_backbones / MNV2, env_dir / MNV2)
    monkeypatch.setenv(ENV_BACKBONES, str(env_dir))
    assert resolve_weights("mobilenetv2", 0.35, allow_download=False) == env_dir / MNV2
    assert resolve_weights("mobilenetv2", 0.35, random_backbones, allow_download=False) == random_backbones / MNV2


def test_the_same_arrays_in_another_container_are_accepted(random_backbones, tmp_path):
    recorded = _recorded(random_backbones)
    assert recorded["content_sha256"] and len(recorded["layer_sha256"]) > 50
    original = load_backbone("mobilenetv2", 0.35, random_backbones / MNV2, allow_download=False)
    resaved = tmp_path / "mobilenet_v2_resaved.weights.h5"  # Keras 3's own weights layout, not the legacy one
    _base_network(original).save_weights(resaved)
    copy = load_backbone("mobilenetv2", 0.35, resaved, allow_download=False)
    assert copy.sha256 != original.sha256  # other bytes...
    assert check_backbone_identity(recorded, copy, "the model") == "same weights (content fingerprint)"  # ...same weights


def test_one_changed_weight_is_refused_naming_its_layer(random_backbones, tmp_path):
    recorded = _recorded(random_backbones)
    changed = tmp_path / MNV2
    shutil.copy(random_backbones / MNV2, changed)
    with h5py.File(changed, "r+") as handle:
        group = handle["Conv1"]  # Keras' legacy layout; the array's own name depends on the writer's version
        kernel = next(group[n] for n in _dataset_names(group) if "kernel" in n)
        values = kernel[()]
        values.flat[0] += 0.5
        kernel[...] = values
    other = load_backbone("mobilenetv2", 0.35, changed, allow_download=False)
    with pytest.raises(BackboneWeightsError, match="layer Conv1 has other weights") as caught:
        check_backbone_identity(recorded, other, "the model mobilenetv2")
    assert "--backbones" in str(caught.value) and "bn_Conv1" not in str(caught.value)


def test_an_older_card_with_only_the_file_checksum_still_loads(random_backbones, tmp_path):
    old_entry = {k: v for k, v in _recorded(random_backbones).items() if k in ("name", "alpha", "weights_file", "sha256")}
    same = load_backbone("mobilenetv2", 0.35, random_backbones / MNV2, allow_download=False)
    assert check_backbone_identity(old_entry, same, "the model") == "same file (SHA-256)"
    assert old_entry["sha256"] == sha256_file(random_backbones / MNV2)
    shipped = load_backbone("mobilenetv2", 0.35, bundled_backbones_dir() / MNV2, allow_download=False)
    with pytest.raises(BackboneWeightsError, match="have SHA-256"):
        check_backbone_identity(old_entry, shipped, "the model")


def test_a_file_with_other_weights_earlier_on_the_path_does_not_hide_the_right_one(random_backbones, monkeypatch):
    from trainer.models.architectures import matching_backbone

    monkeypatch.setenv(ENV_BACKBONES, str(random_backbones))  # found first, but holds other weights
    shipped = _recorded(bundled_backbones_dir())
    backbone, extractor, match = matching_backbone(shipped, "the model", allow_download=False)
    assert backbone.weights_path == str(bundled_backbones_dir() / MNV2) and match.startswith("same")
    assert extractor.output_shape[-1] == 1280
    random_card = _recorded(random_backbones)
    monkeypatch.delenv(ENV_BACKBONES)
    with pytest.raises(BackboneWeightsError, match="are not the ones the model was trained on"):
        matching_backbone(random_card, "the model", allow_download=False)
