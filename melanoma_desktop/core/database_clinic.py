"""The case database's clinical records (parts of :class:`~melanoma_desktop.core.database.CaseDatabase`):
confirmed diagnoses and re-reading under a new flag line; patients, lesions and visits, a patient's history
and erasure. They use the database's ``_read``, ``_write``, ``_records``, ``_touch``, ``_audit``, ``get``,
``delete`` and ``audit``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from sqlalchemy import text

from melanoma_desktop.core.clinicians import current_clinician
from melanoma_desktop.core.confirmed import CONFIRMATION_SOURCES, CONFIRMED_LABELS
from melanoma_desktop.core.confirmed_import import plan_import
from melanoma_desktop.core.private_files import create_private_file, make_private_dir
from melanoma_desktop.core.records import TriageRecord
from melanoma_desktop.core.storage.engine import statement
from melanoma_desktop.core.storage.timestamps import now_iso as _now
from trainer.bundle.adapter import EMBEDDING_DTYPE
from trainer.bundle.ensemble_rule import EnsembleRule


class ClinicRecords:
    def set_confirmed(self, case_id: int, label: str | None, source: str | None = None,
                      date: str | None = None, audited: bool = True, expected_version: int | None = None) -> TriageRecord:
        """Record (or, with ``label=None``, clear) a case's confirmed diagnosis (with ``expected_version``: not over
        a change made since that row version, ``StaleCaseError``)."""
        if label is not None and label not in CONFIRMED_LABELS:
            raise ValueError(f"confirmed diagnosis must be one of {CONFIRMED_LABELS} or None, got {label!r}")
        if source is not None and source not in CONFIRMATION_SOURCES:
            raise ValueError(f"source must be one of {CONFIRMATION_SOURCES} or None, got {source!r}")
        with self._write() as c:
            self._check_version(c, case_id, expected_version)
            c.execute(text("UPDATE cases SET confirmed_label = :label, confirmed_source = :source, confirmed_at = :at, "
                           "updated_at = :stamp, confirmed_by = :who, row_version = row_version + 1 WHERE id = :id"),
                      {"label": label, "source": source if label else None,
                       "at": (date or _now()[:10]) if label else None, "stamp": _now(),
                       "who": current_clinician() if label else "", "id": case_id})
            if audited:
                self._audit(c, "confirmed diagnosis recorded" if label else "confirmed diagnosis cleared",
                            f"case #{case_id}")
            self._touch(c, [case_id], "confirmed")
        return self.get(case_id)

    def apply_import(self, plan, replace_conflicting: bool = False) -> int | None:
        """Write an import plan (core.confirmed_import) in one transaction, keeping each case's previous values
        for ``undo_import``; returns the import's number (None when there was nothing to write)."""
        changes = plan.changes(replace_conflicting)
        if not changes:
            return None
        stamp, who = _now(), current_clinician()
        ids = [ch.case_id for ch in changes]
        with self._write() as c:
            kept = {r["id"]: r for r in c.execute(statement(
                "SELECT id, confirmed_label, confirmed_source, confirmed_at, confirmed_by FROM cases WHERE id IN :ids",
                {"ids": ids}), {"ids": ids}).mappings()}
            changes = [ch for ch in changes if ch.case_id in kept]  # a case deleted since the preview: passed over
            ids = [ch.case_id for ch in changes]
            if not changes:
                return None
            previous = [{"case_id": i, "label": kept[i]["confirmed_label"], "source": kept[i]["confirmed_source"],
                         "at": kept[i]["confirmed_at"], "by": kept[i]["confirmed_by"]} for i in ids]
            c.execute(text("UPDATE cases SET confirmed_label = :label, confirmed_source = :source, confirmed_at = :at, "
                           "confirmed_by = :who, updated_at = :stamp, row_version = row_version + 1 WHERE id = :id"),
                      [{"label": ch.row.label, "source": ch.row.source, "at": ch.row.date or stamp[:10], "who": who,
                        "stamp": stamp, "id": ch.case_id} for ch in changes])
            import_id = c.execute(text("INSERT INTO confirmed_imports (at, who, file, previous) VALUES (:at, :who, "
                                       ":file, :previous) RETURNING id"),
                                  {"at": stamp, "who": who, "file": Path(plan.source_file).name,
                                   "previous": json.dumps(previous)}).scalar_one()
            replaced = sum(ch.conflicting for ch in changes)
            self._audit(c, "confirmed diagnoses imported", f"import #{import_id}: {len(changes)} case(s) from "
                        f"{Path(plan.source_file).name}" + (f", {replaced} replacing another diagnosis" if replaced
                                                             else ""))
            self._touch(c, ids, "confirmed")
        return import_id

    def last_import(self) -> dict | None:
        """The newest import of confirmed diagnoses not undone: id, at, who, file, number of cases."""
        with self._read() as c:
            row = c.execute(text("SELECT id, at, who, file, previous FROM confirmed_imports WHERE undone_at IS NULL "
                                 "ORDER BY id DESC LIMIT 1")).mappings().first()
        return None if row is None else {"id": row["id"], "at": row["at"], "who": row["who"], "file": row["file"],
                                         "cases": len(json.loads(row["previous"]))}

    def undo_import(self, import_id: int) -> int:
        """Put back what one import replaced, for every case it wrote (a case deleted since is passed over);
        audited. Returns the number of cases restored."""
        stamp, restored = _now(), 0
        with self._write() as c:
            row = c.execute(text("SELECT previous, undone_at FROM confirmed_imports WHERE id = :id"),
                            {"id": import_id}).mappings().first()
            if row is None or row["undone_at"] is not None:
                raise KeyError(f"no import #{import_id} to undo (it does not exist or was undone already)")
            entries = json.loads(row["previous"])
            for entry in entries:
                restored += c.execute(text(
                    "UPDATE cases SET confirmed_label = :label, confirmed_source = :source, confirmed_at = :at, "
                    "confirmed_by = :by, updated_at = :stamp, row_version = row_version + 1 WHERE id = :id"),
                    {"label": entry["label"], "source": entry["source"], "at": entry["at"], "by": entry["by"] or "",
                     "stamp": stamp, "id": entry["case_id"]}).rowcount
            c.execute(text("UPDATE confirmed_imports SET undone_at = :stamp WHERE id = :id"),
                      {"stamp": stamp, "id": import_id})
            self._audit(c, "import of confirmed diagnoses undone", f"import #{import_id}: {restored} case(s) restored")
            present = [r[0] for r in c.execute(statement("SELECT id FROM cases WHERE id IN :ids",
                                                         {"ids": [e["case_id"] for e in entries]}),
                                               {"ids": [e["case_id"] for e in entries]})]
            if present:
                self._touch(c, present, "confirmed")
        return restored

    def import_confirmed(self, csv_path: str | Path):
        """Confirmed diagnoses from a CSV (``image,label[,source][,date]``), matched by file name or SHA-256;
        returns an :class:`~melanoma_desktop.core.confirmed.ImportReport`."""
        plan = plan_import(csv_path, self.identities)  # only the cases the file names
        self.apply_import(plan, replace_conflicting=True)  # as asked: every matched row
        return plan.report()

    def rereadable_count(self, rule: EnsembleRule) -> int:
        """How many saved cases were read by exactly ``rule``'s members but with another flag line (what ``reread``
        would change), counted by the database."""
        members = list(dict(rule.members).items())
        params = {"entry": json.dumps(rule.record_entry()), "n": len(members)}
        conditions = []
        for i, (model, version) in enumerate(members):
            conditions.append(f"(p.model = :m{i} AND p.version = :v{i})")
            params.update({f"m{i}": model, f"v{i}": version})
        with self._read() as c:
            return int(c.execute(text(
                "SELECT COUNT(*) FROM cases c WHERE c.ensemble != :entry "
                "AND (SELECT COUNT(*) FROM predictions p WHERE p.case_id = c.id) = :n "
                f"AND (SELECT COUNT(*) FROM predictions p WHERE p.case_id = c.id AND ({' OR '.join(conditions)})) = :n"),
                params).scalar())

    def reread(self, rule: EnsembleRule) -> int:
        """Read every case whose models are exactly ``rule``'s members again under ``rule`` (a new flag line):
        its stored rule, risk and flag change; predictions stay. Returns the number of cases re-read."""
        keep = rule.record_entry()
        with self._read() as c:
            ids = [r[0] for r in c.execute(text("SELECT id FROM cases ORDER BY id"))]
        changed = 0
        for start in range(0, len(ids), 500):
            with self._write() as c:
                chunk = [r for r in self._records(c, "WHERE c.id IN :ids", {"ids": ids[start:start + 500]})
                         if rule.applies_to(r.model_versions())]
                for record in chunk:
                    record.ensemble = keep
                if chunk:
                    c.execute(text("UPDATE cases SET ensemble = :ensemble, risk = :risk, flagged = :flagged, "
                                   "assessable = :assessable, row_version = row_version + 1 WHERE id = :id"),
                              [{"ensemble": json.dumps(keep), **self._derived(r), "id": r.id} for r in chunk])
                    self._touch(c, [r.id for r in chunk], "read again")
                changed += len(chunk)
        self.audit("cases re-read under a new flag line",
                   f"{changed} case(s), rule {rule.site_version or 'shipped'}")
        return changed


    # -- what the models saw (core.adaptation_job) -------------------------------------------------
    def _write_embeddings(self, c, case_id: int, embeddings: dict) -> None:
        """Inside the caller's transaction: each model's embedding as float16 bytes under its embedding version."""
        if not embeddings:
            return
        c.execute(text("INSERT INTO embeddings (case_id, model, version, dtype, vector) VALUES (:id, :model, :version, "
                       ":dtype, :vector) ON CONFLICT (case_id, model, version) DO UPDATE SET dtype = excluded.dtype, "
                       "vector = excluded.vector"),
                  [{"id": case_id, "model": name, "version": version, "dtype": np.dtype(EMBEDDING_DTYPE).str,
                    "vector": np.asarray(vector, dtype=EMBEDDING_DTYPE).tobytes()}
                   for name, (version, vector) in embeddings.items()])

    def save_embeddings(self, case_id: int, embeddings: dict) -> None:
        """Store embeddings computed later (a case read before they were kept): {name: (version, vector)}."""
        with self._write() as c:
            self._write_embeddings(c, case_id, embeddings)

    def embeddings_of(self, case_ids, versions: dict) -> dict:
        """{case id: {name: float32 vector}} for the cases that have every model's embedding of ``versions``
        (name -> embedding version); a case missing one is left out."""
        ids = [int(i) for i in case_ids]
        found: dict[int, dict] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            with self._read() as c:
                rows = c.execute(statement("SELECT case_id, model, version, dtype, vector FROM embeddings WHERE "
                                           "case_id IN :ids", {"ids": chunk}), {"ids": chunk}).all()
            for case_id, model, version, dtype, blob in rows:
                if versions.get(model) == version:
                    found.setdefault(case_id, {})[model] = np.frombuffer(bytes(blob),
                                                                         dtype=np.dtype(dtype)).astype(np.float32)
        return {k: v for k, v in found.items() if set(v) == set(versions)}


class PatientRecords:
    # -- patients, lesions, visits (core.patients) -------------------------------------------------
    def assign(self, case_id: int, identity) -> None:
        """File a case under a patient's lesion (both made when new), with the date the image was taken."""
        ident = identity.checked()
        stamp = _now()
        with self._write() as c:
            c.execute(text("INSERT INTO patients (id, name, birth_date, sex, created_at) VALUES (:id, :name, :birth, "
                           ":sex, :stamp) ON CONFLICT (id) DO UPDATE SET name = CASE WHEN excluded.name != '' THEN "
                           "excluded.name ELSE patients.name END, birth_date = CASE WHEN excluded.birth_date != '' "
                           "THEN excluded.birth_date ELSE patients.birth_date END, sex = CASE WHEN excluded.sex != '' "
                           "THEN excluded.sex ELSE patients.sex END"),
                      {"id": ident.patient_id, "name": ident.name, "birth": ident.birth_date, "sex": ident.sex,
                       "stamp": stamp})
            c.execute(text("INSERT INTO lesions (patient_id, label, body_site) VALUES (:patient, :label, :site) "
                           "ON CONFLICT (patient_id, label) DO UPDATE SET body_site = CASE WHEN excluded.body_site != '' "
                           "THEN excluded.body_site ELSE lesions.body_site END"),
                      {"patient": ident.patient_id, "label": ident.lesion_label, "site": ident.body_site})
            lesion = c.execute(text("SELECT id FROM lesions WHERE patient_id = :patient AND label = :label"),
                               {"patient": ident.patient_id, "label": ident.lesion_label}).scalar_one()
            before = c.execute(text("SELECT lesion_id FROM cases WHERE id = :id"), {"id": case_id}).scalar()
            c.execute(text("UPDATE cases SET lesion_id = :lesion, taken_at = COALESCE(:taken, taken_at), "
                           "updated_at = :stamp, row_version = row_version + 1 WHERE id = :id"),
                      {"lesion": lesion, "taken": ident.taken or None, "stamp": stamp, "id": case_id})  # a date is kept
            self._touch(c, [case_id], "filed")
            if before is not None and before != lesion:
                self._refresh_lesions(c, [before])
            if ident.name:  # the patient's other cases are found by the name too
                self._refresh_patient_cases(c, ident.patient_id)

    def _refresh_patient_cases(self, c, patient_id: str) -> None:
        ids = [r[0] for r in c.execute(text("SELECT c.id FROM cases c JOIN lesions l ON l.id = c.lesion_id "
                                            "WHERE l.patient_id = :p"), {"p": patient_id})]
        for start in range(0, len(ids), 500):
            self._refresh_cases(c, ids[start:start + 500], lesions=False)

    def patient_details(self, patient_id: str) -> dict | None:
        """A patient's ID, name, birth date and sex as kept here; None for an unknown ID."""
        with self._read() as c:
            row = c.execute(text("SELECT id AS patient_id, name, birth_date, sex FROM patients WHERE id = :id"),
                            {"id": patient_id}).mappings().first()
        return None if row is None else dict(row)

    def save_patient(self, identity) -> bool:
        """Create a patient, or set an existing one's name, birth date and sex to exactly these (an empty field
        clears it). Audited by ID and the fields changed, never their values. Returns True when created."""
        ident = identity.checked()
        before = self.patient_details(ident.patient_id)
        with self._write() as c:
            c.execute(text("INSERT INTO patients (id, name, birth_date, sex, created_at) VALUES (:id, :name, :birth, "
                           ":sex, :stamp) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
                           "birth_date = excluded.birth_date, sex = excluded.sex"),
                      {"id": ident.patient_id, "name": ident.name, "birth": ident.birth_date, "sex": ident.sex,
                       "stamp": _now()})
            if before is not None and before["name"] != ident.name:
                self._refresh_patient_cases(c, ident.patient_id)
        if before is None:
            self.audit("patient created", f"patient {ident.patient_id}")
        else:
            changed = [k.replace("_", " ") for k in ("name", "birth_date", "sex") if before[k] != getattr(ident, k)]
            if changed:
                self.audit("patient details edited", f"patient {ident.patient_id}: {', '.join(changed)}")
        return before is None

    def identity_of(self, case_id: int) -> dict | None:
        with self._read() as c:
            row = c.execute(text(
                "SELECT p.id AS patient_id, l.label AS lesion, l.body_site, c.taken_at AS taken FROM cases c JOIN "
                "lesions l ON c.lesion_id = l.id JOIN patients p ON l.patient_id = p.id WHERE c.id = :id"),
                {"id": case_id}).mappings().first()
        return None if row is None else dict(row)

    def history(self, patient_id: str) -> dict | None:
        """A patient's lesions, each with its visits in date order (the date taken, else the date added)."""
        with self._read() as c:
            if c.execute(text("SELECT 1 FROM patients WHERE id = :id"), {"id": patient_id}).first() is None:
                return None
            lesion_rows = c.execute(text("SELECT id, label, body_site, excised, outcome FROM lesions WHERE "
                                         "patient_id = :id ORDER BY label"), {"id": patient_id}).mappings().all()
            records = self._records(c, "WHERE l.patient_id = :id", {"id": patient_id})
        by_lesion: dict[str, list] = {}
        for record in records:
            by_lesion.setdefault(record.lesion_label, []).append(
                {"case_id": record.id, "date": record.visit_date, "risk": record.risk, "flagged": record.flagged,
                 "assessable": record.assessable, "path": record.path})
        lesions = []
        for lesion in lesion_rows:
            visits = sorted(by_lesion.get(lesion["label"], []), key=lambda v: (v["date"], v["case_id"]))
            lesions.append({"lesion": lesion["label"], "body_site": lesion["body_site"],
                            "excised": bool(lesion["excised"]), "outcome": lesion["outcome"], "visits": visits})
        return {**self.patient_details(patient_id), "lesions": lesions}

    def erase_patient(self, patient_id: str, pasted_dir: str | Path | None = None,
                      image_store: str | Path | None = None) -> int:
        """Remove a patient and every case, thumbnail, heatmap and pasted copy of theirs; the audit entry
        says only how many cases went. Returns that number."""
        with self._read() as c:
            ids = [r[0] for r in c.execute(text("SELECT c.id FROM cases c JOIN lesions l ON c.lesion_id = l.id WHERE "
                                                "l.patient_id = :id"), {"id": patient_id})]
        for case_id in ids:
            self.delete(case_id, pasted_dir, audited=False, image_store=image_store)
        with self._write() as c:
            c.execute(text("DELETE FROM patients WHERE id = :id"), {"id": patient_id})  # lesions cascade
            self._audit(c, "patient erased", f"{len(ids)} case(s)")
        self._checkpoint()
        return len(ids)


    def recent_patients(self, limit: int = 30) -> list[str]:
        """Patient IDs, the most recently filed first."""
        with self._read() as c:
            rows = c.execute(text("SELECT l.patient_id, MAX(c.updated_at) AS last FROM lesions l JOIN cases c ON "
                                  "c.lesion_id = l.id GROUP BY l.patient_id ORDER BY last DESC, l.patient_id "
                                  "LIMIT :n"), {"n": limit})
            return [r[0] for r in rows]

    def set_excised(self, patient_id: str, lesion: str, excised: bool = True, outcome: str = "") -> None:
        """Mark a lesion excised (or not), with its outcome (e.g. the histology)."""
        with self._write() as c:
            changed = c.execute(text("UPDATE lesions SET excised = :excised, outcome = :outcome WHERE patient_id = :p "
                                     "AND label = :label"), {"excised": int(excised), "outcome": outcome,
                                                              "p": patient_id, "label": lesion}).rowcount
        if not changed:
            raise KeyError(f"no lesion {lesion!r} of patient {patient_id!r}")

    def export_patient(self, patient_id: str, folder: str | Path) -> Path:
        """One patient's data on request: ``patient.json`` (lesions, visits and every case's record) and a copy
        of each image under ``images/``. Returns the JSON file."""
        history = self.history(patient_id)
        if history is None:
            raise KeyError(f"no patient {patient_id!r}")
        folder = Path(folder)
        make_private_dir(folder)
        make_private_dir(folder / "images")
        row = self.patient_details(patient_id)
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
        out.write_text(json.dumps({"patient_id": patient_id, "name": row["name"], "birth_date": row["birth_date"],
                                   "lesions": history["lesions"], "cases": cases}, indent=2), encoding="utf-8")
        self.audit("patient data exported", f"{len(cases)} case(s)")
        return out
