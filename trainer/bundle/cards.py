"""Model cards: the JSON beside every bundle's weights, its schema and where bundles are.

Reading and checking a card needs no TensorFlow, so the app can list its models (and start its
window) before Keras is imported.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from trainer.bundle.ensemble_rule import EnsembleRule
from trainer.bundle.model_card import (  # noqa: F401 (re-exports)
    SCHEMA_VERSION,
    ModelCard,
    validate_calibration,
    validate_card,
)
from trainer.errors import BundleError
from trainer.names import dataset_name

CARD_NAME = "card.json"
PREDICTIONS_FILE = "predictions.csv"  # a run's calibrated P(malignant) per model, validation and test image
EXTERNAL_FILE = "external_predictions.csv"  # the benchmark's cache: P(malignant) per bundle version, external image
ENSEMBLE_FILE = "ensemble.json"  # beside the bundles: the mean-of-models rule's threshold and its members
MODEL_NAME = "model.keras"


def probability_text(p: float) -> str:
    """A probability as the run's CSV files keep it: 9 significant digits, enough to recover the model's own
    output through the calibration (trainer.training.recalibrate) even where it is close to 0, 1 or a tie."""
    return f"{float(p):.9g}"

def portable_training(training: dict) -> dict:
    """A card's ``training`` entry with every data source named by its folder's name only (cards written
    before names were used held the trainer machine's absolute paths)."""
    out = dict(training)
    if out.get("data"):
        out["data"] = dataset_name(out["data"])
    if out.get("extra_data"):
        out["extra_data"] = [{**e, "data": dataset_name(e["data"])} if e.get("data") else dict(e)
                             for e in out["extra_data"]]
    return out


def read_card(bundle_dir: str | os.PathLike) -> ModelCard:
    """The bundle's card.json, checked: :class:`BundleError` says what is missing or wrong."""
    path = Path(bundle_dir) / CARD_NAME
    if not path.is_file():
        raise BundleError(f"{bundle_dir} is not a model bundle: {CARD_NAME} is missing")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path} is not valid JSON ({exc}); re-export the bundle") from None
    return ModelCard.from_dict(card, str(path))


def write_card(bundle_dir: str | os.PathLike, card: ModelCard | dict) -> Path:
    """Write card.json, checked first (a card built in code is checked as its file would be read)."""
    card = ModelCard.from_dict(card.to_dict() if isinstance(card, ModelCard) else card)
    path = Path(bundle_dir) / CARD_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card.to_dict(), indent=2, sort_keys=False, default=_json_default), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def find_bundles(models_dir: str | os.PathLike) -> list[Path]:
    """Bundle directories directly below ``models_dir`` (or ``models_dir`` itself), sorted by name."""
    models_dir = Path(models_dir)
    if (models_dir / CARD_NAME).is_file():
        return [models_dir]
    if not models_dir.is_dir():
        return []
    return sorted(p for p in models_dir.iterdir() if (p / CARD_NAME).is_file())


def read_ensemble(models_dir: str | os.PathLike) -> EnsembleRule | None:
    """The ensemble rule stored beside the bundles, or None when there is none.

    Raises :class:`BundleError` for a file that is there but malformed."""
    return read_ensemble_file(Path(models_dir) / ENSEMBLE_FILE)


def read_ensemble_file(path: str | os.PathLike) -> EnsembleRule | None:
    """The ensemble rule in this file (an ensemble.json), checked, or None when there is no file."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path} is not valid JSON ({exc}); re-export the models") from None
    return EnsembleRule.from_dict(data, str(path))
