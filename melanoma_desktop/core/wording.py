"""What the models' measured numbers say, in a clinician's words (docs/glossary.md maps the terms).

One place for these sentences, so the metrics panel, the About box and the wizard say the same
thing the same way. The engineering terms (AUC, calibration, ECE, thresholds) stay on the screens'
"Engineering details" parts.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from melanoma_desktop.core.records import archive_name  # the archives by the names clinicians know
from trainer.evaluation.numbers import is_missing


def local_time_text(iso: str) -> str:
    """An ISO timestamp (UTC in the database) in the user's time zone, with the year: '2026-12-01 09:15'."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return iso or ""


SCORE_NOTE = ("A score for ordering and flagging lesions, tuned on image ar"
              "chives with as many melanomas as benign lesions: not this patient's chance of melanoma.")


def short_model_name(display_name: str) -> str:
    """'Custom CNN (paper's convolutions, pooled head)' -> 'Custom CNN'; 'VGG16, block 5 fine-tuned' -> 'VGG16'."""
    return display_name.split(" (")[0].split(",")[0]


def percent_with_range(value, ci) -> str:
    """A proportion in a clinician's words: '79% (73%–84%)', without a range when it is missing; 'n/a'."""
    if is_missing(value):
        return "n/a"
    text = f"{value:.0%}"
    if ci and len(ci) == 2 and not any(is_missing(c) for c in ci):
        text += f" ({ci[0]:.0%}–{ci[1]:.0%})"
    return text


def counts_from_confusion(metrics: dict) -> tuple[int | None, int | None]:
    """(melanomas, benign lesions) among the test images, from the metrics' confusion matrix."""
    matrix = metrics.get("confusion_matrix")
    names = metrics.get("class_names") or ["benign", "malignant"]
    if not matrix or len(matrix) != 2:
        return None, None
    positive = names.index("malignant") if "malignant" in names else 1
    return int(sum(matrix[positive])), int(sum(matrix[1 - positive]))


def test_result_sentence(metrics: dict) -> str:
    """'On its 240 test images (120 melanomas) it caught 89% (83–93%) of the melanomas at its flag line
    and cleared 68% (60–76%) of the benign lesions.'"""
    op = metrics.get("operating_point") or metrics
    n_mel, n_benign = counts_from_confusion(metrics)
    n = metrics.get("n")
    if op.get("sensitivity") is None:
        return "No test result is recorded for this model."
    where = f"On its {n} test images" + (f" ({n_mel} melanomas)" if n_mel is not None else "") if n else "On its test images"
    return (f"{where} it caught {percent_with_range(op.get('sensitivity'), op.get('sensitivity_ci'))} of the melanomas "
            f"at its flag line and cleared {percent_with_range(op.get('specificity'), op.get('specificity_ci'))} of the "
            "benign lesions (95 % ranges in brackets).")


def ranking_sentence(metrics: dict) -> str:
    auc = metrics.get("roc_auc")
    if auc is None:
        return ""
    ci = metrics.get("roc_auc_ci") or [None, None]
    rng = f" ({ci[0]:.2f}–{ci[1]:.2f})" if None not in ci else ""
    return (f"How well it orders lesions from least to most suspicious: {auc:.2f}{rng} on a scale where 1.0 is "
            "perfect and 0.5 is chance (AUC).")


def training_sentence(training: dict) -> str:
    """'Trained on ham10000 (8,168 training images) + isic2017 (train): 2,000 images.'"""
    if not training:
        return "Training data not recorded."

    name = archive_name(Path(str(training.get("data", "?"))).name)
    counts = training.get("counts", {})
    train = counts.get("train") if isinstance(counts.get("train"), dict) else None
    extra = training.get("extra_data") or []
    text = f"Learned from {name}" + (", each source split on its own" if training.get("sources") else "")
    if extra:
        text += " with " + ", ".join(
            archive_name(Path(str(e.get('data', '?'))).name)
            + (f" ({e['source_split']} part)" if e.get("source_split") else "")
            for e in extra)
    if train:
        text += f": {sum(train.values()):,} training images, {train.get('malignant', 0):,} of them melanomas"
    return text + "."


def source_lines(training: dict) -> list[str]:
    """One line per data source of a multi-source card: 'derm7pt (full split): train 672, validation 144,
    test 145 (melanomas 176 / 38 / 38)'; a left-out source says it was only scored. Empty for one source."""
    lines = []
    for source in training.get("sources") or []:
        counts = source.get("counts") or {}
        total = {part: sum(v.values()) for part, v in counts.items() if isinstance(v, dict)}
        mel = {part: v.get("malignant", 0) for part, v in counts.items() if isinstance(v, dict)}
        if source.get("left_out"):
            lines.append(f"{source['data']}: left out (never trained or tuned on), {sum(total.values()):,} images "
                         f"scored, {sum(mel.values()):,} melanomas")
            continue
        lines.append(f"{source['data']} ({source.get('protocol', '?')} split): train {total.get('train', 0):,}, "
                     f"validation {total.get('val', 0):,}, test {total.get('test', 0):,} (melanomas "
                     f"{mel.get('train', 0)} / {mel.get('val', 0)} / {mel.get('test', 0)})")
    return lines


def flag_line_table(metrics: dict) -> list[tuple[str, int, int]] | None:
    """At the model's flag line, on its test images: [("melanomas", flagged, missed), ("benign lesions",
    flagged, cleared)] from the operating point's confusion matrix; None when it was not recorded."""
    op = metrics.get("operating_point") or {}
    matrix = op.get("confusion_matrix")
    names = metrics.get("class_names") or ["benign", "malignant"]
    if not matrix or len(matrix) != 2:
        return None
    pos = names.index("malignant") if "malignant" in names else 1
    neg = 1 - pos
    return [("melanomas", int(matrix[pos][pos]), int(matrix[pos][neg])),
            ("benign lesions", int(matrix[neg][pos]), int(matrix[neg][neg]))]


def patient_words(record) -> str:
    """Whose case it is, for screens and reports: "Ann Lee, ID P4, lesion nape (midline neck)"; "" for a case
    filed under no patient."""
    if not record.patient_id:
        return ""
    label = record.lesion_label or ""
    lesion = (label if "lesion" in label.lower() else f"lesion {label}") + (f" ({record.body_site})"
                                                                            if record.body_site else "")
    return ", ".join(v for v in (record.patient_name, f"ID {record.patient_id}", lesion) if v)


def confirmed_words(record) -> str:
    """The confirmed diagnosis as a clinician reads it, with its source when the record says one; else ""."""
    if not record.confirmed_label:
        return ""
    source = f" ({record.confirmed_source})" if record.confirmed_source else ""
    return f"confirmed {record.confirmed_label}{source}"


def who_words(record) -> str:
    """Who last changed the clinician's fields of a case and when, and who recorded its confirmed diagnosis."""
    parts = []
    if record.reviewed_by:
        when = f", {local_time_text(record.reviewed_at)}" if record.reviewed_at else ""
        parts.append(f"Last changed by {record.reviewed_by}{when}")
    if record.confirmed_label and record.confirmed_by:
        parts.append(f"diagnosis recorded by {record.confirmed_by}")
    return "; ".join(parts) + ("." if parts else "")


_VERSION = re.compile(r"^(site|adapted)-(\d{4})(\d{2})(\d{2})-\d{6}-(\d+)m(\d+)b")


def version_words(version: str | None) -> str:
    """A clinic's flag line or adapted model set named by its date and its confirmed cases, not its id:
    'site-20261204-101530-24m60b' -> 'of 2026-12-04, from 24 melanomas and 60 benign lesions'. An id of
    another form is given as it is."""
    match = _VERSION.match(version or "")
    if not match:
        return str(version or "")
    _kind, year, month, day, mel, ben = match.groups()
    return f"of {year}-{month}-{day}, from {mel} melanomas and {ben} benign lesions"


def disagreement_words(consensus, names: dict[str, str] | None = None) -> str:
    """What the ⚠ marker means for this case, with the models' names as the screens use them."""
    names = names or {}
    above = ", ".join(names.get(n, n) for n in consensus.clearly_above)
    below = ", ".join(names.get(n, n) for n in consensus.clearly_below)
    return (f"The models read this image differently: {above} clearly above its own flag line, {below} clearly "
            "below. The combined risk weighs them and is less certain here; look at each model's detail. (This is "
            "not a sign of melanoma in itself.)")
