"""The app uses the stored ensemble threshold only with the exact models it was fitted for."""

import json
import shutil

from melanoma_desktop.core.classifier import load_models
from trainer.bundle.cards import find_bundles, read_card


def _models_with_ensemble(tiny_bundles, tmp_path, change_version=False):
    models_dir, backbones, _ = tiny_bundles
    target = tmp_path / "models"
    shutil.copytree(models_dir, target, ignore=shutil.ignore_patterns("*.csv", "*.md", "*.txt", "*.json"))
    for bundle in find_bundles(models_dir):
        shutil.copy(bundle / "card.json", target / bundle.name / "card.json")
    members = {read_card(b).name: read_card(b).version for b in find_bundles(target)}
    if change_version:
        members["cnn"] = "cnn-some-other-version"
    (target / "ensemble.json").write_text(json.dumps({"members": members, "threshold": 0.3}))
    return target, backbones


def test_matching_ensemble_is_used(tiny_bundles, tmp_path):
    target, backbones = _models_with_ensemble(tiny_bundles, tmp_path)
    models = load_models(target, backbones)
    assert models.ensemble.threshold == 0.3 and models.ensemble_note == ""


def test_ensemble_for_other_versions_is_not_used(tiny_bundles, tmp_path):
    target, backbones = _models_with_ensemble(tiny_bundles, tmp_path, change_version=True)
    models = load_models(target, backbones)
    assert models.ensemble is None and "the loaded models differ" in models.ensemble_note


def test_the_model_set_and_the_fake_both_satisfy_the_classifier_protocol(tmp_path):
    """The app reads every Classifier member directly (no getattr probes), so both must have them all."""
    from melanoma_desktop.core.classifier import Classifier, load_models
    from tests.fakes import FakeClassifier

    empty = load_models(tmp_path)  # no bundles: a ModelSet that says what to do
    assert isinstance(empty, Classifier) and isinstance(FakeClassifier(), Classifier)
    assert "No models are installed" in empty.empty_reason and empty.ensemble is None
    assert not isinstance(object(), Classifier)
