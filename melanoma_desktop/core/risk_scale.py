"""One risk scale in the worklist: a saved case shown with the flag line in use (records keep the line they
were read with; the models' answers are stored, so showing a case on another line needs no image)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from melanoma_desktop.core.wording import version_words

if TYPE_CHECKING:  # records imports nothing from here; the name is for the annotations only
    from melanoma_desktop.core.records import TriageRecord


def shown_with(record: "TriageRecord", rule, entry: dict | None = None) -> "TriageRecord":
    """The case as the worklist shows it, on one risk scale: read with the flag line in use (``rule``, an
    EnsembleRule) when that line was made for the model versions that read it (their answers are stored, so no
    image is needed); ``first_read_with`` keeps the line it was read with. A case read by other model versions
    stays as it was read, marked ``other_models``. The saved record is not changed (Case > Re-read does that).
    ``entry``: ``rule.record_entry()`` when the caller shows many cases (made once, not once per case)."""
    if rule is None or not record.predictions:
        return record
    return shown_with_entry(record, entry if entry is not None else rule.record_entry())


def shown_with_entry(record: "TriageRecord", entry: dict | None) -> "TriageRecord":
    """``shown_with`` for a flag line given by its record entry (as the database keeps the line in use): the line
    applies to a case read by exactly its members' versions."""
    if not entry or not record.predictions or record.ensemble == entry:
        return record
    if dict(entry.get("members") or {}) == record.model_versions():
        return dataclasses.replace(record, ensemble=entry, first_read_with=record.ensemble)
    return dataclasses.replace(record, other_models=True)


def line_words(entry: dict | None) -> str:
    """A flag line a case was read with, as the case view names it."""
    site = (entry or {}).get("site_rule") or {}
    if not site:
        return "the shipped flag line"
    which = "the models adapted to this clinic" if site.get("kind") else "the clinic's flag line"
    return f"{which} {version_words(site.get('version'))}"
