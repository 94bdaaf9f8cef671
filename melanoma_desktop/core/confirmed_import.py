"""Importing confirmed diagnoses from a CSV, previewed before anything is written and undone as one step.

``plan_import`` reads the file against the saved cases and says, before anything changes: which rows
give a case its first confirmed diagnosis, which repeat what the case already has, which disagree with
it (conflicting: kept unless the clinician chooses to replace them), which match no case or several, and
which sources the file itself gives (a row without one is recorded without one: never "histopathology"
unless the file says so). ``CaseDatabase.apply_import`` writes a plan and keeps each case's previous
values, so that ``undo_import`` restores them all at once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from melanoma_desktop.core.confirmed import ConfirmedRow, ImportReport, match_rows, read_confirmed_csv


@dataclass(frozen=True)
class PlannedChange:
    case_id: int
    file_name: str
    row: ConfirmedRow
    current_label: str | None
    current_source: str | None
    patient: str = ""  # whose case it is ("P-0042 · Ann Lee"), so that a conflict is checked on the right patient
    visit: str = ""

    @property
    def conflicting(self) -> bool:
        return self.current_label is not None and self.current_label != self.row.label

    @property
    def unchanged(self) -> bool:
        return self.current_label == self.row.label and (self.row.source is None or
                                                         self.current_source == self.row.source)


@dataclass
class ImportPlan:
    source_file: str
    new: list[PlannedChange] = field(default_factory=list)  # the case's first confirmed diagnosis
    unchanged: list[PlannedChange] = field(default_factory=list)  # the case already says this
    conflicting: list[PlannedChange] = field(default_factory=list)  # the case says otherwise
    unmatched: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)

    @property
    def sources(self) -> Counter:
        """How many rows of each source the file gives ("not given" for rows without one)."""
        return Counter(c.row.source or "not given" for c in self.new + self.unchanged + self.conflicting)

    def changes(self, replace_conflicting: bool = False) -> list[PlannedChange]:
        """What applying the plan writes: the new ones, and the conflicting ones when asked to replace them."""
        return self.new + (self.conflicting if replace_conflicting else [])

    def report(self):
        """The same counts as an ImportReport (what ``CaseDatabase.import_confirmed`` returns)."""
        return ImportReport(len(self.new) + len(self.unchanged) + len(self.conflicting), list(self.unmatched),
                            list(self.ambiguous))

    def summary(self) -> str:
        sources = ", ".join(f"{n} {s}" for s, n in sorted(self.sources.items())) or "none"
        parts = [f"{len(self.new)} new", f"{len(self.unchanged)} already recorded",
                 f"{len(self.conflicting)} conflicting with what a case has"]
        if self.unmatched:
            parts.append(f"{len(self.unmatched)} matching no case (e.g. {', '.join(self.unmatched[:3])})")
        if self.ambiguous:
            parts.append(f"{len(self.ambiguous)} file name(s) shared by several cases, left out (give their SHA-256)")
        return "; ".join(parts) + f". Sources the file gives: {sources}."


def plan_import(csv_path: str | Path, records) -> ImportPlan:
    """The plan for importing ``csv_path`` into ``records`` (the saved cases, or a function that gives the cases
    the file's rows could match: ``CaseDatabase.identities``); raises ConfirmedLabelsError for a file that cannot
    be read."""
    rows = read_confirmed_csv(csv_path)
    if callable(records):
        records = records([row.image for row in rows])
    pairs, report = match_rows(rows, records)
    by_id = {r.id: r for r in records}
    plan = ImportPlan(str(csv_path), unmatched=list(report.unmatched), ambiguous=list(report.ambiguous))
    for case_id, row in pairs:
        record = by_id[case_id]
        patient = " · ".join(x for x in (record.patient_id or "", record.patient_name) if x)
        change = PlannedChange(case_id, record.file_name, row, record.confirmed_label, record.confirmed_source,
                               patient, record.visit_date if record.patient_id else "")
        (plan.unchanged if change.unchanged else plan.conflicting if change.conflicting else plan.new).append(change)
    return plan
