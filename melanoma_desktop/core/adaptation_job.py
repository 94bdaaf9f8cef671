"""The adaptation job: the clinic's confirmed cases -> what the models saw of each (stored, or computed again
from the image file, checked against its SHA-256) -> adapters and a combination fitted with cross-validated
evidence (core.adaptation) -> a site model set that is *offered*, never installed here.

``adapt_to_clinic`` is a plain job body (``should_stop``, ``on_progress``); the window's worker and the
``melanoma-desktop adapt`` command run it. It changes nothing but the stored embeddings of cases read before
they were kept; adopting the result is the caller's separate, atomic step (core.registry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from melanoma_desktop.core.adaptation import compare, fit_adaptation, not_worse
from melanoma_desktop.core.local_performance import DEFAULT_TARGET, MIN_BENIGN, MIN_MELANOMAS
from melanoma_desktop.core.site_models import SiteModelSet, SiteModelsRefused, make_site_model_set
from melanoma_desktop.core.triage import decode_case, sha256_bytes
from trainer.bundle.adapter import sigmoid
from trainer.bundle.calibration import calibrate_p_positive
from trainer.errors import ImageDecodeError

EXCISION_NOTE = ("Confirmed cases are usually the lesions that were excised or biopsied, which are harder than "
                 "the clinic's everyday mix: these estimates may flatter or understate how the models do on all "
                 "lesions; watch them on the next confirmed cases.")


@dataclass
class AdaptationProgress:
    text: str
    fraction: float | None = None  # None: not known yet


@dataclass
class AdaptationOutcome:
    site_models: SiteModelSet
    evidence: dict
    offered: bool  # the adapted combination is not worse (core.adaptation.not_worse): adoption may be offered
    unreadable: list = field(default_factory=list)  # (file, why) of cases whose image is gone or changed
    computed: int = 0  # cases whose embeddings were computed again from their image

    def to_json(self) -> dict:
        return {"version": self.site_models.version, "offered": self.offered, "evidence": self.evidence,
                "cases": dict(self.site_models.cases), "computed_from_images": self.computed,
                "left_out_unreadable": [{"file": f, "why": w} for f, w in self.unreadable],
                "note": EXCISION_NOTE}


def _usable(records) -> tuple[list, dict]:
    """Confirmed benign or melanoma, assessable cases; and what was left out and why."""
    kept, left_out = [], {"other malignant": 0, "cannot be assessed": 0}
    for r in records:
        if r.confirmed_label == "other malignant":
            left_out["other malignant"] += 1
        elif r.confirmed_label in ("benign", "melanoma"):
            if r.assessable:
                kept.append(r)
            else:
                left_out["cannot be assessed"] += 1
    return kept, left_out


def check_counts(records, min_melanomas: int = MIN_MELANOMAS, min_benign: int = MIN_BENIGN, left_out=None) -> None:
    n_mel = sum(r.confirmed_label == "melanoma" for r in records)
    n_ben = sum(r.confirmed_label == "benign" for r in records)
    if n_mel < min_melanomas or n_ben < min_benign:
        extra = ", ".join(f"{v} {k}" for k, v in (left_out or {}).items() if v)
        raise SiteModelsRefused(
            f"too few confirmed cases to adapt the models: {n_mel} melanomas and {n_ben} benign lesions; adapting "
            f"needs at least {min_melanomas} melanomas and {min_benign} benign lesions" + (f" (left out: {extra})"
                                                                                           if extra else ""))


def group_of(record) -> str:
    """Cases of one lesion (filed under a patient) go together; an unfiled case is its own group."""
    return f"{record.patient_id}/{record.lesion_label}" if record.patient_id else record.sha256


def _embeddings(records, db, classifier, versions, should_stop, on_progress) -> tuple[dict, list, int]:
    """{case id: {name: vector}} for every case, computing missing ones from the image file."""
    found = db.embeddings_of([r.id for r in records], versions) if db is not None else {}
    found.update({r.id: {n: np.asarray(v[1], dtype=np.float32) for n, v in r.embeddings.items()}
                  for r in records if r.id not in found and r.embeddings
                  and {n: v[0] for n, v in r.embeddings.items()} == versions})
    missing = [r for r in records if r.id not in found]
    unreadable, computed = [], 0
    for start in range(0, len(missing), 8):
        if should_stop():
            from melanoma_desktop.core.adaptation import AdaptationCancelled

            raise AdaptationCancelled("adaptation cancelled; the active models are unchanged")
        batch, images = [], []
        for r in missing[start : start + 8]:
            try:
                data = Path(r.path).read_bytes()
                if sha256_bytes(data) != r.sha256:
                    unreadable.append((r.path, "the file has changed since the case was read (SHA-256 differs)"))
                    continue
                images.append(decode_case(Path(r.path), data)[0])
                batch.append(r)
            except OSError:
                unreadable.append((r.path, "the image file is gone"))
            except ImageDecodeError as exc:
                unreadable.append((r.path, exc.reason))
        if batch:
            _, embedded = classifier.predict_with_embeddings(np.stack(images))
            for r, e in zip(batch, embedded):
                kept = {n: v for n, v in e.items() if versions.get(n) == v[0]}
                if db is not None:
                    db.save_embeddings(r.id, kept)
                found[r.id] = {n: np.asarray(v[1], dtype=np.float32) for n, v in kept.items()}
                computed += 1
        on_progress(AdaptationProgress(f"reading the images of cases read before this version "
                                       f"({min(start + 8, len(missing))} of {len(missing)})", None))
    return found, unreadable, computed


def adapt_to_clinic(records, classifier, db=None, target: float = DEFAULT_TARGET, seed: int = 0,
                    should_stop: Callable[[], bool] = lambda: False,
                    on_progress: Callable[[AdaptationProgress], None] = lambda p: None,
                    min_melanomas: int = MIN_MELANOMAS, min_benign: int = MIN_BENIGN) -> AdaptationOutcome:
    """Adapt the classifier's models to ``records``' confirmed cases (see the module docstring). ``db``: where
    embeddings are read and kept (None: only the records' own). Raises SiteModelsRefused (too few cases, no
    combined rule) or core.adaptation.AdaptationCancelled."""
    active_rule = classifier.ensemble
    if active_rule is None:
        raise SiteModelsRefused("the installed models have no combined rule to compare against; "
                                + (classifier.ensemble_note or "install models with an ensemble.json"))
    confirmed, left_out = _usable(records)
    check_counts(confirmed, min_melanomas, min_benign, left_out)
    heads = classifier.heads()
    versions = {name: version for name, (version, _) in heads.items()}
    on_progress(AdaptationProgress(f"{len(confirmed)} confirmed cases", 0.0))
    found, unreadable, computed = _embeddings(confirmed, db, classifier, versions, should_stop, on_progress)
    cases = [r for r in confirmed if r.id in found]
    left_out["image gone or changed"] = len(unreadable)
    check_counts(cases, min_melanomas, min_benign, left_out)
    y = np.array([r.confirmed_label == "melanoma" for r in cases])
    groups = np.array([group_of(r) for r in cases])
    embeddings = {n: np.stack([found[r.id][n] for r in cases]) for n in heads}
    base_logits = {n: heads[n][1].logit(embeddings[n]) for n in heads}
    fit = fit_adaptation(embeddings, base_logits, y, groups, target, seed, should_stop,
                         lambda text, fraction: on_progress(AdaptationProgress(text, fraction)))
    active_sets = classifier.site_models
    active_p = {n: (sigmoid(active_sets.adapters[n].logit(base_logits[n], embeddings[n])) if active_sets is not None
                    else heads[n][1].p_positive(embeddings[n])) for n in heads}
    active_risk = calibrate_p_positive(np.asarray(active_rule.combine(active_p), dtype=float), active_rule.calibration)
    evidence = compare(y, groups,
                       {"risk": active_risk, "flagged": active_risk >= active_rule.threshold,
                        "flag_line": float(active_rule.threshold), "models": active_p},
                       {"risk": fit.oof_risk, "flagged": fit.oof_flagged, "flag_line": fit.combination.threshold,
                        "models": fit.oof_p}, seed=seed)
    evidence["active_rule"] = (active_rule.site_version or "shipped")
    evidence["how"] = (f"{fit.folds}-fold cross-validation grouped by lesion: every case read by models adapted "
                       "without it; intervals from a bootstrap over lesions")
    evidence["penalties"] = fit.penalties
    counts = {"melanomas": int(y.sum()), "benign": int((~y).sum()), "lesions": int(len(set(groups))),
              "left_out": left_out}
    site_models = make_site_model_set(fit, versions, counts, evidence, target)
    return AdaptationOutcome(site_models, evidence, not_worse(evidence), unreadable, computed)
