"""What a triage produces: one prediction per model, their consensus, and the case record."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ModelInfo:
    """What the app knows about one installed model, read from its card (or why it is unavailable)."""

    name: str
    display_name: str
    version: str = ""
    threshold: float = 0.5
    class_names: tuple[str, ...] = ("benign", "malignant")
    test_metrics: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    available: bool = True
    reason: str = ""  # why it is unavailable and how to fix it
    bundle_dir: str = ""

    def training_summary(self) -> str:
        """One line from the card: the data set's folder name (the trainer machine's path says nothing to the
        reader), any extra training sources, the protocol and split sizes,
        e.g. 'ham10000 + isic2017 (train) 2000 images, protocol extended (train 8168, val 1088, test 240)'."""
        t = self.training
        extra = ""
        for entry in t.get("extra_data") or []:
            split = f" ({entry['source_split']})" if entry.get("source_split") else ""
            n = int(entry.get("benign", 0)) + int(entry.get("malignant", 0))
            extra += f" + {Path(str(entry.get('data', '?'))).name}{split} {n} images"
        counts = ", ".join(f"{part} {sum(v.values())}" for part, v in t.get("counts", {}).items()
                           if isinstance(v, dict)) or "n/a"
        data = Path(str(t["data"])).name if t.get("data") else "n/a"
        return f"{data}{extra}, protocol {t.get('protocol')} ({counts})"


@dataclass(frozen=True)
class ModelPrediction:
    name: str
    version: str
    p_malignant: float
    threshold: float

    @property
    def label(self) -> str:
        return "malignant" if self.p_malignant >= self.threshold else "benign"

    def to_json(self) -> dict:
        return {"name": self.name, "version": self.version, "p_malignant": round(self.p_malignant, 6),
                "threshold": self.threshold, "label": self.label}


@dataclass(frozen=True)
class Consensus:
    mean_p_malignant: float
    n_malignant: int
    n_models: int
    # The ensemble, when the installed models are exactly its members: its P(malignant) (the mean through
    # the calibration fitted on validation; the plain mean for a rule without one) and its threshold
    # (chosen on validation for 95 % sensitivity).
    ensemble_threshold: float | None = None
    ensemble_p_malignant: float | None = None

    @property
    def ensemble_label(self) -> str | None:
        if self.ensemble_threshold is None or self.ensemble_p_malignant is None or self.n_models == 0:
            return None
        return "malignant" if self.ensemble_p_malignant >= self.ensemble_threshold else "benign"

    @property
    def disagreement(self) -> bool:
        return 0 < self.n_malignant < self.n_models

    @property
    def flagged(self) -> bool:
        """At least one model, or the ensemble, is above its threshold: the case deserves a closer look."""
        return self.n_malignant > 0 or self.ensemble_label == "malignant"

    @property
    def label(self) -> str:
        if self.n_models == 0:
            return "no models"
        if self.disagreement:
            return "models disagree"
        return "malignant" if self.n_malignant else "benign"

    def to_json(self) -> dict:
        return {"mean_p_malignant": round(self.mean_p_malignant, 6), "n_malignant": self.n_malignant,
                "n_models": self.n_models, "disagreement": self.disagreement, "flagged": self.flagged,
                "label": self.label, "ensemble_p_malignant": None if self.ensemble_p_malignant is None else
                round(self.ensemble_p_malignant, 6), "ensemble_threshold": self.ensemble_threshold,
                "ensemble_label": self.ensemble_label}

    @classmethod
    def of(cls, predictions: list[ModelPrediction], ensemble: dict | None = None) -> "Consensus":
        n = len(predictions)
        mean = sum(p.p_malignant for p in predictions) / n if n else 0.0
        members = (ensemble or {}).get("members")
        applies = bool(members) and members == {p.name: p.version for p in predictions}
        p_ensemble = None
        if applies:
            from trainer.calibration import calibrate_p_positive  # NumPy only

            p_ensemble = float(calibrate_p_positive(mean, ensemble.get("calibration"))[0])
        return cls(mean, sum(p.label == "malignant" for p in predictions), n,
                   float(ensemble["threshold"]) if applies else None, p_ensemble)


CLINICIAN_LABELS = ("benign", "malignant", "unsure")


@dataclass
class TriageRecord:
    """One case as saved in the database and shown on screen."""

    sha256: str
    path: str
    predictions: list[ModelPrediction]
    created_at: str
    thumbnail_png: bytes = b""
    id: int | None = None
    updated_at: str = ""
    note: str = ""
    clinician_label: str | None = None
    reviewed: bool = False
    quality: dict = field(default_factory=dict)  # QualityReport.to_json()
    # the ensemble rule the case was read with, when installed: {"members": {name: version}, "threshold": t,
    # "calibration": {...}} (records saved before the ensemble was calibrated have no calibration)
    ensemble: dict = field(default_factory=dict)

    @property
    def quality_label(self) -> str:
        flags = self.quality.get("flags", [])
        return "ok" if not flags else "low confidence: " + "; ".join(flags)

    @property
    def file_name(self) -> str:
        import os

        return os.path.basename(self.path)

    @property
    def consensus(self) -> Consensus:
        return Consensus.of(self.predictions, self.ensemble)

    def model_versions(self) -> dict[str, str]:
        return {p.name: p.version for p in self.predictions}

    def to_json(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "models": [p.to_json() for p in self.predictions],
                "consensus": self.consensus.to_json(),
                "quality": {"ok": not self.quality.get("flags"), "label": self.quality_label, **self.quality}}
