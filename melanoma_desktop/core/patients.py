"""Patients, lesions and visits: who an image belongs to, which lesion it shows, and when it was taken.

A case may belong to a lesion of a patient (an ID the clinic chooses; optional name and date of birth,
kept only in the local database). The identity of an image comes from, in order: a CSV manifest
(``path,patient_id,lesion_id,body_site,taken``), a DICOM file's own header (patient ID, name, birth
date, study date, body part), or a folder laid out ``PATIENT/LESION/*.jpg`` under the folder that was
opened. Cases without any keep working as before.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from PIL import Image

from melanoma_desktop.core.dicom import is_dicom_name, read_dicom_identity

# Where a lesion is, as a dermatologist's chart names it; with a side (SIDES) where the body has two.
BODY_SITES = ("scalp", "face", "ear", "neck", "chest", "abdomen", "shoulder", "upper back", "lower back", "upper arm",
              "forearm", "back of hand", "palm (acral)", "buttock", "thigh", "knee", "lower leg", "back of foot",
              "sole (acral)", "nail (acral)", "genital", "other", "")
SIDES = ("", "left", "right", "midline")
SEXES = ("", "female", "male", "other")
_DICOM_SEX = {"F": "female", "M": "male", "O": "other"}


def body_site_text(side: str, site: str) -> str:
    """The stored body site: e.g. "left shoulder"; a site alone when no side is given."""
    return f"{side} {site}".strip() if site else ""


def split_body_site(text: str) -> tuple[str, str]:
    """("left", "shoulder") from "left shoulder"; a site saved before sides were asked keeps its words."""
    first, _, rest = (text or "").partition(" ")
    return (first, rest) if first in SIDES[1:] and rest else ("", text or "")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class IdentityError(ValueError):
    """A manifest or identity the program cannot use; the message says which line and what to fix."""


@dataclass(frozen=True)
class Identity:
    patient_id: str
    lesion_label: str = "unspecified"
    body_site: str = ""
    taken: str = ""  # YYYY-MM-DD, or "" (then the date the case was added)
    name: str = ""
    birth_date: str = ""
    sex: str = ""  # one of SEXES

    def checked(self, where: str = "") -> "Identity":
        prefix = f"{where}: " if where else ""
        if not self.patient_id.strip():
            raise IdentityError(f"{prefix}a patient ID is needed")
        if self.sex not in SEXES:
            raise IdentityError(f"{prefix}sex {self.sex!r} is not one of {', '.join(repr(x) for x in SEXES[1:])} "
                                "(or empty)")
        if self.taken:
            checked_date(self.taken, "date", prefix)
        if self.birth_date:
            checked_date(self.birth_date, "birth date", prefix)
        return self


def checked_date(text: str, what: str = "date", prefix: str = "", today: date | None = None) -> str:
    """``text`` when it is a real calendar date written YYYY-MM-DD and not after today; else IdentityError
    saying what was received (a visit or a birth cannot be in the future)."""
    text = text.strip()
    if not _DATE.match(text):
        raise IdentityError(f"{prefix}{what} {text!r} is not YYYY-MM-DD (e.g. 2025-06-10)")
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise IdentityError(f"{prefix}{what} {text!r} is not a calendar date") from None
    if value > (today or date.today()):
        raise IdentityError(f"{prefix}{what} {text} is in the future; check the year")
    return text


def read_manifest(path: str | Path) -> dict[Path, Identity]:
    """``path,patient_id,lesion_id,body_site,taken`` (paths relative to the manifest's folder) -> identities."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = {c.strip().lower() for c in reader.fieldnames or []}
            if not {"path", "patient_id"} <= columns:
                raise IdentityError(f"{path}: needs at least the columns path and patient_id (found: "
                                    f"{', '.join(sorted(columns)) or 'none'})")
            out = {}
            for line, raw in enumerate(reader, start=2):
                row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
                image = Path(row["path"])
                image = image if image.is_absolute() else path.parent / image
                out[image.resolve()] = Identity(row["patient_id"], row.get("lesion_id") or "unspecified",
                                                row.get("body_site", ""), row.get("taken", "")).checked(
                                                    f"{path}, line {line}")
            return out
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise IdentityError(f"cannot read {path}: {exc}") from None


def identity_from_layout(root: str | Path, image: str | Path) -> Identity | None:
    """An image at ``root/PATIENT/LESION/file`` belongs to that patient and lesion; anything else to none."""
    try:
        parts = Path(image).resolve().relative_to(Path(root).resolve()).parts
    except ValueError:
        return None
    return Identity(parts[0], parts[1]) if len(parts) == 3 else None


def identity_from_dicom(image: str | Path) -> Identity | None:
    """The identity a DICOM file's header gives (read without its pixels), or None without a patient ID."""
    fields = read_dicom_identity(image)
    if not fields or not fields["patient_id"]:
        return None
    part = fields["body_part"].lower()
    return Identity(fields["patient_id"], part or "unspecified", part, _usable_date(fields["study_date"]),
                    fields["patient_name"], _usable_date(fields["birth_date"]), _DICOM_SEX.get(fields.get("sex", ""), ""))


def _usable_date(text: str) -> str:
    """A header's date when it is a real one, not in the future; else "" (then the date the case was added)."""
    try:
        return checked_date(text) if text else ""
    except IdentityError:
        return ""


def resolve_identities(files: list[Path], roots: list[Path] = (), manifest: dict[Path, Identity] | None = None):
    """Each file's identity: the manifest's, else its DICOM header's, else the folder layout's (under one of
    ``roots``, the folders that were opened), else none."""
    out = {}
    for f in files:
        ident = (manifest or {}).get(Path(f).resolve())
        if ident is None and is_dicom_name(f):
            ident = identity_from_dicom(f)
        if ident is None:
            ident = next((i for r in roots if (i := identity_from_layout(r, f)) is not None), None)
        if ident is not None and not ident.taken:
            ident = Identity(ident.patient_id, ident.lesion_label, ident.body_site, exif_date(f), ident.name,
                             ident.birth_date)
        if ident is not None:
            out[Path(f)] = ident
    return out


RISE_MARKER = 0.10  # a rise of the combined risk by more than this since the previous visit is marked


def lesion_changes(visits: list[dict], rise: float = RISE_MARKER) -> list[str]:
    """For each visit (in date order, as ``history`` gives them), what changed since the previous one:
    "crossed the flag line", "risk rose by N points", or "" (also for the first visit)."""
    marks, previous = [], None
    for visit in visits:
        mark = ""
        if previous is not None and visit.get("risk") is not None and previous.get("risk") is not None:
            if visit["flagged"] and not previous["flagged"]:
                mark = "crossed the flag line"
            elif visit["risk"] - previous["risk"] > rise:
                mark = f"risk rose by {100 * (visit['risk'] - previous['risk']):.0f} points"
        marks.append(mark)
        if visit.get("risk") is not None:
            previous = visit
    return marks


def exif_date(image: str | Path) -> str:
    """The date a camera wrote into the picture (EXIF DateTimeOriginal, else DateTime) as YYYY-MM-DD, or ""."""
    try:
        with Image.open(image) as img:
            exif = img.getexif()
            value = exif.get_ifd(0x8769).get(36867) or exif.get(306) or ""
    except Exception:  # not a picture Pillow reads (e.g. DICOM): no EXIF date
        return ""
    text = str(value).strip()
    return text[:10].replace(":", "-") if re.match(r"^\d{4}:\d{2}:\d{2}", text) else ""
