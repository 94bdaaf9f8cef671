"""The model card as a typed, frozen record: what a bundle's card.json holds, checked once when read.

``ModelCard.from_dict`` validates (the messages say what was received and what to do) and
``to_dict`` gives back the JSON object written beside the weights; ``from_dict(card.to_dict())``
equals ``card``. The nested entries (``training``, ``metrics``, ``hyperparameters``, ...) stay
JSON objects: their keys grow with the trainer, and readers use ``.get`` on them. Needs no Keras.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from trainer.errors import BundleError
from trainer.models.registry import names as architecture_names

SCHEMA_VERSION = 1
MODEL_PARTS = ("full", "head", "tuned")

REQUIRED_FIELDS = {
    "schema_version": int,
    "name": str,
    "architecture": str,
    "version": str,
    "class_names": list,
    "positive_class": str,
    "preprocessing": dict,
    "model_file": str,
    "model_part": str,
    "model_sha256": str,
    "threshold": (int, float),
    "calibration": dict,
    "training": dict,
    "metrics": dict,
    "created_at": str,
}


@dataclass(frozen=True, kw_only=True)
class ModelCard:
    """One trained model's card. Fields follow card.json's order; ``extra`` keeps keys this program
    does not know (a newer trainer's), so that reading and writing a card loses nothing."""

    schema_version: int
    name: str
    display_name: str = ""
    architecture: str
    architecture_variant: str | None = None
    preset: str | None = None
    version: str
    class_names: tuple[str, ...]
    positive_class: str
    input: Mapping[str, Any] | None = None
    preprocessing: Mapping[str, Any]
    model_file: str
    model_part: str  # "full" (the whole CNN), "head" (on a frozen shipped backbone) or "tuned"
    model_sha256: str
    weights_dtype: str | None = None
    tuned_layers: tuple[str, ...] | None = None
    backbone: Mapping[str, Any] | None = None  # name, alpha, weights file and fingerprints (head / tuned)
    threshold: float  # the operating point on the calibrated P(positive class)
    threshold_rule: str | None = None
    calibration: Mapping[str, Any]
    training: Mapping[str, Any]  # data, protocol, split seed, counts per part, sources, augmentation
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any]  # "test" (at the threshold), "test_at_0.5", "calibration"
    device: str | None = None
    training_seconds: float | None = None
    created_at: str
    trainer_version: str | None = None
    disclaimer: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    present: tuple[str, ...] = field(default=(), compare=False, repr=False)  # the keys the file had

    @classmethod
    def from_dict(cls, card: object, where: str = "card.json") -> "ModelCard":
        validate_card(card, where)
        known = {f.name for f in dataclasses.fields(cls)} - {"extra", "present"}
        values = {k: copy.deepcopy(v) for k, v in card.items() if k in known}
        values["class_names"] = tuple(card["class_names"])
        values["threshold"] = float(card["threshold"])
        if card.get("tuned_layers") is not None:
            values["tuned_layers"] = tuple(card["tuned_layers"])
        values["display_name"] = card.get("display_name") or card["name"]
        values["hyperparameters"] = dict(card.get("hyperparameters") or {})
        return cls(**values, extra={k: copy.deepcopy(v) for k, v in card.items() if k not in known},
                   present=tuple(card))

    def to_dict(self) -> dict:
        """The JSON object for card.json (lists for tuples, copies of the nested entries); an optional key the
        card was read without stays out."""
        out = {}
        for f in dataclasses.fields(self):
            if f.name in ("extra", "present"):
                continue
            optional = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            if optional and self.present and f.name not in self.present:
                continue
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else copy.deepcopy(value)
        out.update(copy.deepcopy(dict(self.extra)))
        return out

    def replace(self, **changes) -> "ModelCard":
        """A checked copy with these fields changed (for example a new calibration and threshold)."""
        return ModelCard.from_dict({**self.to_dict(), **changes})

    @property
    def positive_index(self) -> int:
        return self.class_names.index(self.positive_class)

    @property
    def test_metrics(self) -> Mapping[str, Any]:
        """The test-set numbers at the card's threshold ({} for a card without them)."""
        return self.metrics.get("test", {})

    @property
    def backbone_fingerprint(self) -> str | None:
        return (self.backbone or {}).get("content_sha256")


def validate_card(card: object, where: str = "card.json") -> dict:
    """Check a card.json object's schema; raise :class:`BundleError` saying what is wrong."""
    if not isinstance(card, dict):
        raise BundleError(f"{where}: expected a JSON object, got {type(card).__name__}")
    for name, kind in REQUIRED_FIELDS.items():
        if name not in card:
            raise BundleError(f"{where}: required field {name!r} is missing; re-export the bundle with the trainer")
        if not isinstance(card[name], kind) or isinstance(card[name], bool):
            raise BundleError(f"{where}: field {name!r} has the wrong type ({type(card[name]).__name__})")
    if card["schema_version"] != SCHEMA_VERSION:
        raise BundleError(
            f"{where}: card schema version {card['schema_version']} is not supported "
            f"(this program reads version {SCHEMA_VERSION}); update the program or retrain the model"
        )
    if card["architecture"] not in architecture_names():
        raise BundleError(f"{where}: unknown architecture {card['architecture']!r}")
    if card["model_part"] not in MODEL_PARTS:
        raise BundleError(f"{where}: model_part must be 'full', 'head' or 'tuned', got {card['model_part']!r}")
    if card["model_part"] in ("head", "tuned") and not isinstance(card.get("backbone"), dict):
        raise BundleError(f"{where}: a {card['model_part']} bundle needs a 'backbone' entry with name, alpha and sha256")
    if card["model_part"] == "tuned" and not (isinstance(card.get("tuned_layers"), list)
                                              and all(isinstance(n, str) for n in card["tuned_layers"])):
        raise BundleError(f"{where}: a tuned bundle needs 'tuned_layers', the list of fine-tuned layer names")
    names = card["class_names"]
    if len(names) < 2 or card["positive_class"] not in names:
        raise BundleError(f"{where}: class_names {names} must hold at least two names including the positive class")
    if not 0.0 <= float(card["threshold"]) <= 1.0:
        raise BundleError(f"{where}: threshold {card['threshold']} is outside [0, 1]")
    for name in ("hyperparameters", "input"):
        if card.get(name) is not None and not isinstance(card[name], dict):
            raise BundleError(f"{where}: field {name!r} must be an object, got {type(card[name]).__name__}")
    validate_calibration(card["calibration"], len(names), where)
    return card


def _positive_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def validate_calibration(calibration: Mapping, n_classes: int, where: str) -> None:
    """The calibration entry trainer.bundle.calibration applies: a temperature, or a logistic slope and intercept."""
    method = calibration.get("method", "temperature")
    if method == "temperature":
        temperature = calibration.get("temperature", 1.0)
        if not _positive_number(temperature):
            raise BundleError(f"{where}: calibration temperature must be a positive number, got {temperature!r}")
    elif method == "logistic":
        slope, intercept = calibration.get("slope"), calibration.get("intercept")
        if not _positive_number(slope) or not isinstance(intercept, (int, float)) or isinstance(intercept, bool):
            raise BundleError(f"{where}: logistic calibration needs a positive 'slope' and a numeric 'intercept', "
                              f"got slope {slope!r}, intercept {intercept!r}")
        if n_classes != 2 or calibration.get("positive_index", 1) not in (0, 1):
            raise BundleError(f"{where}: logistic calibration is for two classes (positive_index 0 or 1), got "
                              f"{n_classes} classes, positive_index {calibration.get('positive_index')!r}")
    else:
        raise BundleError(f"{where}: unknown calibration method {method!r}; this program applies 'temperature' "
                          "or 'logistic' (update the program or re-export the bundle)")
