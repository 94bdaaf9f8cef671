"""Loading the installed model bundles and running them on decoded images.

Each bundle loads on its own: one with a missing file or backbone shows as unavailable, with the
reason and the fix, while the others keep working. Labels, thresholds and calibration come from
each bundle's card.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

import numpy as np

from melanoma_desktop.core.records import MODEL_ORDER, ModelInfo, ModelPrediction  # noqa: F401 (MODEL_ORDER: re-export)
from trainer.bundle.adapted import AdaptedBundle
from trainer.bundle.cards import ENSEMBLE_FILE, find_bundles, read_card, read_ensemble_file
from trainer.bundle.ensemble_rule import EnsembleRule
from trainer.bundle.model_card import ModelCard
from trainer.errors import TrainerError
from trainer.shipped import quality_gate_dir, shipped_models_dir

ENV_MODELS = "MELANOMA_MODELS"


def default_models_dir() -> Path:
    return Path(os.environ[ENV_MODELS]).expanduser() if os.environ.get(ENV_MODELS) else shipped_models_dir()


@runtime_checkable
class Classifier(Protocol):
    """What the rest of the app needs from a set of models (:class:`ModelSet`; the tests use a fake)."""

    ensemble: EnsembleRule | None  # the combined rule new cases are read with (ensemble.json, or a clinic's flag line)
    base_ensemble: EnsembleRule | None  # the stored rule for these models (ensemble.json), a clinic's line aside
    ensemble_note: str  # why no stored combined rule is used, when none is
    site_rule_note: str  # why the clinic's flag line is not used (made for other model versions)
    quality_gate: object | None  # core.quality.FeatureDistanceGate, or None: pixel checks only
    site_models: object | None  # core.site_models.SiteModelSet in use (the models adapted to the clinic), or None
    site_models_note: str  # why the clinic's adapted models are not used (made for other model versions)

    @property
    def empty_reason(self) -> str:
        """What to do when no model is installed at all ("" otherwise)."""
        ...

    def model_infos(self) -> list[ModelInfo]: ...

    def predict(self, images: np.ndarray) -> list[list[ModelPrediction]]: ...

    def predict_with_embeddings(self, images: np.ndarray) -> tuple[list[list[ModelPrediction]], list[dict]]:
        """``predict`` and, per image, what each model's head read: {name: (embedding version, float32 vector)}."""
        ...

    def heads(self) -> dict:
        """Each loaded model's base head in NumPy: {name: (embedding version, trainer.bundle.adapter.HeadArrays)}."""
        ...

    def heatmaps(self, image: np.ndarray) -> dict[str, tuple[str, np.ndarray]]: ...


def _info_from_card(card: ModelCard, available=True, reason="", bundle_dir="") -> ModelInfo:
    return ModelInfo(
        name=card.name, display_name=card.display_name, version=card.version,
        threshold=float(card.threshold), class_names=tuple(card.class_names),
        test_metrics=card.test_metrics, training=card.training,
        available=available, reason=reason, bundle_dir=str(bundle_dir),
    )


NO_MODELS_HELP = (
    "No models are installed. Train them with 'python -m trainer train --data DIR --out DIR' (or "
    "Models > Retrain) and start the app with --models DIR, or copy bundles into {where}."
)


@dataclass
class ModelSet:
    """The bundles found in a folder: loaded ones predict, failed ones explain themselves."""

    directory: Path
    loaded: list = field(default_factory=list)  # trainer.bundle.io.LoadedBundle
    unavailable: list[ModelInfo] = field(default_factory=list)
    quality_gate: object | None = None  # FeatureDistanceGate, when its files and backbone are found
    quality_note: str = ""
    ensemble: EnsembleRule | None = None  # the rule in use: base_ensemble, or the clinic's flag line when it applies
    base_ensemble: EnsembleRule | None = None  # ensemble.json (beside the bundles or kept), when its members are loaded
    ensemble_note: str = ""
    site_rule_note: str = ""  # why the active clinic flag line is not used (made for other model versions)
    site_models: object | None = None  # core.site_models.SiteModelSet in use (the models adapted to the clinic)
    site_models_note: str = ""  # why the clinic's adapted models are not used (made for other model versions)
    _gradcams: dict = field(default_factory=dict, repr=False)  # model name -> GradCam, built on first use

    def model_infos(self) -> list[ModelInfo]:
        infos = [_info_from_card(b.card, bundle_dir=b.directory) for b in self.loaded] + list(self.unavailable)
        rank = {name: i for i, name in enumerate(MODEL_ORDER)}
        return sorted(infos, key=lambda info: (rank.get(info.name, 99), info.name))

    @property
    def empty_reason(self) -> str:
        return NO_MODELS_HELP.format(where=self.directory) if not self.loaded and not self.unavailable else ""

    def heatmaps(self, image: np.ndarray) -> dict[str, tuple[str, np.ndarray]]:
        """Grad-CAM of one image for every loaded model: name -> (version, (224, 224) heatmap)."""
        from melanoma_desktop.core.gradcam import GradCam

        cams = self._gradcams
        out = {}
        for bundle in self.loaded:
            if bundle.name not in cams:
                cams[bundle.name] = GradCam(bundle)
            out[bundle.name] = (bundle.version, cams[bundle.name].heatmaps(image[None])[0])
        return out

    def predict(self, images: np.ndarray) -> list[list[ModelPrediction]]:
        """Per image, one calibrated prediction per loaded model, thresholds from the cards."""
        return self.predict_with_embeddings(images)[0]

    def predict_with_embeddings(self, images: np.ndarray) -> tuple[list[list[ModelPrediction]], list[dict]]:
        per_model, embedded = [], []
        for bundle in self.loaded:
            positive = bundle.card.positive_index
            probs, embeddings = bundle.predict_with_embeddings(images)
            per_model.append([ModelPrediction(bundle.name, bundle.version, float(p[positive]), bundle.threshold)
                              for p in probs])
            embedded.append((bundle.name, bundle.embedding_version, embeddings))
        order = {info.name: i for i, info in enumerate(self.model_infos())}
        result = []
        for i in range(len(images)):
            row = [preds[i] for preds in per_model]
            result.append(sorted(row, key=lambda p: order.get(p.name, 99)))
        return result, [{name: (version, e[i]) for name, version, e in embedded} for i in range(len(images))]

    def heads(self) -> dict:
        from trainer.bundle.embedding import head_arrays

        return {b.name: (b.embedding_version, head_arrays(getattr(b, "base", b))) for b in self.loaded}


def _matching_ensemble(candidates: list[Path], loaded: list) -> tuple[EnsembleRule | None, str]:
    """The first stored ensemble rule (ensemble.json files) whose members are exactly the loaded models
    (same versions), and why none is used when none is."""
    have = {b.name: b.version for b in loaded}
    notes = []
    for path in candidates:
        try:
            rule = read_ensemble_file(path)
        except TrainerError as exc:
            notes.append(f"ensemble threshold not used: {exc}")
            continue
        if rule is None:
            continue
        if rule.applies_to(have):
            return rule, ""
        notes.append("ensemble threshold not used: it was fitted for "
                      + ", ".join(f"{n} {v}" for n, v in rule.members.items()) + "; the loaded models differ")
    return None, notes[0] if notes else ""


def load_models(directory=None, backbones=None, allow_download: bool = False,
                on_progress: Callable[[str], None] | None = None, should_stop=lambda: False,
                bundle_dirs: list | None = None, ensemble_files: list | None = None,
                site_rule: EnsembleRule | None = None, site_models=None) -> ModelSet:
    """Load every bundle under ``directory`` (or exactly ``bundle_dirs``); never raises for one bad bundle.
    The ensemble rule is ``directory``'s ensemble.json or one of ``ensemble_files`` (the registry's), the
    first whose members are exactly the loaded versions. A clinic's ``site_rule`` (its own calibration and
    flag line, core.local_performance) takes its place while its members are exactly the loaded versions;
    made for other versions, it is not used, and ``ensemble_note`` says so."""
    from trainer.bundle.io import load_bundle

    directory = Path(directory) if directory else default_models_dir()
    models = ModelSet(directory)
    for bundle_dir in (bundle_dirs if bundle_dirs is not None else find_bundles(directory)):
        bundle_dir = Path(bundle_dir)
        if should_stop():
            break
        if on_progress:
            on_progress(f"loading {bundle_dir.name}")
        try:
            models.loaded.append(load_bundle(bundle_dir, backbones, allow_download=allow_download))
        except TrainerError as exc:
            try:
                card = read_card(bundle_dir)
                info = _info_from_card(card, available=False, reason=str(exc), bundle_dir=bundle_dir)
            except TrainerError:
                info = ModelInfo(bundle_dir.name, bundle_dir.name, available=False, reason=str(exc))
            models.unavailable.append(info)

    candidates = [directory / ENSEMBLE_FILE, *[Path(f) for f in ensemble_files or ()]]
    models.base_ensemble, models.ensemble_note = _matching_ensemble(candidates, models.loaded)
    models.ensemble = models.base_ensemble
    if site_models is not None:
        _apply_site_models(models, site_models)
    if site_rule is not None:  # a flag line set on the adapted models applies to them; one for the others does not
        if site_rule.applies_to({b.name: b.version for b in models.loaded}):
            models.ensemble, models.ensemble_note = site_rule, ""
        elif models.site_models is None:
            models.site_rule_note = (f"the clinic's flag line {site_rule.site_version} was made for other model versions "
                                     f"({', '.join(f'{n} {v}' for n, v in site_rule.members.items())}); "
                                     "the shipped flag line is used until a new one is set for these models")
    gate_dir = quality_gate_dir()
    try:
        from melanoma_desktop.core.quality import FeatureDistanceGate

        models.quality_gate = FeatureDistanceGate.load(gate_dir, backbones)
    except (OSError, ValueError, KeyError, TrainerError) as exc:
        models.quality_note = f"feature-distance check off ({exc}); pixel checks still run"
    return models


def _apply_site_models(models: ModelSet, site_models) -> None:
    """Wrap the loaded bundles in the clinic's adapters when the set was made from exactly these versions;
    otherwise say why it is not used (a new release: adapt again)."""
    installed = {b.name: b.version for b in models.loaded}
    if not site_models.applies_to(installed):
        models.site_models_note = (
            f"the models adapted to this clinic ({site_models.version}) were made for other model versions "
            f"({', '.join(f'{n} {v}' for n, v in site_models.base_members.items())}); the installed models are used "
            "as they are until they are adapted again (Models > Adapt to this clinic)")
        return
    models.loaded = [AdaptedBundle(b, site_models.adapters[b.name], site_models.members[b.name],
                                   site_models.thresholds[b.name], site_models.description()) for b in models.loaded]
    models.site_models = site_models
    models.ensemble, models.ensemble_note = site_models.rule, ""
