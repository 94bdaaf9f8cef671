"""The typed model card: checked when read, frozen, and a lossless round trip to card.json."""

import dataclasses
import json

import pytest

from trainer.bundle.cards import read_card, write_card
from trainer.bundle.model_card import ModelCard
from trainer.errors import BundleError
from trainer.shipped import shipped_models_dir


def _card_dict(**changes):
    card = {"schema_version": 1, "name": "cnn", "architecture": "cnn", "version": "cnn-1",
            "class_names": ["benign", "malignant"], "positive_class": "malignant", "preprocessing": {"mode": "unit"},
            "model_file": "model.keras", "model_part": "full", "model_sha256": "0" * 64, "threshold": 0.4,
            "calibration": {"method": "temperature", "temperature": 1.5}, "training": {"data": "ham10000"},
            "metrics": {"test": {"sensitivity": 0.95}}, "created_at": "2026-12-01T00:00:00+00:00"}
    card.update(changes)
    return card


def test_the_shipped_cards_round_trip_exactly():
    for bundle in sorted(p for p in shipped_models_dir().iterdir() if (p / "card.json").is_file()):
        raw = json.loads((bundle / "card.json").read_text(encoding="utf-8"))
        card = read_card(bundle)
        assert card.to_dict() == raw and list(card.to_dict()) == list(raw)  # same keys, same order
        assert ModelCard.from_dict(card.to_dict()) == card


def test_fields_are_typed_and_the_card_is_frozen(tmp_path):
    card = ModelCard.from_dict(_card_dict(future_field={"kept": True}))
    assert card.class_names == ("benign", "malignant") and card.positive_index == 1
    assert card.display_name == "cnn" and card.test_metrics == {"sensitivity": 0.95} and card.backbone is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.threshold = 0.9
    write_card(tmp_path, card)
    again = read_card(tmp_path)
    assert again == card and again.extra == {"future_field": {"kept": True}}  # a newer trainer's key survives


def test_replace_checks_the_new_card():
    card = ModelCard.from_dict(_card_dict())
    assert card.replace(threshold=0.3).threshold == 0.3 and card.threshold == 0.4
    with pytest.raises(BundleError, match=r"threshold 1.5 is outside \[0, 1\]"):
        card.replace(threshold=1.5)


@pytest.mark.parametrize(("changes", "message"), [
    ({"threshold": None}, "field 'threshold' has the wrong type"),
    ({"schema_version": 2}, "card schema version 2 is not supported"),
    ({"model_part": "head"}, "a head bundle needs a 'backbone' entry"),
    ({"positive_class": "melanoma"}, "must hold at least two names including the positive class"),
    ({"calibration": {"method": "isotonic"}}, "unknown calibration method 'isotonic'"),
    ({"hyperparameters": [1, 2]}, "field 'hyperparameters' must be an object"),
])
def test_a_wrong_card_is_refused_saying_what_is_wrong(changes, message):
    with pytest.raises(BundleError, match=message):
        ModelCard.from_dict(_card_dict(**changes), "bundle/card.json")


def test_a_missing_field_names_the_field_and_the_fix():
    raw = _card_dict()
    del raw["version"]
    with pytest.raises(BundleError, match="required field 'version' is missing; re-export the bundle"):
        ModelCard.from_dict(raw)


def test_a_card_without_the_optional_keys_is_written_back_without_them(tmp_path):
    raw = _card_dict()
    write_card(tmp_path, ModelCard.from_dict(raw).replace(threshold=0.35))
    again = json.loads((tmp_path / "card.json").read_text(encoding="utf-8"))
    assert again == dict(raw, threshold=0.35)  # no display_name, backbone, hyperparameters... added
