import json
import shutil

import pytest

from melanoma_desktop.core.registry import ModelRegistry


def _fake_bundle(root, name, version, created):
    """A directory with a valid card (the registry only reads cards and copies files)."""
    d = root / f"{name}-{version}"
    d.mkdir(parents=True)
    card = {"schema_version": 1, "name": name, "architecture": "cnn", "version": version,
            "class_names": ["benign", "malignant"], "positive_class": "malignant", "preprocessing": {"mode": "unit"},
            "model_file": "model.keras", "model_part": "full", "model_sha256": "0" * 64, "threshold": 0.5,
            "calibration": {"temperature": 1.0}, "training": {}, "metrics": {}, "created_at": created}
    (d / "card.json").write_text(json.dumps(card))
    (d / "model.keras").write_bytes(b"weights " + version.encode())
    return d


def test_promote_restore_and_fallback(tmp_path):
    shipped = tmp_path / "shipped"
    _fake_bundle(shipped, "vgg16", "v0", "2026-01-01").rename(shipped / "vgg16")
    _fake_bundle(shipped, "cnn", "v0", "2026-01-01").rename(shipped / "cnn")
    registry = ModelRegistry(tmp_path / "user" / "models")
    assert [d.name for d in registry.active_bundle_dirs(shipped)] == ["cnn", "vgg16"]
    first = registry.promote(_fake_bundle(tmp_path / "runs", "cnn", "v1", "2026-02-01"))
    assert first.active and registry.active() == {"cnn": "v1"}
    dirs = registry.active_bundle_dirs(shipped)
    assert dirs[0] == registry.version_dir("cnn", "v1") and dirs[1] == shipped / "vgg16"
    registry.promote(_fake_bundle(tmp_path / "runs", "cnn", "v2", "2026-03-01"))
    assert [(v.version, v.active) for v in registry.versions("cnn")] == [("v1", False), ("v2", True)]
    registry.restore("cnn", "v1")
    assert registry.active()["cnn"] == "v1"
    assert (registry.version_dir("cnn", "v2") / "model.keras").read_bytes() == b"weights v2"
    with pytest.raises(FileNotFoundError):
        registry.restore("cnn", "v9")
    shutil.rmtree(tmp_path / "runs")  # promoted copies do not depend on the run folder
    assert (registry.version_dir("cnn", "v1") / "card.json").is_file()


def test_a_kept_ensemble_rule_applies_while_exactly_its_members_are_active(tmp_path):
    from melanoma_desktop.core.classifier import _matching_ensemble

    class Loaded:
        def __init__(self, name, version):
            self.name, self.version = name, version

    registry = ModelRegistry(tmp_path / "user" / "models")
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    assert registry.keep_ensemble(run) is None and registry.ensemble_files() == []  # a run without one
    rule = {"members": {"cnn": "cnn-v2", "vgg16": "vgg16-v2"}, "threshold": 0.3,
            "calibration": {"method": "temperature", "temperature": 0.8}}
    (run / "ensemble.json").write_text(json.dumps(rule))
    kept = registry.keep_ensemble(run)
    assert registry.ensemble_files() == [kept] and json.loads(kept.read_text()) == rule
    shipped = tmp_path / "shipped" / "ensemble.json"
    shipped.parent.mkdir()
    shipped.write_text(json.dumps({"members": {"cnn": "cnn-v1", "vgg16": "vgg16-v1"}, "threshold": 0.4}))
    candidates = [shipped, *registry.ensemble_files()]
    used, note = _matching_ensemble(candidates, [Loaded("cnn", "cnn-v2"), Loaded("vgg16", "vgg16-v2")])
    assert used.to_dict() == rule and note == ""
    used, note = _matching_ensemble(candidates, [Loaded("cnn", "cnn-v1"), Loaded("vgg16", "vgg16-v1")])
    assert used.threshold == 0.4
    used, note = _matching_ensemble(candidates, [Loaded("cnn", "cnn-v2"), Loaded("vgg16", "vgg16-v1")])
    assert used is None and "the loaded models differ" in note  # one promoted, the other not: no ensemble
