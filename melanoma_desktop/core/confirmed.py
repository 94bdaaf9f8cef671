"""Confirmed diagnoses: what a lesion turned out to be, kept apart from the clinician's first assessment.

A confirmed diagnosis is benign, melanoma or other malignant (a basal-cell or squamous-cell carcinoma,
for instance), with its source (histopathology, follow-up without change, expert consensus) and date.
They come one at a time from the case view, or from a CSV file laid out like the trainer's
``labels.csv`` (``image,label`` and optionally ``source`` and ``date``), matched to the cases by file
name or by SHA-256.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

CONFIRMED_LABELS = ("benign", "melanoma", "other malignant")
CONFIRMATION_SOURCES = ("histopathology", "follow-up without change", "expert consensus")

_LABEL_WORDS = {
    "benign": "benign", "nevus": "benign", "naevus": "benign", "nv": "benign", "bkl": "benign", "df": "benign",
    "vasc": "benign", "seborrheic keratosis": "benign",
    "melanoma": "melanoma", "malignant": "melanoma", "mel": "melanoma",
    "other malignant": "other malignant", "other": "other malignant", "bcc": "other malignant",
    "scc": "other malignant", "akiec": "other malignant", "basal cell carcinoma": "other malignant",
    "squamous cell carcinoma": "other malignant",
}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ConfirmedLabelsError(ValueError):
    """A confirmed-diagnosis file or value the program cannot read; the message says what and how to fix it."""


def normalise_label(value: str) -> str:
    """'malignant' (the trainer's word), 'mel', 'BCC', ... -> one of CONFIRMED_LABELS."""
    key = str(value).strip().lower()
    if key not in _LABEL_WORDS:
        raise ConfirmedLabelsError(f"unknown diagnosis {value!r}; use benign, melanoma (or malignant) or other "
                                   "malignant")
    return _LABEL_WORDS[key]


def normalise_source(value: str | None) -> str | None:
    if value is None or not str(value).strip():
        return None
    key = str(value).strip().lower()
    for source in CONFIRMATION_SOURCES:
        if key == source or key.replace("_", " ") == source or (key == "histology" and source == "histopathology"):
            return source
    raise ConfirmedLabelsError(f"unknown source {value!r}; use one of {', '.join(CONFIRMATION_SOURCES)}")


@dataclass(frozen=True)
class ConfirmedRow:
    image: str  # a file name or a SHA-256
    label: str
    source: str | None = None
    date: str | None = None

    @property
    def is_sha256(self) -> bool:
        return bool(_SHA256.match(self.image.lower()))


def read_confirmed_csv(path: str | Path) -> list[ConfirmedRow]:
    """Rows of ``image,label[,source][,date]``; raises :class:`ConfirmedLabelsError` naming the line at fault."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip().lower() for c in reader.fieldnames or []]
            if "image" not in columns or "label" not in columns:
                raise ConfirmedLabelsError(f"{path}: needs the columns image and label (found: {', '.join(columns) or 'none'})")
            rows = []
            for line, raw in enumerate(reader, start=2):
                row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
                try:
                    rows.append(ConfirmedRow(Path(row["image"]).name if not _SHA256.match(row["image"].lower())
                                             else row["image"].lower(), normalise_label(row["label"]),
                                             normalise_source(row.get("source")), row.get("date") or None))
                except ConfirmedLabelsError as exc:
                    raise ConfirmedLabelsError(f"{path}, line {line}: {exc}") from None
            return rows
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfirmedLabelsError(f"cannot read {path}: {exc}") from None


@dataclass
class ImportReport:
    matched: int = 0
    unmatched: list[str] = field(default_factory=list)  # rows whose image is no case
    ambiguous: list[str] = field(default_factory=list)  # file names that several cases share

    def summary(self) -> str:
        text = f"{self.matched} confirmed diagnosis(es) recorded"
        if self.unmatched:
            text += f"; {len(self.unmatched)} row(s) match no case (e.g. {', '.join(self.unmatched[:3])})"
        if self.ambiguous:
            text += (f"; {len(self.ambiguous)} file name(s) belong to several cases and were left out (give their "
                     f"SHA-256 instead): {', '.join(self.ambiguous[:3])}")
        return text


def match_rows(rows: list[ConfirmedRow], records) -> tuple[list[tuple[int, ConfirmedRow]], ImportReport]:
    """Pairs (case id, row) for the rows whose image is one case's file name or SHA-256."""
    by_sha = {r.sha256: r.id for r in records}
    by_name: dict[str, list[int]] = {}
    for r in records:
        by_name.setdefault(r.file_name, []).append(r.id)
    report, pairs = ImportReport(), []
    for row in rows:
        if row.is_sha256:
            case_id = by_sha.get(row.image)
        else:
            ids = by_name.get(row.image, [])
            if len(ids) > 1:
                report.ambiguous.append(row.image)
                continue
            case_id = ids[0] if ids else None
        if case_id is None:
            report.unmatched.append(row.image)
            continue
        pairs.append((case_id, row))
    report.matched = len(pairs)
    return pairs, report
