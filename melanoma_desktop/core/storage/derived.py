"""The columns the worklist filters, searches and sorts on, derived from what a case keeps (its predictions, the
rule it was read with, its quality verdict, patient and lesion) and from the flag line in use, so that SQL can do
the work on indexed columns instead of Python reading every case.

``worklist_values`` gives one case's values; ``lesion_marks`` the change of each visit of a lesion since its
previous one (core.patients.lesion_changes); the database keeps both current whenever what they derive from
changes (core.database)."""

from __future__ import annotations

import hashlib
import json

from melanoma_desktop.core.patients import lesion_changes
from melanoma_desktop.core.records import TriageRecord, worklist_order
from melanoma_desktop.core.risk_scale import shown_with_entry

SHOWN_LINE_SETTING = "shown_line"  # clinic_settings: the flag line the worklist shows every case on (JSON entry)


def line_key(entry: dict | None) -> str:
    """A short fingerprint of a flag line's record entry ("" for none: each case as it was read)."""
    if not entry:
        return ""
    return hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()[:16]


def search_text(record: TriageRecord) -> str:
    """What the search box matches, lower case: file name, note, assessment, management, patient ID and name,
    and lesion."""
    return " ".join(x for x in (record.file_name, record.note or "", record.clinician_label or "",
                                record.management or "", record.patient_id or "", record.patient_name or "",
                                record.lesion_label or "") if x).lower()


def worklist_values(record: TriageRecord, entry: dict | None) -> dict:
    """The derived columns of one case, shown on the flag line ``entry`` (core.risk_scale)."""
    shown = shown_with_entry(record, entry)
    return {"file_name": record.file_name, "visit_date": record.visit_date, "patient_key": record.patient_id,
            "lesion_key": record.lesion_label if record.patient_id else None, "search_text": search_text(record),
            "shown_line": line_key(entry), "shown_risk": shown.risk, "shown_flagged": int(shown.flagged),
            "shown_disagreement": int(shown.disagreement), "shown_other": int(shown.other_models),
            "sort_group": worklist_order(shown)[0]}


def lesion_marks(visits: list[dict]) -> list[str]:
    """``visits``: one lesion's cases as {"id", "visit_date", "shown_risk", "shown_flagged"}; returns each one's
    change since the previous visit, in the order given."""
    order = sorted(range(len(visits)), key=lambda i: (visits[i]["visit_date"], visits[i]["id"]))
    marks = lesion_changes([{"risk": visits[i]["shown_risk"], "flagged": bool(visits[i]["shown_flagged"])}
                            for i in order])
    by_index = dict(zip(order, marks))
    return [by_index[i] for i in range(len(visits))]
