"""What the worklist shows, as a value: a filter, search text, a sort and grouping by patient, and the SQL they
become on the case database's derived, indexed columns (core.database_worklist asks it). No database here: the
window keeps one of these and hands it to its controller."""

from __future__ import annotations

from dataclasses import dataclass

from melanoma_desktop.core.records import WORKLIST_FILTERS

_FILTER_SQL = {"all": "", "flagged": "c.shown_flagged = 1", "disagreement": "c.shown_disagreement = 1",
               "cannot_assess": "c.assessable = 0", "changed": "c.changed = 1", "unreviewed": "c.reviewed = 0"}
_WORKLIST_ORDER = ["c.sort_group", "c.shown_risk DESC", "c.shown_flagged DESC"]
_SORTS = {  # what a click on a column heading sorts by, ascending; every order ends on the newest case first
    "risk": _WORKLIST_ORDER,
    "image": ["lower(c.file_name)"],
    "flag": ["c.shown_flagged DESC", "c.sort_group", "c.shown_risk DESC"],
    "disagreement": ["c.shown_disagreement DESC", *_WORKLIST_ORDER],
    "review": ["c.reviewed", "COALESCE(c.clinician_label, '')"],  # no assessment first, on both engines
    "patient": ["CASE WHEN c.patient_key IS NULL THEN 1 ELSE 0 END", "c.patient_key", "c.lesion_key", "c.visit_date"],
    "added": ["c.created_at"],
}


@dataclass(frozen=True)
class WorklistQuery:
    """What the worklist shows: a filter (records.WORKLIST_FILTERS), search text, a sort (``sort``: a key of
    the column headings' orders, ``descending`` reverses it), cases grouped by patient."""

    filter_name: str = "all"
    search: str = ""
    sort: str = "risk"
    descending: bool = False
    group_by_patient: bool = False

    def __post_init__(self):
        if self.filter_name not in WORKLIST_FILTERS:
            raise ValueError(f"unknown filter {self.filter_name!r}; use one of {tuple(WORKLIST_FILTERS)}")
        if self.sort not in _SORTS:
            raise ValueError(f"unknown sort {self.sort!r}; use one of {tuple(_SORTS)}")

    def where(self) -> tuple[str, dict]:
        clauses, params = [], {}
        if _FILTER_SQL[self.filter_name]:
            clauses.append(_FILTER_SQL[self.filter_name])
        term = self.search.strip().lower()
        if term:
            escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("c.id IN (SELECT s.case_id FROM case_search s WHERE s.words LIKE :term ESCAPE '\\')")
            params["term"] = f"%{escaped}%"
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def order(self) -> str:
        terms = [_flip(t) if self.descending else t for t in _SORTS[self.sort]]
        terms.append("c.id" if self.descending else "c.id DESC")
        if self.group_by_patient:
            terms = _SORTS["patient"] + terms
        return "ORDER BY " + ", ".join(terms)


def _flip(term: str) -> str:
    return term[:-5] if term.endswith(" DESC") else f"{term} DESC"
