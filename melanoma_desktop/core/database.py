"""The local case database (SQLite, WAL): one row per image, recognised by its SHA-256.

The schema is versioned (core/schema.py); ``MIGRATIONS[i]`` takes a database from version ``i`` to
``i + 1`` in one transaction. Each thread opens its own ``CaseDatabase`` on the same file.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from melanoma_desktop.core.clinicians import current_clinician
from melanoma_desktop.core.database_clinic import ClinicRecords, PatientRecords
from melanoma_desktop.core.private_files import create_private_file
from melanoma_desktop.core.schema import MIGRATIONS, SCHEMA_VERSION  # noqa: F401 (SCHEMA_VERSION: re-exported)
from melanoma_desktop.core.records import (CLINICIAN_LABELS, MANAGEMENT_DECISIONS, MODEL_ORDER, WORKLIST_FILTERS,
                                           ModelPrediction,
                                           TriageRecord, worklist_order)
from melanoma_desktop.core.risk_scale import shown_with


class DatabaseError(Exception):
    """The case database cannot be opened or is of a newer version than this program."""


FILTERS = tuple(WORKLIST_FILTERS)


def _mark_changes(records: list[TriageRecord]) -> None:
    """Each visit's change since its lesion's previous visit (crossed the flag line, or risk rose)."""
    from melanoma_desktop.core.patients import lesion_changes

    lesions: dict[tuple, list[TriageRecord]] = {}
    for r in records:
        if r.patient_id:
            lesions.setdefault((r.patient_id, r.lesion_label), []).append(r)
    for visits in lesions.values():
        visits.sort(key=lambda r: (r.visit_date, r.id or 0))
        marks = lesion_changes([{"risk": r.risk, "flagged": r.flagged} for r in visits])
        for r, mark in zip(visits, marks):
            r.change = mark


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class CaseDatabase(ClinicRecords, PatientRecords):
    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            create_private_file(self.path)  # 0600 before SQLite opens it: its -wal and -shm files take its mode
            self._conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA secure_delete=ON")  # a deleted case's bytes are overwritten, not left behind
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"cannot open the case database {self.path}: {exc}; move the file away to start "
                                "a new one") from None

    def close(self) -> None:
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- schema -----------------------------------------------------------------------------
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise DatabaseError(f"{self.path} has schema version {version}, newer than this program "
                                f"({SCHEMA_VERSION}); update the program")
        if version == SCHEMA_VERSION:
            return
        self._run_migrations(version)
        if version < 5:
            self._refresh_derived()

    def _refresh_derived(self) -> None:
        """Recompute each case's risk, flag and assessability from its stored predictions, rule and quality."""
        rows = self._conn.execute(f"SELECT {self._COLUMNS} FROM cases").fetchall()
        with self._conn:
            for row in rows:
                record = self._record(row)
                self._conn.execute("UPDATE cases SET risk = ?, flagged = ?, assessable = ? WHERE id = ?",
                                   (*self._derived(record), record.id))

    @staticmethod
    def _derived(record: TriageRecord) -> tuple:
        return record.risk, int(record.flagged), int(record.assessable)

    def _run_migrations(self, version: int) -> None:
        for target in range(version, SCHEMA_VERSION):
            try:  # one transaction per step: the schema and its version number change together
                self._conn.executescript(
                    f"BEGIN IMMEDIATE; {MIGRATIONS[target]}; PRAGMA user_version = {target + 1}; COMMIT;")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def integrity_ok(self) -> bool:
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # -- writing ----------------------------------------------------------------------------
    def save(self, record: TriageRecord) -> TriageRecord:
        """Insert or update the case with ``record.sha256``; note, label and review flag are kept."""
        consensus = record.consensus
        stamp = now_iso()
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            row = self._conn.execute("SELECT id, created_at FROM cases WHERE sha256 = ?", (record.sha256,)).fetchone()
            if row is None:
                risk, flagged, assessable = self._derived(record)
                cur = self._conn.execute(
                    "INSERT INTO cases (sha256, path, thumbnail, created_at, updated_at, mean_p_malignant, "
                    "n_malignant, n_models, quality, ensemble, flagged, risk, assessable) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.sha256, record.path, record.thumbnail_png, record.created_at or stamp, stamp,
                     consensus.mean_p_malignant, consensus.n_malignant, consensus.n_models, json.dumps(record.quality),
                     json.dumps(record.ensemble), flagged, risk, assessable))
                case_id = cur.lastrowid
            else:
                case_id = row[0]
                kept = self._conn.execute("SELECT assess_anyway FROM cases WHERE id = ?", (case_id,)).fetchone()
                record.assess_anyway = bool(kept[0])  # the clinician's choice outlives a re-read
                risk, flagged, assessable = self._derived(record)
                self._conn.execute(
                    "UPDATE cases SET path = ?, thumbnail = ?, updated_at = ?, mean_p_malignant = ?, "
                    "n_malignant = ?, n_models = ?, quality = ?, ensemble = ?, flagged = ?, risk = ?, "
                    "assessable = ? WHERE id = ?",
                    (record.path, record.thumbnail_png, stamp, consensus.mean_p_malignant, consensus.n_malignant,
                     consensus.n_models, json.dumps(record.quality), json.dumps(record.ensemble),
                     flagged, risk, assessable, case_id))
                self._conn.execute("DELETE FROM predictions WHERE case_id = ?", (case_id,))
            self._conn.executemany(
                "INSERT INTO predictions (case_id, model, version, p_malignant, threshold) VALUES (?, ?, ?, ?, ?)",
                [(case_id, p.name, p.version, p.p_malignant, p.threshold) for p in record.predictions])
            self._write_embeddings(case_id, record.embeddings)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return self.get(case_id)

    def update_review(self, case_id: int, *, note: str | None = None, clinician_label: str | None | bool = False,
                      reviewed: bool | None = None, management: str | None | bool = False,
                      assess_anyway: bool | None = None) -> TriageRecord:
        """Change the clinician's note, assessment (None clears it), management decision (None clears it),
        reviewed flag, or choice to assess an image the quality checks set aside, of one case."""
        sets, values = [], []
        for column, value, allowed in (("management", management, MANAGEMENT_DECISIONS),
                                       ("clinician_label", clinician_label, CLINICIAN_LABELS)):
            if value is False:  # not given: unchanged
                continue
            if value is not None and value not in allowed:
                raise ValueError(f"{column.replace('_', ' ')} must be one of {allowed} or None, got {value!r}")
            sets.append(f"{column} = ?")
            values.append(value)
        if assess_anyway:
            current = self.get(case_id)
            if current is not None and not current.quality_passed and not current.can_assess_anyway:
                raise ValueError(f"case #{case_id} cannot be assessed anyway: {current.reason} (retake the image)")
        if assess_anyway is not None:
            sets.append("assess_anyway = ?")
            values.append(int(assess_anyway))
        if note is not None:
            sets.append("note = ?")
            values.append(note)
        if reviewed is not None:
            sets.append("reviewed = ?")
            values.append(int(reviewed))
        if sets:
            changed = [s.split(" = ")[0].replace("clinician_label", "assessment").replace("_", " ") for s in sets]
            stamp = now_iso()
            sets += ["updated_at = ?", "reviewed_by = ?", "reviewed_at = ?"]
            values += [stamp, current_clinician(), stamp]
            self._conn.execute(f"UPDATE cases SET {', '.join(sets)} WHERE id = ?", (*values, case_id))
            if assess_anyway is None:  # that one has its own entry below
                self.audit("case reviewed", f"case #{case_id}: {', '.join(changed)}")  # which fields, not the words
        record = self.get(case_id)
        if assess_anyway is not None and record is not None:
            self._conn.execute("UPDATE cases SET risk = ?, flagged = ?, assessable = ? WHERE id = ?",
                               (*self._derived(record), case_id))
            self.audit("assess anyway" if assess_anyway else "assess anyway withdrawn", f"case #{case_id}")
        return record

    def delete(self, case_id: int, pasted_dir: str | Path | None = None, audited: bool = True) -> bool:
        """Remove a case and every trace of it: its row, predictions, thumbnail, heatmaps, and the pasted copy
        of its image when it lies in ``pasted_dir``. An audit entry says a case was deleted (its number and
        when), nothing about the image. Returns False when there was no such case."""
        row = self._conn.execute("SELECT path FROM cases WHERE id = ?", (case_id,)).fetchone()
        if row is None:
            return False
        with self._conn:
            self._conn.execute("DELETE FROM cases WHERE id = ?", (case_id,))  # predictions, heatmaps cascade
        if audited:
            self.audit("case deleted", f"case #{case_id}")
        if pasted_dir is not None:
            path, folder = Path(row[0]), Path(pasted_dir).resolve()
            if path.resolve().parent == folder and path.is_file():
                path.unlink()
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the deleted pages leave the write-ahead log too
        return True

    def audit(self, action: str, detail: str = "") -> None:
        """One entry: when, what, and who (the clinician using the app: core.clinicians)."""
        with self._conn:
            self._conn.execute("INSERT INTO audit (at, action, detail, who) VALUES (?, ?, ?, ?)",
                               (now_iso(), action, detail, current_clinician()))

    def audit_log(self) -> list[tuple[str, str, str]]:
        return [tuple(r) for r in self._conn.execute("SELECT at, action, detail FROM audit ORDER BY id")]

    def audit_trail(self) -> list[dict]:
        """Every audit entry, oldest first: at, who, action, detail."""
        return [dict(zip(("at", "who", "action", "detail"), r))
                for r in self._conn.execute("SELECT at, who, action, detail FROM audit ORDER BY id")]

    def save_heatmaps(self, case_id: int, heatmaps: dict[str, tuple[str, bytes]]) -> None:
        """``heatmaps``: model name -> (model version, PNG bytes)."""
        with self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO heatmaps (case_id, model, version, png) VALUES (?, ?, ?, ?)",
                [(case_id, name, version, png) for name, (version, png) in heatmaps.items()])

    def get_heatmaps(self, case_id: int) -> dict[str, tuple[str, bytes]]:
        rows = self._conn.execute("SELECT model, version, png FROM heatmaps WHERE case_id = ?", (case_id,))
        return {model: (version, png) for model, version, png in rows}

    # -- reading ----------------------------------------------------------------------------
    _COLUMNS = ("id, sha256, path, thumbnail, created_at, updated_at, note, clinician_label, reviewed, quality, "
                "ensemble, assess_anyway, management, confirmed_label, confirmed_source, confirmed_at, "
                "(SELECT patient_id FROM lesions WHERE lesions.id = cases.lesion_id), "
                "(SELECT label FROM lesions WHERE lesions.id = cases.lesion_id), "
                "(SELECT body_site FROM lesions WHERE lesions.id = cases.lesion_id), taken_at, "
                "(SELECT p.name FROM lesions l JOIN patients p ON p.id = l.patient_id WHERE l.id = cases.lesion_id), "
                "reviewed_by, reviewed_at, confirmed_by")

    def _record(self, row) -> TriageRecord:
        case_id = row[0]
        preds = [ModelPrediction(m, v, p, t) for m, v, p, t in self._conn.execute(
            "SELECT model, version, p_malignant, threshold FROM predictions WHERE case_id = ?", (case_id,))]
        rank = {name: i for i, name in enumerate(MODEL_ORDER)}
        preds.sort(key=lambda p: (rank.get(p.name, 99), p.name))
        return TriageRecord(id=case_id, sha256=row[1], path=row[2], thumbnail_png=row[3] or b"", created_at=row[4],
                            updated_at=row[5], note=row[6], clinician_label=row[7], reviewed=bool(row[8]),
                            quality=json.loads(row[9] or "{}"), ensemble=json.loads(row[10] or "{}"),
                            assess_anyway=bool(row[11]), management=row[12], confirmed_label=row[13],
                            confirmed_source=row[14], confirmed_at=row[15], patient_id=row[16], lesion_label=row[17],
                            body_site=row[18], taken_at=row[19], patient_name=row[20] or "", reviewed_by=row[21],
                            reviewed_at=row[22], confirmed_by=row[23], predictions=preds)

    def get(self, case_id: int) -> TriageRecord | None:
        row = self._conn.execute(f"SELECT {self._COLUMNS} FROM cases WHERE id = ?", (case_id,)).fetchone()
        return self._record(row) if row else None

    def find_by_sha(self, sha256: str) -> TriageRecord | None:
        row = self._conn.execute(f"SELECT {self._COLUMNS} FROM cases WHERE sha256 = ?", (sha256,)).fetchone()
        return self._record(row) if row else None

    def list(self, filter_name: str = "all", rule=None) -> list[TriageRecord]:
        """Cases in worklist order (highest combined risk first; images that cannot be assessed last),
        kept by one of ``records.WORKLIST_FILTERS``; with ``rule`` (the flag line in use), shown with it
        (records.shown_with: one risk scale) before they are filtered and ordered."""
        if filter_name not in WORKLIST_FILTERS:
            raise ValueError(f"unknown filter {filter_name!r}; use one of {FILTERS}")
        keep = WORKLIST_FILTERS[filter_name][1]
        entry = rule.record_entry() if rule is not None else None
        records = [shown_with(self._record(r), rule, entry)
                   for r in self._conn.execute(f"SELECT {self._COLUMNS} FROM cases").fetchall()]
        _mark_changes(records)
        return sorted((r for r in records if keep(r)), key=worklist_order)

    def count(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0])

    def export_csv(self, path: str | Path, filter_name: str = "all") -> int:
        """Write the (filtered) worklist to CSV, with the fields of ``triage --json``; returns the number of cases."""
        records = self.list(filter_name)
        models = sorted({p.name for r in records for p in r.predictions})
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "path", "sha256", "created_at", "patient_id", "lesion", "body_site", "visit_date",
                             "assessable", "reason", "assessed_anyway", "risk",
                             "flagged", "flag_line", "rule", "models_above_own_line", "models", "disagreement",
                             *[f"p_malignant_{m}" for m in models], *[f"version_{m}" for m in models],
                             "clinician_assessment", "management", "reviewed", "note", "patient_name",
                             "confirmed_diagnosis", "confirmed_source"])
            for r in records:
                c = r.consensus
                by = {p.name: p for p in r.predictions}
                writer.writerow([r.file_name, r.path, r.sha256, r.created_at, r.patient_id or "", r.lesion_label or "",
                                 r.body_site or "", r.visit_date if r.patient_id else "", int(r.assessable), r.reason,
                                 int(r.assess_anyway), "" if r.risk is None else f"{r.risk:.4f}", int(r.flagged),
                                 "" if c.flag_line is None or not r.assessable else f"{c.flag_line:.4f}", c.rule,
                                 c.n_malignant, c.n_models, int(r.disagreement),
                                 *[f"{by[m].p_malignant:.4f}" if m in by else "" for m in models],
                                 *[by[m].version if m in by else "" for m in models],
                                 r.clinician_label or "", r.management or "", int(r.reviewed), r.note,
                                 r.patient_name if r.patient_id else "", r.confirmed_label or "",
                                 r.confirmed_source or ""])
        return len(records)
