"""The case database's clinical records (mixins of :class:`~melanoma_desktop.core.database.CaseDatabase`):
confirmed diagnoses and re-reading under a new flag line; patients, lesions and visits, a patient's history
and erasure. They use the database's connection, ``get``, ``list``, ``delete`` and ``audit``."""

from __future__ import annotations

import json
from pathlib import Path

from melanoma_desktop.core.clinicians import current_clinician
from melanoma_desktop.core.private_files import create_private_file, make_private_dir
from melanoma_desktop.core.records import TriageRecord
from trainer.bundle.ensemble_rule import EnsembleRule


def _now() -> str:
    from melanoma_desktop.core.database import now_iso

    return now_iso()


class ClinicRecords:
    def set_confirmed(self, case_id: int, label: str | None, source: str | None = None,
                      date: str | None = None, audited: bool = True) -> TriageRecord:
        """Record (or, with ``label=None``, clear) a case's confirmed diagnosis."""
        from melanoma_desktop.core.confirmed import CONFIRMATION_SOURCES, CONFIRMED_LABELS

        if label is not None and label not in CONFIRMED_LABELS:
            raise ValueError(f"confirmed diagnosis must be one of {CONFIRMED_LABELS} or None, got {label!r}")
        if source is not None and source not in CONFIRMATION_SOURCES:
            raise ValueError(f"source must be one of {CONFIRMATION_SOURCES} or None, got {source!r}")
        self._conn.execute("UPDATE cases SET confirmed_label = ?, confirmed_source = ?, confirmed_at = ?, "
                           "updated_at = ?, confirmed_by = ? WHERE id = ?",
                           (label, source if label else None, (date or _now()[:10]) if label else None, _now(),
                            current_clinician() if label else "", case_id))
        if audited:
            self.audit("confirmed diagnosis recorded" if label else "confirmed diagnosis cleared", f"case #{case_id}")
        return self.get(case_id)

    def apply_import(self, plan, replace_conflicting: bool = False) -> int | None:
        """Write an import plan (core.confirmed_import) in one transaction, keeping each case's previous values
        for ``undo_import``; returns the import's number (None when there was nothing to write)."""
        changes = plan.changes(replace_conflicting)
        if not changes:
            return None
        previous = [{"case_id": c.case_id, **dict(zip(("label", "source", "at", "by"), self._conn.execute(
            "SELECT confirmed_label, confirmed_source, confirmed_at, confirmed_by FROM cases WHERE id = ?",
            (c.case_id,)).fetchone()))} for c in changes]
        stamp, who = _now(), current_clinician()
        with self._conn:
            for c in changes:
                self._conn.execute("UPDATE cases SET confirmed_label = ?, confirmed_source = ?, confirmed_at = ?, "
                                   "confirmed_by = ?, updated_at = ? WHERE id = ?",
                                   (c.row.label, c.row.source, c.row.date or stamp[:10], who, stamp, c.case_id))
            import_id = self._conn.execute("INSERT INTO confirmed_imports (at, who, file, previous) VALUES (?, ?, ?, ?)",
                                           (stamp, who, Path(plan.source_file).name, json.dumps(previous))).lastrowid
        replaced = sum(c.conflicting for c in changes)
        self.audit("confirmed diagnoses imported", f"import #{import_id}: {len(changes)} case(s) from "
                   f"{Path(plan.source_file).name}" + (f", {replaced} replacing another diagnosis" if replaced else ""))
        return import_id

    def last_import(self) -> dict | None:
        """The newest import of confirmed diagnoses not undone: id, at, who, file, number of cases."""
        row = self._conn.execute("SELECT id, at, who, file, previous FROM confirmed_imports WHERE undone_at IS NULL "
                                 "ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else {"id": row[0], "at": row[1], "who": row[2], "file": row[3],
                                         "cases": len(json.loads(row[4]))}

    def undo_import(self, import_id: int) -> int:
        """Put back what one import replaced, for every case it wrote (a case deleted since is passed over);
        audited. Returns the number of cases restored."""
        row = self._conn.execute("SELECT previous, undone_at FROM confirmed_imports WHERE id = ?",
                                 (import_id,)).fetchone()
        if row is None or row[1] is not None:
            raise KeyError(f"no import #{import_id} to undo (it does not exist or was undone already)")
        stamp, restored = _now(), 0
        with self._conn:
            for entry in json.loads(row[0]):
                restored += self._conn.execute(
                    "UPDATE cases SET confirmed_label = ?, confirmed_source = ?, confirmed_at = ?, confirmed_by = ?, "
                    "updated_at = ? WHERE id = ?", (entry["label"], entry["source"], entry["at"], entry["by"] or "",
                                                    stamp, entry["case_id"])).rowcount
            self._conn.execute("UPDATE confirmed_imports SET undone_at = ? WHERE id = ?", (stamp, import_id))
        self.audit("import of confirmed diagnoses undone", f"import #{import_id}: {restored} case(s) restored")
        return restored

    def import_confirmed(self, csv_path: str | Path):
        """Confirmed diagnoses from a CSV (``image,label[,source][,date]``), matched by file name or SHA-256;
        returns an :class:`~melanoma_desktop.core.confirmed.ImportReport`."""
        from melanoma_desktop.core.confirmed_import import plan_import

        plan = plan_import(csv_path, self.list())
        self.apply_import(plan, replace_conflicting=True)  # as asked: every matched row
        return plan.report()

    def reread(self, rule: EnsembleRule) -> int:
        """Read every case whose models are exactly ``rule``'s members again under ``rule`` (a new flag line):
        its stored rule, risk and flag change; predictions stay. Returns the number of cases re-read."""
        keep = rule.record_entry()
        changed = 0
        for record in self.list():
            if not rule.applies_to(record.model_versions()):
                continue
            record.ensemble = keep
            with self._conn:
                self._conn.execute("UPDATE cases SET ensemble = ?, risk = ?, flagged = ?, assessable = ? WHERE id = ?",
                                   (json.dumps(keep), *self._derived(record), record.id))
            changed += 1
        self.audit("cases re-read under a new flag line",
                   f"{changed} case(s), rule {rule.site_version or 'shipped'}")
        return changed


    # -- what the models saw (core.adaptation_job) -------------------------------------------------
    def _write_embeddings(self, case_id: int, embeddings: dict) -> None:
        """Inside the caller's transaction: each model's embedding as float16 bytes under its embedding version."""
        import numpy as np

        from trainer.bundle.adapter import EMBEDDING_DTYPE

        self._conn.executemany(
            "INSERT OR REPLACE INTO embeddings (case_id, model, version, dtype, vector) VALUES (?, ?, ?, ?, ?)",
            [(case_id, name, version, np.dtype(EMBEDDING_DTYPE).str,
              np.asarray(vector, dtype=EMBEDDING_DTYPE).tobytes()) for name, (version, vector) in embeddings.items()])

    def save_embeddings(self, case_id: int, embeddings: dict) -> None:
        """Store embeddings computed later (a case read before they were kept): {name: (version, vector)}."""
        with self._conn:
            self._write_embeddings(case_id, embeddings)

    def embeddings_of(self, case_ids, versions: dict) -> dict:
        """{case id: {name: float32 vector}} for the cases that have every model's embedding of ``versions``
        (name -> embedding version); a case missing one is left out."""
        import numpy as np

        ids = [int(i) for i in case_ids]
        found: dict[int, dict] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for case_id, model, version, dtype, blob in self._conn.execute(
                    f"SELECT case_id, model, version, dtype, vector FROM embeddings WHERE case_id IN ({marks})", chunk):
                if versions.get(model) == version:
                    found.setdefault(case_id, {})[model] = np.frombuffer(blob, dtype=np.dtype(dtype)).astype(np.float32)
        return {k: v for k, v in found.items() if set(v) == set(versions)}


class PatientRecords:
    # -- patients, lesions, visits (core.patients) -------------------------------------------------
    def assign(self, case_id: int, identity) -> None:
        """File a case under a patient's lesion (both made when new), with the date the image was taken."""
        ident = identity.checked()
        stamp = _now()
        with self._conn:
            self._conn.execute("INSERT INTO patients (id, name, birth_date, sex, created_at) VALUES (?, ?, ?, ?, ?) "
                               "ON CONFLICT(id) DO UPDATE SET name = CASE WHEN excluded.name != '' THEN excluded.name "
                               "ELSE name END, birth_date = CASE WHEN excluded.birth_date != '' THEN "
                               "excluded.birth_date ELSE birth_date END, sex = CASE WHEN excluded.sex != '' THEN "
                               "excluded.sex ELSE sex END",
                               (ident.patient_id, ident.name, ident.birth_date, ident.sex, stamp))
            self._conn.execute("INSERT INTO lesions (patient_id, label, body_site) VALUES (?, ?, ?) "
                               "ON CONFLICT(patient_id, label) DO UPDATE SET body_site = CASE WHEN "
                               "excluded.body_site != '' THEN excluded.body_site ELSE body_site END",
                               (ident.patient_id, ident.lesion_label, ident.body_site))
            lesion = self._conn.execute("SELECT id FROM lesions WHERE patient_id = ? AND label = ?",
                                        (ident.patient_id, ident.lesion_label)).fetchone()[0]
            self._conn.execute("UPDATE cases SET lesion_id = ?, taken_at = COALESCE(?, taken_at), updated_at = ? "
                               "WHERE id = ?", (lesion, ident.taken or None, stamp, case_id))  # a date is kept

    def patient_details(self, patient_id: str) -> dict | None:
        """A patient's ID, name, birth date and sex as kept here; None for an unknown ID."""
        row = self._conn.execute("SELECT id, name, birth_date, sex FROM patients WHERE id = ?",
                                 (patient_id,)).fetchone()
        return None if row is None else dict(zip(("patient_id", "name", "birth_date", "sex"), row))

    def save_patient(self, identity) -> bool:
        """Create a patient, or set an existing one's name, birth date and sex to exactly these (an empty field
        clears it). Audited by ID and the fields changed, never their values. Returns True when created."""
        ident = identity.checked()
        before = self.patient_details(ident.patient_id)
        with self._conn:
            self._conn.execute("INSERT INTO patients (id, name, birth_date, sex, created_at) VALUES (?, ?, ?, ?, ?) "
                               "ON CONFLICT(id) DO UPDATE SET name = excluded.name, birth_date = excluded.birth_date, "
                               "sex = excluded.sex", (ident.patient_id, ident.name, ident.birth_date, ident.sex, _now()))
        if before is None:
            self.audit("patient created", f"patient {ident.patient_id}")
        else:
            changed = [k.replace("_", " ") for k in ("name", "birth_date", "sex") if before[k] != getattr(ident, k)]
            if changed:
                self.audit("patient details edited", f"patient {ident.patient_id}: {', '.join(changed)}")
        return before is None

    def identity_of(self, case_id: int) -> dict | None:
        row = self._conn.execute(
            "SELECT p.id, l.label, l.body_site, c.taken_at FROM cases c JOIN lesions l ON c.lesion_id = l.id "
            "JOIN patients p ON l.patient_id = p.id WHERE c.id = ?", (case_id,)).fetchone()
        return None if row is None else {"patient_id": row[0], "lesion": row[1], "body_site": row[2], "taken": row[3]}

    def history(self, patient_id: str) -> dict | None:
        """A patient's lesions, each with its visits in date order (the date taken, else the date added)."""
        patient = self._conn.execute("SELECT id, created_at FROM patients WHERE id = ?", (patient_id,)).fetchone()
        if patient is None:
            return None
        lesions = []
        for lesion_id, label, site, excised, outcome in self._conn.execute(
                "SELECT id, label, body_site, excised, outcome FROM lesions WHERE patient_id = ? ORDER BY label",
                (patient_id,)).fetchall():
            visits = []
            for case_id, taken in self._conn.execute("SELECT id, COALESCE(taken_at, substr(created_at, 1, 10)) "
                                                     "FROM cases WHERE lesion_id = ?", (lesion_id,)).fetchall():
                record = self.get(case_id)
                visits.append({"case_id": case_id, "date": taken, "risk": record.risk, "flagged": record.flagged,
                               "assessable": record.assessable, "path": record.path})
            visits.sort(key=lambda v: (v["date"], v["case_id"]))
            lesions.append({"lesion": label, "body_site": site, "excised": bool(excised), "outcome": outcome,
                            "visits": visits})
        return {**self.patient_details(patient_id), "lesions": lesions}

    def erase_patient(self, patient_id: str, pasted_dir: str | Path | None = None) -> int:
        """Remove a patient and every case, thumbnail, heatmap and pasted copy of theirs; the audit entry
        says only how many cases went. Returns that number."""
        ids = [r[0] for r in self._conn.execute(
            "SELECT c.id FROM cases c JOIN lesions l ON c.lesion_id = l.id WHERE l.patient_id = ?", (patient_id,))]
        for case_id in ids:
            self.delete(case_id, pasted_dir, audited=False)
        with self._conn:
            self._conn.execute("DELETE FROM patients WHERE id = ?", (patient_id,))  # lesions cascade
        self.audit("patient erased", f"{len(ids)} case(s)")
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(ids)


    def recent_patients(self, limit: int = 30) -> list[str]:
        """Patient IDs, the most recently filed first."""
        rows = self._conn.execute("SELECT l.patient_id, MAX(c.updated_at) AS last FROM lesions l JOIN cases c ON "
                                  "c.lesion_id = l.id GROUP BY l.patient_id ORDER BY last DESC LIMIT ?", (limit,))
        return [r[0] for r in rows]

    def set_excised(self, patient_id: str, lesion: str, excised: bool = True, outcome: str = "") -> None:
        """Mark a lesion excised (or not), with its outcome (e.g. the histology)."""
        with self._conn:
            changed = self._conn.execute("UPDATE lesions SET excised = ?, outcome = ? WHERE patient_id = ? AND "
                                         "label = ?", (int(excised), outcome, patient_id, lesion)).rowcount
        if not changed:
            raise KeyError(f"no lesion {lesion!r} of patient {patient_id!r}")

    def export_patient(self, patient_id: str, folder: str | Path) -> Path:
        """One patient's data on request: ``patient.json`` (lesions, visits and every case's record) and a copy
        of each image under ``images/``. Returns the JSON file."""
        import shutil

        history = self.history(patient_id)
        if history is None:
            raise KeyError(f"no patient {patient_id!r}")
        folder = Path(folder)
        make_private_dir(folder)
        make_private_dir(folder / "images")
        row = self._conn.execute("SELECT name, birth_date FROM patients WHERE id = ?", (patient_id,)).fetchone()
        cases = []
        for lesion in history["lesions"]:
            for visit in lesion["visits"]:
                record = self.get(visit["case_id"])
                source = Path(record.path)
                copied = ""
                if source.is_file():
                    copied = f"images/{visit['case_id']}-{source.name}"
                    shutil.copyfile(source, folder / copied)  # not copy2: the copy is the owner's alone
                    create_private_file(folder / copied)
                cases.append({**record.to_json(), "case_id": record.id, "lesion": lesion["lesion"],
                              "visit_date": visit["date"], "image_copy": copied, "note": record.note,
                              "assessment": record.clinician_label, "management": record.management,
                              "confirmed": record.confirmed_label})
        out = create_private_file(folder / "patient.json")
        out.write_text(json.dumps({"patient_id": patient_id, "name": row[0], "birth_date": row[1],
                                   "lesions": history["lesions"], "cases": cases}, indent=2), encoding="utf-8")
        self.audit("patient data exported", f"{len(cases)} case(s)")
        return out
