"""Model cards: the JSON beside every bundle's weights, its schema and where bundles are.

Reading and checking a card needs no TensorFlow, so the app can list its models (and start its
window) before Keras is imported.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from trainer.errors import BundleError, ConfigError

ARCHITECTURES = ("cnn", "vgg16", "mobilenetv2")
CNN_HEADS = ("flatten", "gap")  # the paper's Flatten -> Dense, or global average pooling (trainer.models)


def check_architecture(name: str) -> str:
    if name not in ARCHITECTURES:
        raise ConfigError(f"unknown model {name!r}; use one or more of {', '.join(ARCHITECTURES)}")
    return name


SCHEMA_VERSION = 1
CARD_NAME = "card.json"
PREDICTIONS_FILE = "predictions.csv"  # a run's calibrated P(malignant) per model, validation and test image
EXTERNAL_FILE = "external_predictions.csv"  # the benchmark's cache: P(malignant) per bundle version, external image
ENSEMBLE_FILE = "ensemble.json"  # beside the bundles: the mean-of-models rule's threshold and its members
MODEL_NAME = "model.keras"


def probability_text(p: float) -> str:
    """A probability as the run's CSV files keep it: 9 significant digits, enough to recover the model's own
    output through the calibration (trainer.recalibrate) even where it is close to 0, 1 or a tie."""
    return f"{float(p):.9g}"

def dataset_name(folder) -> str:
    """How a card names a data source: its folder's name (``ham10000``), never the trainer machine's path."""
    return Path(str(folder)).expanduser().resolve().name


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


def validate_card(card: object, where: str = "card.json") -> dict:
    """Check the card's schema; raise :class:`BundleError` saying what is wrong."""
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
    if card["architecture"] not in ARCHITECTURES:
        raise BundleError(f"{where}: unknown architecture {card['architecture']!r}")
    if card["model_part"] not in ("full", "head", "tuned"):
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
    validate_calibration(card["calibration"], len(names), where)
    return card


def _positive_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def validate_calibration(calibration: dict, n_classes: int, where: str) -> None:
    """The calibration entry trainer.calibration applies: a temperature, or a logistic slope and intercept."""
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


def read_card(bundle_dir: str | os.PathLike) -> dict:
    path = Path(bundle_dir) / CARD_NAME
    if not path.is_file():
        raise BundleError(f"{bundle_dir} is not a model bundle: {CARD_NAME} is missing")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path} is not valid JSON ({exc}); re-export the bundle") from None
    return validate_card(card, str(path))


def write_card(bundle_dir: str | os.PathLike, card: dict) -> Path:
    validate_card(card)
    path = Path(bundle_dir) / CARD_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card, indent=2, sort_keys=False, default=_json_default), encoding="utf-8")
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


def read_ensemble(models_dir: str | os.PathLike) -> dict | None:
    """The ensemble rule stored beside the bundles, or None when there is none.

    Raises :class:`BundleError` for a file that is there but malformed."""
    return read_ensemble_file(Path(models_dir) / ENSEMBLE_FILE)


def read_ensemble_file(path: str | os.PathLike) -> dict | None:
    """An ensemble rule (ensemble.json's content) from this file, or None when there is none."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path} is not valid JSON ({exc}); re-export the models") from None
    members, threshold = data.get("members") if isinstance(data, dict) else None, data.get("threshold")
    if not (isinstance(members, dict) and members and all(isinstance(v, str) for v in members.values())
            and isinstance(threshold, (int, float)) and 0 <= threshold <= 1):
        raise BundleError(f"{path}: expected 'members' (model name -> version) and a 'threshold' in [0, 1]")
    if "calibration" in data:  # files written before the ensemble was calibrated have none: the plain mean
        if not isinstance(data["calibration"], dict):
            raise BundleError(f"{path}: 'calibration' must be an object, got {data['calibration']!r}")
        validate_calibration(data["calibration"], 2, str(path))
    return data
