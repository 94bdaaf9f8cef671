"""What a triage produces: one prediction per model, their consensus, and the case record."""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from melanoma_desktop.core.quality import QualityReport
from trainer.models.registry import names

MODEL_ORDER = names()  # how the models are listed everywhere: the trainer's order (cnn, vgg16, mobilenetv2)


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

    def trained_on_words(self) -> str:
        """The training data in a clinician's words: the archives by their names and how many images, e.g.
        'HAM10000 and ISIC 2017 (8,168 images)', the images it learnt from (no folders, protocols or split
        sizes)."""
        t = self.training
        names = [Path(str(t["data"])).name] if t.get("data") else []
        names += [Path(str(e.get("data", "?"))).name for e in t.get("extra_data") or []]
        names = list(dict.fromkeys(archive_name(n) for n in names))
        counts = t.get("counts", {})
        learnt = counts.get("train") if isinstance(counts.get("train"), dict) else None  # extra sources included
        total = sum(learnt.values()) if learnt else 0
        listed = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 2 else names) or "unnamed images"
        return f"{listed} ({total:,} images)" if total else listed


_ARCHIVES = {"ham10000": "HAM10000", "isic2017": "ISIC 2017", "isic2020": "ISIC 2020", "derm7pt": "Derm7pt",
             "isic2018": "ISIC 2018", "isic2019": "ISIC 2019", "ph2": "PH2"}


def archive_name(folder: str) -> str:
    """A public archive by the name clinicians know it ('isic2017' -> 'ISIC 2017'); another folder as it is."""
    return _ARCHIVES.get(folder.lower().replace("-", "").replace("_", ""), folder)


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


COMBINED_RULES = ("ensemble", "clinic flag line", "clinic-adapted models")  # the rules that give one combined risk


@dataclass(frozen=True)
class Consensus:
    """The models' answers read together: one combined risk and one flag line.

    The combined risk is the ensemble's calibrated probability when the installed models are exactly the
    members of the shipped (or promoted) ensemble rule; with a single model, that model's own; otherwise
    there is none, and the case is flagged when most models are above their own line. ``disagreement``
    (one model clearly above its own line, another clearly below) is a marker of its own, never the flag.
    """

    mean_p_malignant: float  # kept for the database's older rows and the ensemble's input; never shown
    n_malignant: int  # models above their own flag line
    n_models: int
    ensemble_threshold: float | None = None
    ensemble_p_malignant: float | None = None
    single_model: tuple[float, float] | None = None  # (p, flag line) when exactly one model answered
    site_rule_version: str | None = None  # the clinic's flag line the combined risk was read with, if any
    # The members' weights in the combined risk, (name, weight) pairs, when a rule applies (trainer.bundle.combine; a
    # rule without weights: equal). A member with weight 0 does not count.
    weights: tuple[tuple[str, float], ...] | None = None
    adapted: bool = False  # the rule is a clinic's adapted model set's (core.site_models), not a flag line alone
    # The models clearly on either side of their own flag line (DISAGREEMENT_MARGIN): the disagreement marker.
    clearly_above: tuple[str, ...] = ()
    clearly_below: tuple[str, ...] = ()

    @property
    def rule(self) -> str:
        """Which rule produced the risk: "clinic flag line" (a site rule), "clinic-adapted models" (a site model
        set's rule), "ensemble" (the shipped or promoted rule), "single model" or "majority" (no combined risk)."""
        if self.ensemble_p_malignant is not None and self.ensemble_threshold is not None:
            if self.site_rule_version:
                return "clinic-adapted models" if self.adapted else "clinic flag line"
            return "ensemble"
        return "single model" if self.single_model is not None else "majority"

    @property
    def combined(self) -> bool:
        return self.rule in COMBINED_RULES

    @property
    def risk(self) -> float | None:
        if self.combined:
            return self.ensemble_p_malignant
        return self.single_model[0] if self.single_model is not None else None

    @property
    def flag_line(self) -> float | None:
        if self.combined:
            return self.ensemble_threshold
        return self.single_model[1] if self.single_model is not None else None

    @property
    def ensemble_label(self) -> str | None:
        if self.ensemble_threshold is None or self.ensemble_p_malignant is None or self.n_models == 0:
            return None
        return "malignant" if self.ensemble_p_malignant >= self.ensemble_threshold else "benign"

    @property
    def disagreement(self) -> bool:
        """The models read the image differently: one clearly above its own flag line and another clearly below
        (by DISAGREEMENT_MARGIN). Its own marker, never the flag; not a sign of melanoma (docs/validation.md)."""
        return bool(self.clearly_above) and bool(self.clearly_below)

    @property
    def flagged(self) -> bool:
        """At or above the combined flag line (without a combined rule: most models above their own)."""
        if self.n_models == 0:
            return False
        if self.risk is not None and self.flag_line is not None:
            return self.risk >= self.flag_line
        return 2 * self.n_malignant > self.n_models

    @property
    def label(self) -> str:
        if self.n_models == 0:
            return "no models"
        return "flagged" if self.flagged else "not flagged"

    def to_json(self) -> dict:
        out = {"rule": self.rule, "rule_version": self.site_rule_version, "risk": _rounded(self.risk),
               "flag_line": self.flag_line, "flagged": self.flagged,
               "n_models_above_own_line": self.n_malignant, "n_models": self.n_models,
               "disagreement": self.disagreement}
        if self.weights is not None:
            out["member_weights"] = {name: round(w, 4) for name, w in self.weights}
        return out

    def weights_text(self) -> str:
        """Which models count in the combined risk and with what weight, in a line ("" without a rule, or when
        every model counts the same: the screens then say the models are read together)."""
        if self.weights is None or len({round(w, 4) for _, w in self.weights}) == 1:
            return ""
        counted = [f"{name} {w:.0%}" for name, w in self.weights if w > 0]
        ignored = [name for name, w in self.weights if w <= 0]
        return ("combined from " + ", ".join(counted)
                + (f"; {', '.join(ignored)} shown but not counted" if ignored else ""))

    @classmethod
    def of(cls, predictions: list[ModelPrediction], ensemble: dict | None = None) -> "Consensus":
        n = len(predictions)
        mean = sum(p.p_malignant for p in predictions) / n if n else 0.0
        members = (ensemble or {}).get("members")
        applies = bool(members) and members == {p.name: p.version for p in predictions}
        p_ensemble = weights = None
        if applies:
            from trainer.bundle.calibration import calibrate_p_positive  # NumPy only
            from trainer.bundle.combine import combine, member_weights

            by_name = {p.name: p.p_malignant for p in predictions}
            mean = float(combine(by_name, ensemble.get("weights")))
            total = sum(member_weights(ensemble.get("weights"), by_name).values())
            weights = tuple((name, w / total) for name, w in member_weights(ensemble.get("weights"), by_name).items())
            p_ensemble = float(calibrate_p_positive(mean, ensemble.get("calibration"))[0])
        single = (predictions[0].p_malignant, predictions[0].threshold) if n == 1 and not applies else None
        site_entry = ((ensemble or {}).get("site_rule") or {}) if applies else {}
        margins = {p.name: _logit(p.p_malignant) - _logit(p.threshold) for p in predictions}
        return cls(mean, sum(p.label == "malignant" for p in predictions), n,
                   float(ensemble["threshold"]) if applies else None, p_ensemble, single, site_entry.get("version"),
                   weights, site_entry.get("kind") == "site model set",
                   tuple(k for k, m in margins.items() if m >= DISAGREEMENT_MARGIN),
                   tuple(k for k, m in margins.items() if m <= -DISAGREEMENT_MARGIN))


# How far (in log-odds) a model must be from its own flag line to count as clearly on one side: e = 2.7 times the
# odds at its line. On three sources the shipped models never saw, the marker then sits on 10-26 % of cases instead
# of 34-65 % (docs/validation.md, "What the disagreement marker means").
DISAGREEMENT_MARGIN = 1.0


def _logit(p: float) -> float:
    p = min(max(float(p), 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _rounded(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


# The clinician's own reading of a case, and what is done about it (separate from a confirmed diagnosis).
CLINICIAN_LABELS = ("benign", "suspicious", "melanoma", "unsure")
MANAGEMENT_DECISIONS = ("discharge", "monitor", "excise", "biopsy")

# Each quality-gate flag in a clinician's words (core.quality writes the flags).
_REASON_WORDS = (
    ("too small", "the image is too small to assess"),
    ("too dark", "the image is too dark"),
    ("too bright", "the image is over-exposed"),
    ("blurred", "the image is out of focus"),
    ("does not look like skin", "it does not look like skin"),
    ("unlike the training images", "it does not look like the dermoscopic images the models learned from"),
)


# Quality flags that no clinician's judgement can turn into a lesion: no 'assess anyway' for these.
NOT_A_LESION_FLAGS = ("does not look like skin", "too small")


def plain_reason(flag: str) -> str:
    for key, words in _REASON_WORDS:
        if flag.startswith(key):
            detail = flag[len(key):].strip()
            if detail.startswith("/"):  # "too bright / overexposed", as cases saved before this change have it: said once
                detail = ""
            return f"{words} {detail}" if detail else words
    return flag


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
    quality: QualityReport = field(default_factory=QualityReport)  # what the quality checks found
    # the ensemble rule the case was read with, when installed: {"members": {name: version}, "threshold": t,
    # "calibration": {...}} (records saved before the ensemble was calibrated have no calibration)
    ensemble: dict = field(default_factory=dict)
    assess_anyway: bool = False  # the clinician chose to see a risk for an image the quality checks set aside
    management: str | None = None  # MANAGEMENT_DECISIONS
    confirmed_label: str | None = None  # core.confirmed.CONFIRMED_LABELS: what the lesion turned out to be
    confirmed_source: str | None = None  # histopathology, follow-up without change, expert consensus
    confirmed_at: str | None = None
    patient_id: str | None = None  # core.patients: the patient and lesion the case belongs to, if any
    lesion_label: str | None = None
    body_site: str | None = None
    taken_at: str | None = None  # the visit's date (YYYY-MM-DD) when known
    patient_name: str = ""  # only when a DICOM header gave one; kept in the local database alone
    first_read_with: dict | None = None  # set when shown with another flag line (shown_with): the line it was read with
    other_models: bool = False  # shown_with: read by other model versions than the flag line in use was made for
    reviewed_by: str = ""  # who last changed the clinician's fields (assessment, management, note, reviewed)
    reviewed_at: str | None = None
    confirmed_by: str = ""  # who recorded the confirmed diagnosis
    change: str = ""  # what changed since the lesion's previous visit (core.patients.lesion_changes), if anything
    row_version: int = 0  # the database row's version: a save from a stale copy is refused (core.database)
    # what each model's head read, {name: (embedding version, vector)}: set when the case is read, saved with it
    # (core.database, float16) and read back only for adapting the models (core.adaptation_job), never listed
    embeddings: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def visit_date(self) -> str:
        return self.taken_at or (self.created_at or "")[:10]

    @property
    def quality_label(self) -> str:
        return self.quality.label

    @property
    def quality_passed(self) -> bool:
        return self.quality.ok

    @property
    def can_assess_anyway(self) -> bool:
        """Whether a clinician may ask for a risk although the checks set the image aside: for borderline quality
        (blur, exposure), not for an image that is not skin or too small to hold a lesion (core.quality)."""
        flags = self.quality.flags
        return bool(flags) and not any(f.startswith(NOT_A_LESION_FLAGS) for f in flags)

    @property
    def assessable(self) -> bool:
        """Whether the case gets a risk: the image passed the quality checks, or the clinician said assess anyway."""
        return self.quality_passed or self.assess_anyway

    @property
    def reason(self) -> str:
        """Why the image cannot be assessed, in plain words ('' when it passed the checks)."""
        return "; ".join(plain_reason(f) for f in self.quality.flags)

    @property
    def risk(self) -> float | None:
        """The combined risk shown for the case: none for an image that cannot be assessed."""
        return self.consensus.risk if self.assessable else None

    @property
    def flagged(self) -> bool:
        return self.assessable and self.consensus.flagged

    @property
    def disagreement(self) -> bool:
        return self.assessable and self.consensus.disagreement

    @property
    def file_name(self) -> str:
        return os.path.basename(self.path)

    @property
    def consensus(self) -> Consensus:
        """Computed once per content of ``predictions`` and ``ensemble`` (the worklist asks on every paint and
        sort comparison, and the ensemble's calibration makes it dear)."""
        key = (tuple(self.predictions), self.ensemble)
        memo = self.__dict__.get("_consensus_memo")
        if memo is not None and memo[0] == key:
            return memo[1]

        value = Consensus.of(self.predictions, self.ensemble)
        self.__dict__["_consensus_memo"] = ((key[0], copy.deepcopy(self.ensemble)), value)
        return value

    def model_versions(self) -> dict[str, str]:
        return {p.name: p.version for p in self.predictions}

    def to_json(self) -> dict:
        consensus = self.consensus
        out = {"path": self.path, "sha256": self.sha256, "assessable": self.assessable, "risk": _rounded(self.risk),
               "flagged": self.flagged, "flag_line": consensus.flag_line if self.assessable else None,
               "rule": consensus.rule, "rule_version": consensus.site_rule_version}
        if not self.quality_passed:
            out["reason"] = self.reason
            out["assessed_anyway"] = self.assess_anyway
        return {**out, "models": [p.to_json() for p in self.predictions], "consensus": consensus.to_json(),
                "quality": {"ok": self.quality_passed, "label": self.quality_label, **self.quality.to_json()}}


# The worklist's filters, defined once: name -> (words shown, which records it keeps).
WORKLIST_FILTERS = {
    "all": ("All cases", lambda r: True),
    "flagged": ("Flagged", lambda r: r.flagged),
    "disagreement": ("Models read it differently (⚠)", lambda r: r.disagreement),
    "cannot_assess": ("Cannot assess", lambda r: not r.assessable),
    "changed": ("Changed since last visit", lambda r: bool(r.change)),
    "unreviewed": ("Not reviewed", lambda r: not r.reviewed),
}


def worklist_order(record: "TriageRecord") -> tuple:
    """Sort key: cases with a risk, highest first; then assessable cases without a combined risk (flagged
    first); then the images that cannot be assessed; newest first among equals."""
    risk = record.risk
    group = 0 if risk is not None else (1 if record.assessable else 2)
    return (group, -(risk if risk is not None else 0.0), 0 if record.flagged else 1, -(record.id or 0))

